"""Measure cards against gold key facts: recall, groundedness, duplicates, answer lengths.

A card covers a fact when one of its answers (or cloze deletions) matches an accepted
answer and its text mentions one of the fact's anchor words (card-quality.md, "Measuring
it offline"). A list fact is covered by one card whose answers match every item
(`list_items`).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flashgen.check import CheckConfig, normalize
from flashgen.check.rules import card_reasons, card_text
from flashgen.errors import InputError
from flashgen.models import Card, Post
from flashgen.text import LIST_JOIN_RE, number_values, plain, similarity, words

FactKind = Literal["number", "list", "term", "concept"]
CORE_KINDS: tuple[FactKind, ...] = ("number", "list", "term")
GROUNDING = {"quote-not-in-post", "number-not-in-post", "term-not-in-post", "unknown-post"}
NEAR_DUPLICATE = 0.8


class GoldFact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    kind: FactKind
    anchors: list[str] = Field(min_length=1)
    answers: list[str] | list[list[str]] = Field(min_length=1)
    evidence: str


class GoldPost(BaseModel):
    model_config = ConfigDict(extra="forbid")

    post: str = Field(min_length=1, description="a verbatim snippet of the post's text")
    facts: list[GoldFact]


def load_gold(path: str | Path) -> list[GoldPost]:
    """Gold facts from a JSON file: [{post, facts: [{id, kind, anchors, answers, evidence}]}]."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror or exc})") from exc
    except json.JSONDecodeError as exc:
        raise InputError(path, f"line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    try:
        return [GoldPost.model_validate(item) for item in data]
    except (ValidationError, TypeError) as exc:
        first = str(exc).splitlines()[0 if isinstance(exc, TypeError) else 1]
        raise InputError(path, f"not a gold-facts file ({first.strip()})") from exc


def _plain_words(text: str) -> list[str]:
    return plain(text).split()


def answer_matches(answer: str, accepted: str, *, any_length: bool = False) -> bool:
    """Whether a card's answer says the accepted answer (a few extra words allowed, or any
    number with `any_length`: a list item's deletion is the item, the gold names its core)."""
    got, want = _plain_words(answer), _plain_words(accepted)
    if not got or not want:
        return False
    if got == want:
        return True
    n = len(want)
    inside = any(got[i : i + n] == want for i in range(len(got) - n + 1))
    if inside and (any_length or len(got) <= n + 3):
        return True
    values = number_values(accepted)
    return bool(values) and len(got) <= 4 and bool(values & number_values(answer))


def mentions(text: str, anchor: str) -> bool:
    """Whether the text names the anchor, any inflection: each anchor word opens a text word
    ("структур агентов" is in "структуры агентов")."""
    have, want = _plain_words(text), _plain_words(anchor)
    n = len(want)
    return n > 0 and any(
        all(have[i + k].startswith(want[k]) for k in range(n)) for i in range(len(have) - n + 1)
    )


def _mentions_anchor(card: Card, fact: GoldFact) -> bool:
    text = card_text(card).full
    return any(mentions(text, anchor) for anchor in fact.anchors)


def list_items(fact: GoldFact) -> list[list[str]]:
    """A list fact's items, each with its accepted spellings.

    Nested answers (`[["A", "а"], ["B"]]`) are that already. Flat answers are read as
    accepted answers: when one enumerates («A, B и C»), its parts are the items and
    each other answer is a spelling of the item it matches; when none does, each answer
    is an item. (A flat list of alternatives read as items would ask one card to delete
    «A, B и C» and «A» at once, which no card can.)
    """
    if any(isinstance(answer, list) for answer in fact.answers):
        return [item if isinstance(item, list) else [item] for item in fact.answers]
    flat = [answer for answer in fact.answers if isinstance(answer, str)]

    def parts_of(answer: str) -> list[str]:
        return [part.strip() for part in LIST_JOIN_RE.split(answer.replace("; ", ", "))]

    widest = max(flat, key=lambda answer: len(parts_of(answer)))
    parts = [part for part in parts_of(widest) if part]
    if len(parts) < 2:
        return [[answer] for answer in flat]
    items = [[part] for part in parts]
    for answer in flat:
        if answer == widest:
            continue
        for item in items:
            if answer_matches(answer, item[0], any_length=True) or answer_matches(
                item[0], answer, any_length=True
            ):
                item.append(answer)
                break
    return items


def covers(card: Card, fact: GoldFact) -> bool:
    """Whether a card tests a gold fact."""
    if not _mentions_anchor(card, fact):
        return False
    answers = card.answers
    if fact.kind == "list":
        items = list_items(fact)
        return all(
            any(answer_matches(a, v, any_length=True) for a in answers for v in item)
            for item in items
        )
    variants = [v for v in fact.answers if isinstance(v, str)]
    return any(answer_matches(a, v) for a in answers for v in variants)


class PostScore(BaseModel):
    post_id: str
    channel: str
    facts: int
    covered: list[str]
    missed: list[str]
    recall: float | None
    cards: int
    exported: int
    ungrounded: int
    about_channel: int
    duplicate_pairs: int


class EvalReport(BaseModel):
    posts: list[PostScore]
    facts: int
    core_facts: int
    recall: float | None
    core_recall: float | None
    recall_by_kind: dict[str, float | None]
    cards: int
    exported: int
    groundedness: float | None
    ungrounded: int
    about_channel: int
    duplicate_pairs: int
    duplicate_share: float | None
    answer_words_p50: float | None
    answer_words_p90: float | None
    unmatched_gold: list[str] = Field(default_factory=list)


def _percentile(values: Sequence[int], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    return float(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1])


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _duplicate_pairs(cards: Sequence[Card]) -> int:
    texts = [card_text(c).full for c in cards]
    return sum(
        1
        for i in range(len(texts))
        for j in range(i + 1, len(texts))
        if similarity(texts[i], texts[j]) >= NEAR_DUPLICATE
    )


def evaluate(
    posts: Iterable[Post],
    generated: Iterable[Card],
    exported: Iterable[Card],
    gold: Iterable[GoldPost],
    config: CheckConfig | None = None,
) -> EvalReport:
    """Score the cards of a build: recall on exported cards, the rest on all generated ones."""
    config = config or CheckConfig()
    posts = list(posts)
    generated, exported = list(generated), list(exported)
    facts_of: dict[str, list[GoldFact]] = {}
    unmatched = []
    for entry in gold:
        hits = [p for p in posts if normalize(entry.post) in normalize(p.text)]
        if len(hits) != 1:
            unmatched.append(entry.post)
            continue
        facts_of.setdefault(hits[0].id, []).extend(entry.facts)

    scores = []
    covered_by_kind: dict[str, list[bool]] = {}
    all_ungrounded = all_channel = all_pairs = 0
    lengths: list[int] = []
    for post in posts:
        made = [c for c in generated if c.post_id == post.id]
        kept = [c for c in exported if c.post_id == post.id]
        reasons = [card_reasons(c, post, config) for c in made]
        ungrounded = sum(1 for r in reasons if GROUNDING & set(r))
        channel = sum(1 for r in reasons if "about-channel" in r)
        pairs = _duplicate_pairs(made)
        facts = facts_of.get(post.id, [])
        hit = [f.id for f in facts if any(covers(c, f) for c in kept)]
        for fact in facts:
            covered_by_kind.setdefault(fact.kind, []).append(fact.id in hit)
        lengths.extend(len(words(a)) for c in made for a in c.answers)
        all_ungrounded, all_channel, all_pairs = (
            all_ungrounded + ungrounded,
            all_channel + channel,
            all_pairs + pairs,
        )
        scores.append(
            PostScore(
                post_id=post.id,
                channel=post.channel,
                facts=len(facts),
                covered=hit,
                missed=[f.id for f in facts if f.id not in hit],
                recall=_share(len(hit), len(facts)),
                cards=len(made),
                exported=len(kept),
                ungrounded=ungrounded,
                about_channel=channel,
                duplicate_pairs=pairs,
            )
        )
    flags = [hit for kind in covered_by_kind for hit in covered_by_kind[kind]]
    core = [hit for kind in CORE_KINDS for hit in covered_by_kind.get(kind, [])]
    total_pairs = len(generated) * (len(generated) - 1) // 2
    return EvalReport(
        posts=scores,
        facts=len(flags),
        core_facts=len(core),
        recall=_share(sum(flags), len(flags)),
        core_recall=_share(sum(core), len(core)),
        recall_by_kind={k: _share(sum(v), len(v)) for k, v in sorted(covered_by_kind.items())},
        cards=len(generated),
        exported=len(exported),
        groundedness=_share(len(generated) - all_ungrounded, len(generated)),
        ungrounded=all_ungrounded,
        about_channel=all_channel,
        duplicate_pairs=all_pairs,
        duplicate_share=_share(all_pairs, total_pairs),
        answer_words_p50=_percentile(lengths, 50),
        answer_words_p90=_percentile(lengths, 90),
        unmatched_gold=unmatched,
    )


def format_report(report: EvalReport) -> str:
    """The report as a table per post and a block of overall figures."""

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    lines = [f"{'POST':<14} {'CHANNEL':<28} {'FACTS':>5} {'RECALL':>6} {'CARDS':>5} "
             f"{'KEPT':>5} {'UNGR':>4} {'DUPS':>4}  MISSED"]  # fmt: skip
    for s in report.posts:
        lines.append(
            f"{s.post_id[:14]:<14} {s.channel[:28]:<28} {s.facts:>5} {pct(s.recall):>6} "
            f"{s.cards:>5} {s.exported:>5} {s.ungrounded:>4} {s.duplicate_pairs:>4}  "
            + ", ".join(s.missed)
        )
    by_kind = ", ".join(f"{k} {pct(v)}" for k, v in report.recall_by_kind.items())
    lines += [
        "",
        f"key-fact recall: {pct(report.recall)} of {report.facts} facts ({by_kind})",
        f"core recall (number, list, term): {pct(report.core_recall)} of {report.core_facts}",
        f"cards: {report.cards} generated, {report.exported} exported",
        f"groundedness: {pct(report.groundedness)} ({report.ungrounded} ungrounded)",
        f"cards about the channel: {report.about_channel}",
        f"near-duplicate pairs: {report.duplicate_pairs} (share {pct(report.duplicate_share)})",
        f"answer words: median {report.answer_words_p50}, p90 {report.answer_words_p90}",
    ]
    if report.unmatched_gold:
        lines.append(f"gold posts not found in the inputs: {len(report.unmatched_gold)}")
    return "\n".join(lines)
