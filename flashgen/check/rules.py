"""The per-card quality rules of card-quality.md, each a named reason, in Russian and English.

Every rule looks at one card and its post and answers with the reasons it fails, so a
rejected card always says why. Thresholds come from CheckConfig (`[checks]` in flashgen.toml).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from functools import cached_property

from pydantic import BaseModel, ConfigDict

from flashgen.check.binding import binding_problem
from flashgen.models import CLOZE_RE, Card, Post
from flashgen.settings import CheckConfig
from flashgen.text import (
    CHANNEL_WORD_RE,
    FUNCTION_WORDS,
    channel_name,
    folded_number_values,
    latin_terms,
    names_channel,
    normalize,
    number_values,
    words,
)


class CardText(BaseModel):
    """What a learner sees and must recall, for any kind of card."""

    model_config = ConfigDict(frozen=True)

    prompt: str  # question, or the cloze text with its deletions shown as `[…]`
    answers: tuple[str, ...]
    full: str  # question and answer, or the cloze text with its deletions filled in


def card_text(card: Card) -> CardText:
    if card.kind == "cloze":
        prompt = CLOZE_RE.sub("[…]", card.question)
        full = CLOZE_RE.sub(lambda m: m.group(2), card.question)
        return CardText(prompt=prompt, answers=tuple(card.answers), full=full)
    return CardText(
        prompt=card.question, answers=(card.answer,), full=f"{card.question}\n{card.answer}"
    )


# A rule answers False when the card passes it; True or a sentence of evidence (what the
# post says instead) when it fails.
Rule = Callable[[Card, CardText, "PostView", CheckConfig], bool | str]
RULES: dict[str, Rule] = {}


def rule(name: str) -> Callable[[Rule], Rule]:
    def register(func: Rule) -> Rule:
        RULES[name] = func
        return func

    return register


def _any(patterns: list[str], text: str) -> bool:
    return _alternation(tuple(patterns)).search(text) is not None


@functools.lru_cache(maxsize=64)
def _alternation(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One compiled pattern for a rule's list: re's own cache is a lookup per pattern and
    call, the most work the rules did per card."""
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


# --- grounding (C7) -------------------------------------------------------------------


@rule("quote-not-in-post")
def _quote(card: Card, text: CardText, post: PostView, config: CheckConfig) -> bool:
    return normalize(card.source_quote) not in post.text


@rule("number-not-in-post")
def _numbers(card: Card, text: CardText, post: PostView, config: CheckConfig) -> bool:
    # An answer without a number asks nothing of the post's numbers, which are then never
    # read off the post.
    return any((values := number_values(a)) and not values <= post.numbers for a in text.answers)


@rule("term-not-in-post")
def _terms(card: Card, text: CardText, post: PostView, config: CheckConfig) -> bool:
    return any(normalize(t) not in post.text for a in text.answers for t in latin_terms(a))


# True to the post (binding.py): one search per card gives at most one of these reasons.
BINDING_REASONS = ("answer-not-bound", "unit-mismatch", "flipped")


def _binding_rule(reason: str) -> Rule:
    def check(card: Card, text: CardText, post: PostView, config: CheckConfig) -> bool | str:
        if card.kind != "basic":
            return False
        found = binding_problem(card.question, card.answer, post.original, card.source_quote)
        return found[1] if found and found[0] == reason else False

    return check


for _reason in BINDING_REASONS:
    rule(_reason)(_binding_rule(_reason))


# --- atomicity and length (C1, C4, C5) ------------------------------------------------


_JOINED_QUESTIONS = [
    r"\bи\s+(?:(?:с|в|на|о|об|по|для|из|к|от|за|у)\s+)?(?:почему|зачем|как|где|когда|сколько|"
    r"что|чем|чего|чему|кто|кого|кому|каков\w*|как(?:ой|ая|ое|ие|им|их|ую|ого|ому))\b",
    r"\bа\s+также\b",
    r"\band\s+(?:why|how|what|when|where|which)\b",
    r"\bas\s+well\s+as\b",
]


@rule("multiple-questions")
def _multiple(card: Card, text: CardText, post: PostView, config: CheckConfig) -> bool:
    if card.kind == "cloze":
        return False
    return card.question.count("?") > 1 or _any(_JOINED_QUESTIONS, card.question)


@rule("answer-too-long")
def _too_long(card: Card, text: CardText, post: PostView, config: CheckConfig) -> bool:
    return any(len(words(a)) > config.max_answer_words for a in text.answers)


_LIST_QUESTIONS = [
    r"^\s*(?:перечисли|назови(?:те)?\s+(?:все|\d+|два|две|три|четыре|пять))",
    r"^\s*(?:list|enumerate|name\s+(?:all|the\s+\w+|\d+|two|three|four|five))\b",
]


