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
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

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


# Entries of one block of the similarity matrix (8 bytes each): the search's memory bound.
_BLOCK_ENTRIES = 2_000_000


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(x * x for x in b))
    return sum(x * y for x, y in zip(a, b, strict=True)) / norms if norms else 0.0


def embedded_texts(text: CardText) -> tuple[str, str]:
    """What is embedded of a card: its question and its answer."""
    return text.prompt, _answer(text)


def _embedding_neighbours(
    questions: Sequence[Sequence[float]],
    answers: Sequence[Sequence[float]],
    kinds: Sequence[str],
    threshold: float,
) -> list[list[int]]:
    """For each card, the earlier cards of its kind whose question and answer embeddings
    both reach the cosine threshold.

    Vectorised (numpy) over unit vectors, a block of rows at a time: every pair is
    compared, but as a matrix product, not one Python dot product per pair, and only the
    pairs that are near come back.
    """
    import numpy as np  # only a build whose server embeds needs it

    def units(vectors: Sequence[Sequence[float]]) -> Any:
        matrix = np.asarray(vectors, dtype=np.float64)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix / np.where(norms == 0, 1.0, norms)

    q, a = units(questions), units(answers)
    codes = np.unique(np.asarray(kinds), return_inverse=True)[1]
    count = len(kinds)
    out: list[list[int]] = [[] for _ in range(count)]
    rows_per_block = max(1, _BLOCK_ENTRIES // max(count, 1))
    for start in range(0, count, rows_per_block):
        stop = min(count, start + rows_per_block)
        near = (q[start:stop] @ q[:stop].T) >= threshold
        near &= (a[start:stop] @ a[:stop].T) >= threshold
        near &= codes[start:stop, None] == codes[None, :stop]
        near &= np.arange(stop)[None, :] < np.arange(start, stop)[:, None]  # earlier only
        for row, col in zip(*(x.tolist() for x in np.nonzero(near)), strict=True):
            out[start + row].append(col)
    return out


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
    *,
    exhaustive: bool = False,
) -> dict[int, tuple[str, int]]:
    """Index of each duplicate card → (reason, index of the card kept in its place).

    Each card is compared only with the cards kept so far: with shingles, only those whose
    question and answer can both reach their thresholds (blocking keys keep a large build
    fast); with embeddings, every kept card of the same kind. `prepared` holds what
    `prepare` gives for each card, when it was computed earlier. `exhaustive` compares
    every kept card instead, one pair at a time: the reference the tests hold the indexed
    search to.
    """
    if prepared is None:
        prepared = [prepare(card) for card in cards]
    texts = [text for text, _ in prepared]
    features = [feature for _, feature in prepared]
    neighbours: list[list[int]] | None = None
    blocking: list[tuple[set[str], set[str]]] = []
    flat: list[list[float]] = []
    if embed is not None and cards:
        pairs = [embedded_texts(t) for t in texts]
        flat = embed([q for q, _ in pairs] + [a for _, a in pairs])
        kinds = [f.kind for f in features]
        if not exhaustive:
            neighbours = _embedding_neighbours(
                flat[: len(cards)], flat[len(cards) :], kinds, config.embedding_similarity
            )
    elif not exhaustive:
        blocking = _blocking_keys(features, config)

    def near(i: int, k: int) -> bool:
        """The test itself, for one pair (the exhaustive reference)."""
        if features[i].kind != features[k].kind:
            return False
        if not flat:
            return _near_by_text(features[i], features[k], config)
        count, threshold = len(cards), config.embedding_similarity
        return all(
            _cosine(flat[offset + i], flat[offset + k]) >= threshold for offset in (0, count)
        )

    def near_kept(i: int) -> Iterable[int]:
        """Kept cards near card i, but not of its identity: a card of its identity that is
        not one fact with it is another fact, however alike the wording (one sentence,
        one answer): the evidence has spoken."""
        mine = features[i].identity
        if exhaustive:
            return (k for k in slot_of if features[k].identity != mine and near(i, k))
        if neighbours is not None:
            return (k for k in neighbours[i] if k in slot_of and features[k].identity != mine)
        return (
            k
            for k in _sharing_both(blocking, i, by_question, by_answer)
            if features[k].identity != mine
            and features[k].kind == features[i].kind
            and _near_by_text(features[i], features[k], config)
        )

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
        if blocking:
            for key in blocking[i][0]:
                by_question[key].add(i)
            for key in blocking[i][1]:
                by_answer[key].add(i)

    def forget(i: int) -> int:
        same_identity[features[i].identity].discard(i)
        if blocking:
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
            twin = first(near_kept(i))
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
