"""Duplicates across a whole build: exact, and near where question AND answer are close.

Closeness comes from the server's embeddings when it offers them (SemDedup-style cosine),
else from character shingles. Deliberate redundancy — one fact asked from both
directions — has a different question and a different answer, so it is kept.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from flashgen.check.rules import CardText, CheckConfig, card_text
from flashgen.check.text import normalize, similarity, words
from flashgen.models import Card

Embedder = Callable[[list[str]], list[list[float]]]


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def _answer(text: CardText) -> str:
    return " | ".join(text.answers)


def _plain(text: str) -> str:
    """Exact-duplicate form: case, spacing and punctuation do not make a card new."""
    return " ".join(words(normalize(text)))


def _better(a: Card, b: Card) -> bool:
    """Whether card a is better than card b: shorter answers recall more reliably (C4)."""
    return sum(len(words(x)) for x in a.answers) < sum(len(words(x)) for x in b.answers)


def find_duplicates(
    cards: Sequence[Card], config: CheckConfig, embed: Embedder | None = None
) -> dict[int, tuple[str, int]]:
    """Index of each duplicate card → (reason, index of the card kept in its place)."""
    texts = [card_text(card) for card in cards]
    vectors: list[tuple[list[float], list[float]]] | None = None
    if embed is not None and cards:
        flat = embed([t.prompt for t in texts] + [_answer(t) for t in texts])
        vectors = list(zip(flat[: len(cards)], flat[len(cards) :], strict=True))

    def near(i: int, j: int) -> bool:
        if cards[i].kind != cards[j].kind:
            return False
        if vectors is not None:
            threshold = config.embedding_similarity
            return (
                _cosine(vectors[i][0], vectors[j][0]) >= threshold
                and _cosine(vectors[i][1], vectors[j][1]) >= threshold
            )
        return (
            similarity(texts[i].prompt, texts[j].prompt) >= config.near_question_similarity
            and similarity(_answer(texts[i]), _answer(texts[j]), containment=True)
            >= config.near_answer_similarity
        )

    exact: dict[str, int] = {}
    kept: list[int] = []
    dropped: dict[int, tuple[str, int]] = {}
    for i, card in enumerate(cards):
        key = f"{card.kind}\n{_plain(texts[i].prompt)}\n{_plain(_answer(texts[i]))}"
        if key in exact:
            dropped[i] = ("duplicate", exact[key])
            continue
        twin = next((k for k in kept if near(i, k)), None)
        if twin is None:
            exact[key] = i
            kept.append(i)
        elif _better(card, cards[twin]):
            # The newcomer is the better card: it takes the earlier one's place.
            kept[kept.index(twin)] = i
            exact[key] = i
            dropped[twin] = ("near-duplicate", i)
            for j, (reason, keeper) in list(dropped.items()):
                if keeper == twin:
                    dropped[j] = (reason, i)
        else:
            dropped[i] = ("near-duplicate", twin)
    return dropped