@rule("unordered-list")
def _unordered(card: Card, text: CardText, post: PostView, config: CheckConfig) -> bool:
    if card.kind == "cloze":
        return False
    if _any(_LIST_QUESTIONS, card.question):
        return True
    # A set reads "A, B and C": comma-separated items, the last joined by a conjunction.
    items = [item for item in re.split(r"[,;\n•·]", card.answer) if item.strip(" .-–—")]
    if len(items) >= 2:
        items[-1:] = re.split(r"\s+(?:и|а также|and|or|или)\s+", items[-1])
    return len(items) >= 3 and all(len(words(item)) <= 4 for item in items)


# --- recall (C2, C3) ------------------------------------------------------------------

_YES_NO = [
    r"^\s*(?:верно|правда|правильно|действительно|можно|нужно|есть)\s+ли\b",
    r"\bли\b[^?]*\?",
    r"^\s*is\s+it\s+(?:true|correct)\b",
    r"^\s*(?:is|are|was|were|does|do|did|can|could|should|will|would|has|have|had|isn't|"
    r"aren't|doesn't|don't)\b[^?]*\?\s*$",
]
_YES_NO_ANSWER = re.compile(r"^\s*(?:да|нет|yes|no|true|false|верно|неверно)\b[\s.!,]*$", re.I)


@rule("yes-no-question")
def _yes_no(card: Card, text: CardText, post: PostView, config: CheckConfig) -> bool:
    if card.kind == "basic" and _YES_NO_ANSWER.match(card.answer):
        return True
    return card.kind == "basic" and _any(_YES_NO, card.question)


@rule("answer-in-question")
def _given_away(card: Card, text: CardText, post: PostView, config: CheckConfig) -> bool:
    if card.kind == "cloze":
        # Card cN shows every other deletion as text: its answer must not stand there too.
        deletions = list(CLOZE_RE.finditer(card.question))
        for deletion in deletions:
            number = deletion.group(1)
            shown = "".join(
                _shown_part(card.question, deletions, i, number) for i in range(len(deletions) + 1)
            )
            if _contains_words(normalize(shown), normalize(deletion.group(2))):
                return True
        return False
    content = [w for w in words(normalize(card.answer)) if w not in FUNCTION_WORDS]
    question = set(words(normalize(card.question)))
    return bool(content) and all(w in question for w in content)


def _shown_part(text: str, deletions: list[re.Match[str]], i: int, hidden: str) -> str:
    """The text before deletion i, then deletion i itself unless it is the hidden number."""
    start = deletions[i - 1].end() if i else 0
    if i == len(deletions):
        return text[start:]
    m = deletions[i]
    return text[start : m.start()] + ("" if m.group(1) == hidden else m.group(2))


def _is_word_char(text: str, i: int) -> bool:
    r"""Whether text[i] exists and is what `\w` matches (a letter, digit or `_`)."""
    return 0 <= i < len(text) and (text[i].isalnum() or text[i] == "_")


def _contains_words(haystack: str, needle: str) -> bool:
    """Whether needle stands in haystack as whole words (not inside a longer word).

    Searched by hand: a regex per card would be compiled anew for every card.
    """
    needle = needle.strip(" .,;:!?")
    if len(needle) < 2:
        return False
    start = haystack.find(needle)
    while start != -1:
        if not _is_word_char(haystack, start - 1) and not _is_word_char(
            haystack, start + len(needle)
        ):
            return True
        start = haystack.find(needle, start + 1)
    return False


@rule("empty-answer")
def _empty(card: Card, text: CardText, post: PostView, config: CheckConfig) -> bool:
    return any(not a.strip(" .-–—") for a in text.answers)


_VAGUE = [
    r"^\s*(?:расскажи(?:те)?|опиши(?:те)?|охарактеризуй(?:те)?|объясни(?:те)?\s+вс[её])\b",
    r"^\s*что\s+(?:вы|ты)\s+знае(?:те|шь)\b",
    r"^\s*что\s+(?:можно\s+сказать|известно|интересного)\s",
    r"^\s*what\s+(?:can\s+(?:you|we|be)\s+(?:say|said)|is\s+known|is\s+interesting)\b",
    r"^\s*(?:каковы|какие)\s+(?:особенности|характеристики|свойства)\b",
    r"^\s*(?:tell\s+(?:me|us)|describe|explain\s+everything)\b",
    r"^\s*what\s+do\s+you\s+know\b",
    r"^\s*what\s+are\s+the\s+(?:features|characteristics|properties|specifics)\b",
]


