"""The pydantic models every pipeline stage speaks: posts in, cards out."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from flashgen.text import join_answers, normalize

# {{c1::answer}} or {{c1::answer::hint}}; the answer may not be empty or hold braces.
CLOZE_RE = re.compile(r"\{\{c(\d+)::(.*?)(?:::([^{}]*?))?\}\}", re.DOTALL)

# One set of explicitly given field names per distinct set: pydantic gives every instance
# its own (about 700 bytes for a card's five), and a year of posts holds a few hundred
# thousand cards. Safe for frozen models only: pydantic changes that set in place on
# assignment, which they refuse, and model_copy changes a copy of it.
_FIELDS_SETS: dict[frozenset[str], set[str]] = {}


def share_fields_set(model: BaseModel) -> None:
    own = model.__pydantic_fields_set__
    object.__setattr__(
        model, "__pydantic_fields_set__", _FIELDS_SETS.setdefault(frozenset(own), own)
    )


class Post(BaseModel):
    """One post after cleaning: the unit cards are generated from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    channel: str
    date: str | None = None
    url: str | None = None
    text: str
    links: tuple[str, ...] = ()
    # The input file of a post whose id is its content (pasted text), as the user named
    # it: an edit changes such a post's id, and is looked for in its own file only
    # (flashgen.ledger). Not part of what `flashgen posts` shows.
    source: str | None = Field(default=None, exclude=True)

    # Not Field(min_length=1): pydantic counts a constrained string's characters through
    # its UTF-8 form, which CPython then keeps beside the string, so every Cyrillic post
    # would be held twice for the whole build.
    @model_validator(mode="after")
    def _not_blank(self) -> Post:
        for name in ("id", "channel", "text"):
            if not getattr(self, name):
                raise ValueError(f"{name} cannot be empty")
        share_fields_set(self)
        return self


def cloze_deletions(text: str) -> list[tuple[int, str]]:
    """The (number, answer) pairs of a cloze text, in order of appearance."""
    return [(int(m.group(1)), m.group(2)) for m in CLOZE_RE.finditer(text)]


def cloze_problem(text: str) -> str | None:
    """Why a cloze text is malformed, or None when Anki will render it."""
    deletions = list(CLOZE_RE.finditer(text))
    if not deletions:
        return "cloze text has no {{c1::…}} deletion"
    for m in deletions:
        if int(m.group(1)) < 1:
            return f"cloze number must start at 1, got c{m.group(1)}"
        if not m.group(2).strip():
            return f"cloze deletion c{m.group(1)} is empty"
        if "{{" in m.group(2):
            return "cloze deletions cannot be nested"
    rest = CLOZE_RE.sub("", text)
    if "{{c" in rest or re.search(r"\{\{|\}\}", rest):
        return "unbalanced {{ or }} outside the cloze deletions"
    return None


class Card(BaseModel):
    """A flashcard; a Card that exists is well-formed (the quality gates judge the rest)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["basic", "cloze"]
    question: str
    answer: str = ""
    source_quote: str
    post_id: str = Field(min_length=1)
    topic: str = Field(min_length=1)
    tags: tuple[str, ...] = ()

    @field_validator("question", "answer", "source_quote", "topic")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @field_validator("tags")
    @classmethod
    def _tags_not_blank(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not tag.strip() for tag in value):
            raise ValueError("tags cannot be blank")
        return value

    @model_validator(mode="after")
    def _kind_rules(self) -> Card:
        if not self.question:
            raise ValueError("question cannot be empty")
        if not self.source_quote:
            raise ValueError("source_quote cannot be empty")
        if self.kind == "basic":
            if not self.answer:
                raise ValueError("a basic card needs an answer")
            if CLOZE_RE.search(self.question):
                raise ValueError("a basic card cannot hold cloze deletions")
        else:
            problem = cloze_problem(self.question)
            if problem:
                raise ValueError(problem)
        share_fields_set(self)
        return self

    @property
    def answers(self) -> list[str]:
        """What the learner must recall: the deletions of a cloze, else the answer."""
        if self.kind == "cloze":
            return [answer for _, answer in cloze_deletions(self.question)]
        return [self.answer]


def card_identity(card: Card) -> str:
    """What makes a card the card it is, across rewordings of its question.

    The evidence sentence and what the learner must recall; not the wording of the
    question or extras, so a polished card keeps its identity. Two facts of one sentence
    with one answer share it; flashgen.ledger tells their notes apart.
    """
    recall = join_answers(normalize(answer) for answer in card.answers)
    return f"{card.kind}\n{normalize(card.source_quote)}\n{recall}"


def anki_cards(card: Card) -> int:
    """How many cards Anki makes of the card's note: one per cloze number, else one."""
    if card.kind == "cloze":
        return len({number for number, _ in cloze_deletions(card.question)})
    return 1


