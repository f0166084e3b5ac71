"""Duplicates across a whole build: exact, one identity, and near where question AND answer
are close.

Closeness comes from the server's embeddings when it offers them (SemDedup-style cosine),
else from character shingles. Deliberate redundancy — one fact asked from both
directions — has a different question and a different answer, so it is kept. Of the cards
that are one fact, the one kept is the one its evidence backs best (a model that pairs an
answer with the wrong entity of its sentence writes the other), then the one with less to
recall.
"""

from __future__ import annotations

import functools
import math
import operator
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from flashgen.check.rules import CardText, CheckConfig, card_text
from flashgen.models import Card, card_identity
from flashgen.text import (
    anchor_weights,
    join_answers,
    normalize,
    number_values,
    plain,
    rarest_prefix,
    shingles,
    token_ranks,
    words,
)

Embedder = Callable[[list[str]], list[list[float]]]

# Two cards of one sentence and one answer ask different facts only when each is about
# words of its own there, and the sentence backs each about as well: «Kafka хранит
# сообщения 168 часов, и сегмент лога закрывается через 168 часов» makes two cards; of
# «CHYT (ClickHouse over YT), SPYT (Spark over YT)» only one of CHYT and SPYT is
# «ClickHouse over YT», and it is the one next to it.
WEAKER_SUPPORT = 0.7
# Support scores closer than this are a tie, settled by the effort of recall.
SUPPORT_TIE = 0.05


def _unit(vector: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector] if norm else list(vector)


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(map(operator.mul, a, b))


def _answer(text: CardText) -> str:
    return join_answers(text.answers)


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


@dataclass
class _Features:
    """What the near-duplicate test compares, computed once per card."""

    kind: str
    prompt_shingles: set[str]
    prompt_words: set[str]
    items: set[str]
    answer_shingles: set[str]
    answer_words: set[str]
    numbers: set[float]
    effort: int  # words to recall; fewer is better (C4)
    identity: str
    prompt: str
    quote: str
    answers: tuple[str, ...]

    # Only cards that meet a twin need these: weighed then, not for every card.
    @functools.cached_property
    def anchors(self) -> dict[str, float]:
        """The evidence's words the question names (text.anchor_weights)."""
        return anchor_weights(self.prompt, self.quote, self.answers)

    @functools.cached_property
    def support(self) -> float:
        """How well the evidence backs question and answer together (text.support)."""
        return sum(self.anchors.values())

    @classmethod
    def of(cls, card: Card, text: CardText) -> _Features:
        answer = _answer(text)
        return cls(
            kind=card.kind,
            prompt_shingles=shingles(text.prompt),
            prompt_words=set(words(normalize(text.prompt))),
            items={plain(x) for x in text.answers},
            answer_shingles=shingles(answer),
            answer_words=set(words(normalize(answer))),
            numbers=number_values(answer),
            effort=sum(len(words(x)) for x in text.answers),
            identity=card_identity(card),
            prompt=text.prompt,
            quote=card.source_quote,
            answers=text.answers,
        )


def one_fact(a: _Features, b: _Features) -> bool:
    """Whether two cards of one identity (one sentence, one answer) ask one fact: one of
    them names nothing of the sentence the other does not, or what it names of its own
    stands far from the answer (another clause) while the other's stands next to it."""
    own_a = max((w for t, w in a.anchors.items() if t not in b.anchors), default=0.0)
    own_b = max((w for t, w in b.anchors.items() if t not in a.anchors), default=0.0)
    return min(own_a, own_b) < WEAKER_SUPPORT * max(own_a, own_b) or not (own_a and own_b)


def better(a: _Features, b: _Features) -> bool:
    """Whether card a should be kept rather than b, its duplicate: the evidence backs it
    better, or as well and it asks less to recall."""
    if abs(a.support - b.support) > SUPPORT_TIE:
        return a.support > b.support
    return a.effort < b.effort


def _near_by_text(a: _Features, b: _Features, config: CheckConfig) -> bool:
    question = max(
        _jaccard(a.prompt_shingles, b.prompt_shingles), _jaccard(a.prompt_words, b.prompt_words)
    )
    if question < config.near_question_similarity:
        return False
    if len(a.items) > 1 or len(b.items) > 1:
        # Cloze notes with several deletions are the same only if they ask the same set.
        return _jaccard(a.items, b.items) >= config.near_answer_similarity
    # «шесть» and "6" are one answer.
    if a.numbers and a.numbers == b.numbers:
        return True
    chars = _jaccard(a.answer_shingles, b.answer_shingles)
    smaller = min(len(a.answer_words), len(b.answer_words))
    contained = len(a.answer_words & b.answer_words) / smaller if smaller else chars
    return max(chars, contained) >= config.near_answer_similarity


def _blocking_keys(
    features: Sequence[_Features], config: CheckConfig
) -> list[tuple[set[str], set[str]]]:
    """(question keys, answer keys) per card: a near pair shares one key of each kind.

    Questions: prefix-filtered shingles and words, the two measures the question test takes
    the larger of. Answers: prefix-filtered shingles, plus every word, item and number, which
    cover containment, same sets and «шесть» = 6.
    """
    counts: tuple[Counter[str], Counter[str], Counter[str]] = (Counter(), Counter(), Counter())
    for f in features:
        counts[0].update(f.prompt_shingles)
        counts[1].update(f.prompt_words)
        counts[2].update(f.answer_shingles)
    shingle_rank, word_rank, answer_rank = map(token_ranks, counts)
    question_t, answer_t = config.near_question_similarity, config.near_answer_similarity
    out = []
    for f in features:
        question = {f"k:{f.kind}"} if not f.prompt_shingles else set()
        prompt_shingles = rarest_prefix(f.prompt_shingles, shingle_rank, question_t)
        question.update("s:" + x for x in prompt_shingles)
        question.update("w:" + x for x in rarest_prefix(f.prompt_words, word_rank, question_t))
        answer = {"a:" + x for x in rarest_prefix(f.answer_shingles, answer_rank, answer_t)}
        answer.update("aw:" + x for x in f.answer_words)
        answer.update("i:" + x for x in f.items)
        answer.update(f"#{float(n)}" for n in f.numbers)
        out.append((question, answer))
    return out


