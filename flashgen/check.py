"""Check: every card that leaves here is grounded in its post and said once."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from flashgen.models import Card, Post

_QUOTES = str.maketrans({c: '"' for c in "«»“”„‟″"} | {c: "'" for c in "‘’‚‛′`"})


def normalize(text: str) -> str:
    """Text as compared for grounding and duplicates: NFC, one kind of quote, folded case."""
    text = unicodedata.normalize("NFC", text).translate(_QUOTES)
    return " ".join(text.split()).casefold()


def card_identity(card: Card) -> str:
    """What makes a card the card it is, across rewordings of its question.

    The evidence sentence and what the learner must recall; not the wording of the
    question or extras, so a polished card keeps its identity.
    """
    recall = " | ".join(normalize(answer) for answer in card.answers)
    return f"{card.kind}\n{normalize(card.source_quote)}\n{recall}"


class Rejection(BaseModel):
    """A card that is not exported, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    card: Card
    reasons: tuple[str, ...]


def check_cards(posts: Iterable[Post], cards: Iterable[Card]) -> tuple[list[Card], list[Rejection]]:
    """Split cards into the accepted and the rejected with their reasons."""
    texts = {post.id: normalize(post.text) for post in posts}
    accepted: list[Card] = []
    rejected: list[Rejection] = []
    seen: set[tuple[str, str]] = set()
    for card in cards:
        reasons = []
        text = texts.get(card.post_id)
        if text is None:
            reasons.append("unknown-post")
        elif normalize(card.source_quote) not in text:
            reasons.append("quote-not-in-post")
        key = (card.post_id, card_identity(card))
        if key in seen:
            reasons.append("duplicate")
        if reasons:
            rejected.append(Rejection(card=card, reasons=tuple(reasons)))
        else:
            seen.add(key)
            accepted.append(card)
    return accepted, rejected