@rule("vague-question")
def _vague(card: Card, text: CardText, post: PostView, config: CheckConfig) -> bool:
    return card.kind == "basic" and _any(_VAGUE, card.question)


# --- self-contained (C6) ----------------------------------------------------------------

_SOURCE_REFERENCES = [
    r"\bв\s+(?:этом\s+|данном\s+)?(?:посте|статье|тексте|обзоре|докладе|видео)\b",
    r"\bавтор(?:а|у|ом|е|ы|ов)?\b",
    r"\bупомянут",
    r"\b(?:in|from)\s+the\s+(?:article|post|text|video|talk)\b",
    r"\bthis\s+(?:article|post|text|paper|video|talk|write-?up)\b",
    r"\bthe\s+author\b",
    r"\bthis\s+post\b",
    r"\bmentioned\b",
]
_DEMONSTRATIVES = [
    r"\b(?:эт|данн)(?:от|ого|ом|им|ый|ая|ой|ую|ое|ых|и|ые)\s+"
    r"(?:подход|метод|способ|инструмент|техник|алгоритм|модел|решени|статье|посте)\w*",
    r"\b(?:this|that|these)\s+(?:approach|method|technique|tool|algorithm|model|solution)s?\b",
]


@rule("not-self-contained")
def _not_self_contained(card: Card, text: CardText, post: PostView, config: CheckConfig) -> bool:
    if _any(_SOURCE_REFERENCES, text.full):
        return True
    # A cloze shows its sentence around the gap, which names what "this method" is; only an
    # opening demonstrative leaves the learner guessing.
    scope = " ".join(text.prompt.split()[:2]) if card.kind == "cloze" else text.full
    return _any(_DEMONSTRATIVES, scope)


# --- noise (C9) -------------------------------------------------------------------------

_ABOUT_CHANNEL = [
    r"подписчик",
    r"\bподпи(?:шись|шитесь|сывайтесь|саться)\b",
    r"\b(?:наш|мой|моего|нашего|этот|этого)\s+канал",
    r"\bчита(?:ют|ет|ющих|ющие)\s+(?:этот\s+|мой\s+|наш\s+)?канал",
    r"\b(?:читател|аудитори)\w*\s+канала",
    r"\bканал\s+(?:перевалил|вырос|набрал)",
    r"#?\bреклама\b|\bна\s+правах\s+рекламы\b|\bпромокод",
    # Not "a consumer subscribes to a topic": pub/sub's word, not the channel's.
    r"\bsubscri(?:ber|be)(?!\w*\s+to\s+(?:\w+\s+){0,3}(?:topics?|partitions?|queues?|streams?|events?)\b)",
    r"\b(?:our|my|this)\s+channel\b",
    r"\bchannel(?:'s)?\s+(?:readers|audience|followers)\b",
    r"\bsponsored\b|\bpromo\s+code\b|\bgiveaway\b",
]


@rule("about-channel")
def _about_channel(card: Card, text: CardText, post: PostView, config: CheckConfig) -> bool:
    if _any(_ABOUT_CHANNEL, text.full):
        return True
    if card.kind == "basic" and (
        CHANNEL_WORD_RE.search(text.full) or re.fullmatch(r"\s*#\w+\s*", card.answer)
    ):
        return True
    return names_channel(normalize(text.full), post.channel)


class PostView:
    """A post as the rules see it: normalised text, and its channel name when it is one."""

    def __init__(self, text: str, channel: str | None, original: str) -> None:
        self.text = text
        self.channel = channel
        self.original = original  # as written: binding tells terms by their capitals

    @classmethod
    def of(cls, post: Post) -> PostView:
        return cls(normalize(post.text), channel_name(post.channel), post.text)

    @cached_property
    def numbers(self) -> frozenset[float]:
        """What number_values finds in the text: read only for a card whose answer holds a
        number, so most posts of a build never pay for it."""
        return folded_number_values(self.text)


def card_reasons(
    card: Card, post: Post | PostView | None, config: CheckConfig, text: CardText | None = None
) -> list[str]:
    """Every rule the card breaks (`text` is the card's `card_text`, when it is at hand)."""
    return list(card_findings(card, post, config, text))


def card_findings(
    card: Card, post: Post | PostView | None, config: CheckConfig, text: CardText | None = None
) -> dict[str, str]:
    """Every rule the card breaks → its evidence ("" where the reason says it all)."""
    if post is None:
        return {"unknown-post": ""}
    view = post if isinstance(post, PostView) else PostView.of(post)
    text = text or card_text(card)
    found: dict[str, str] = {}
    for name, check in RULES.items():
        verdict = check(card, text, view, config)
        if verdict:
            found[name] = verdict if isinstance(verdict, str) else ""
    return found