Prepared = tuple[CardText, _Features]


def prepare(card: Card, text: CardText | None = None) -> Prepared:
    """What find_duplicates needs of one card, computed apart so a build can do it for each
    card as the model's answers arrive, while it waits for the rest."""
    text = text or card_text(card)
    return text, _Features.of(card, text)


def _sharing_both(
    blocking: Sequence[tuple[set[str], set[str]]],
    i: int,
    by_question: dict[str, set[int]],
    by_answer: dict[str, set[int]],
) -> set[int]:
    """Kept cards that share a question key and an answer key with card i.

    Gathered from the side with fewer postings and filtered by the other side's keys: one
    side is often huge (every card of a channel shares its usual words), the other small.
    """
    questions, answers = blocking[i]
    postings = [
        [by_question.get(k, ()) for k in questions],
        [by_answer.get(k, ()) for k in answers],
    ]
    sizes = [sum(map(len, side)) for side in postings]
    small = 0 if sizes[0] <= sizes[1] else 1
    other_keys = blocking[i][1 - small]
    found: set[int] = set().union(*postings[small])
    return {k for k in found if not blocking[k][1 - small].isdisjoint(other_keys)}


def find_duplicates(
    cards: Sequence[Card],
    config: CheckConfig,
    embed: Embedder | None = None,
    prepared: Sequence[Prepared] | None = None,
) -> dict[int, tuple[str, int]]:
    """Index of each duplicate card → (reason, index of the card kept in its place).

    Each card is compared only with the cards kept so far: with shingles, only those whose
    question and answer can both reach their thresholds (blocking keys keep a large build
    fast); with embeddings, every kept card of the same kind. `prepared` holds what
    `prepare` gives for each card, when it was computed earlier.
    """
    if prepared is None:
        prepared = [prepare(card) for card in cards]
    texts = [text for text, _ in prepared]
    features = [feature for _, feature in prepared]
    vectors: list[tuple[list[float], list[float]]] | None = None
    if embed is not None and cards:
        flat = [_unit(v) for v in embed([t.prompt for t in texts] + [_answer(t) for t in texts])]
        vectors = list(zip(flat[: len(cards)], flat[len(cards) :], strict=True))

    def near(i: int, j: int) -> bool:
        if features[i].kind != features[j].kind:
            return False
        if vectors is not None:
            threshold = config.embedding_similarity
            return (
                _dot(vectors[i][0], vectors[j][0]) >= threshold
                and _dot(vectors[i][1], vectors[j][1]) >= threshold
            )
        return _near_by_text(features[i], features[j], config)

    blocking = _blocking_keys(features, config)
    exact: dict[str, int] = {}  # exact form → the kept card of that form
    same_identity: dict[str, set[int]] = defaultdict(set)  # identity → its kept cards
    slot_of: dict[int, int] = {}  # kept card → its place in input order
    by_question: dict[str, set[int]] = defaultdict(set)
    by_answer: dict[str, set[int]] = defaultdict(set)
    dropped: dict[int, tuple[str, int]] = {}

    def keep(i: int, slot: int) -> None:
        slot_of[i] = slot
        exact.setdefault(keys[i], i)
        same_identity[features[i].identity].add(i)
        for key in blocking[i][0]:
            by_question[key].add(i)
        for key in blocking[i][1]:
            by_answer[key].add(i)

    def forget(i: int) -> int:
        same_identity[features[i].identity].discard(i)
        for key in blocking[i][0]:
            by_question[key].discard(i)
        for key in blocking[i][1]:
            by_answer[key].discard(i)
        return slot_of.pop(i)

    def first(found: Iterable[int]) -> int | None:
        return min(found, key=slot_of.__getitem__, default=None)

    keys = [
        f"{card.kind}\n{plain(text.prompt)}\n{plain(_answer(text))}"
        for card, text in zip(cards, texts, strict=True)
    ]
    for i in range(len(cards)):
        reason = "duplicate"
        twin = exact.get(keys[i])
        if twin is None:
            twin = first(
                k for k in same_identity[features[i].identity] if one_fact(features[i], features[k])
            )
        if twin is None:
            reason = "near-duplicate"
            if vectors is not None:
                candidates: set[int] = set(slot_of)
            else:
                candidates = _sharing_both(blocking, i, by_question, by_answer)
            # A card of its identity that is not one fact with it is another fact, however
            # alike the wording (one sentence, one answer): the evidence has spoken.
            twin = first(
                k for k in candidates if features[k].identity != features[i].identity and near(i, k)
            )
        if twin is None:
            keep(i, i)
        elif better(features[i], features[twin]):
            # The newcomer is the better card: it takes the earlier one's place, and what
            # was a duplicate of that one is now a duplicate of this one.
            keep(i, forget(twin))
            for key, kept in list(exact.items()):
                if kept == twin:
                    exact[key] = i
            dropped[twin] = (reason, i)
            for j, (why, keeper) in list(dropped.items()):
                if keeper == twin:
                    dropped[j] = (why, i)
        else:
            dropped[i] = (reason, twin)
    return dropped