class Verification(BaseModel):
    """What the round trip took and found (flashgen.check.roundtrip), apart from
    generation: requests sent, answers taken from the cache, tokens, estimated US dollars;
    cards whose answers the reader recovered and cards it contradicted; posts whose round
    trip failed (post id → reason), whose cards keep the rules' verdict."""

    model_config = ConfigDict(extra="forbid")

    model: str
    requests: int = 0
    cache_hits: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float | None = None
    confirmed: int = 0
    refuted: int = 0
    failures: dict[str, str] = Field(default_factory=dict)

    def notice(self) -> str | None:
        """One line about the posts whose round trip failed, if any."""
        if not self.failures:
            return None
        first = next(iter(self.failures.values()))
        return (
            f"the round trip failed for {len(self.failures)} posts ({first}); their cards "
            "keep the rules' verdict"
        )


class Generation(BaseModel):
    """What made the cards, and for an LLM what it took: requests the server received
    (retries included), answers taken from the cache, posts that got no cards (post id →
    reason), tokens, estimated US dollars, and cards that were not well-formed."""

    model_config = ConfigDict(extra="forbid")

    generator: Literal["offline", "llm"] = "offline"
    mode: str | None = None
    requests: int = 0
    cache_hits: int = 0
    failures: dict[str, str] = Field(default_factory=dict)
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float | None = None
    invalid: dict[str, int] = Field(default_factory=dict)  # "invalid-card (why)" → count
    verification: Verification | None = None  # the round trip, when it ran


class BuildResult(BaseModel):
    """What `build` did, for the summary line."""

    model_config = ConfigDict(extra="forbid")

    posts: int
    notes: int  # notes exported
    cards: int  # the cards Anki makes of them (a cloze note makes one per cloze number)
    rejected: int = 0  # by the checks, and not well-formed
    # Posts that gave no card at all, though nothing failed (the model wrote none, or the
    # offline rules found no fact).
    empty_posts: list[str] = Field(default_factory=list)
    decks: list[str]
    path: str
    report: str | None = None  # the rejected cards with their reasons, as JSON lines
    generation: Generation = Field(default_factory=Generation)
    # Why cards were rejected: reason → count; and one-line notes for the user.
    rejections: dict[str, int] = Field(default_factory=dict)
    notices: list[str] = Field(default_factory=list)
    # Every package written (one, or one per topic with --split); cards that earlier builds
    # issued for these posts but this one no longer makes, and the file that lists them.
    packages: list[str] = Field(default_factory=list)
    stale: int = 0
    stale_report: str | None = None


class RawPost(BaseModel):
    """A post as a reader found it, before cleaning."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    channel: str
    lines: tuple[str, ...]
    date: str | None = None
    url: str | None = None
    # An id the source itself guarantees (an export's chat and message id); else one is
    # derived from the channel and the cleaned text.
    native_id: str | None = None
    # Pasted posts carry a preview copy and a full copy of the body that must be merged.
    merge_copies: bool = False
    links: tuple[str, ...] = ()


InputFormat = Literal["auto", "pasted", "json", "html", "markdown"]


class ReadOptions(BaseModel):
    """How inputs are read: which format, which chats of an export, how posts are linked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # "auto" tells formats apart by content; any other value forces that reader on every file.
    format: InputFormat = "auto"
    # Chat names to read from exports; empty means every channel and Saved Messages.
    chats: tuple[str, ...] = ()
    # The public @username of an exported channel, for https://t.me/<username>/<id> links.
    username: str | None = None
