"""Check: every exported card is atomic, grounded and unique; the rest is reported with reasons.

The rules follow ../shared/docs/card-quality.md (C1–C7, C9, C10) and work for cards from
any generator. Nothing is dropped silently: each rejection carries its reasons.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from flashgen.check.dedup import Embedder, find_duplicates
from flashgen.check.rules import RULES, CheckConfig, card_reasons
from flashgen.check.text import normalize
from flashgen.models import Card, Post, cloze_problem

__all__ = [
    "RULES",
    "CheckConfig",
    "Embedder",
    "Rejection",
    "card_from_fields",
    "card_identity",
    "check_cards",
    "count_reasons",
    "normalize",
]


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


def check_cards(
    posts: Iterable[Post],
    cards: Iterable[Card],
    config: CheckConfig | None = None,
    embed: Embedder | None = None,
) -> tuple[list[Card], list[Rejection]]:
    """Split cards into the accepted and the rejected with their reasons, in input order."""
    config = config or CheckConfig()
    texts = {post.id: normalize(post.text) for post in posts}
    cards = list(cards)
    reasons = [card_reasons(card, texts.get(card.post_id), config) for card in cards]
    passing = [i for i, r in enumerate(reasons) if not r]
    duplicates = find_duplicates([cards[i] for i in passing], config, embed)
    for local, (reason, _) in duplicates.items():
        reasons[passing[local]].append(reason)
    accepted = [card for card, r in zip(cards, reasons, strict=True) if not r]
    rejected = [
        Rejection(card=card, reasons=tuple(r)) for card, r in zip(cards, reasons, strict=True) if r
    ]
    return accepted, rejected


def count_reasons(rejected: Iterable[Rejection]) -> dict[str, int]:
    """How many rejected cards gave each reason, most frequent first."""
    counts = Counter(reason for r in rejected for reason in r.reasons)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def card_from_fields(fields: Mapping[str, Any], topic: str) -> Card | list[str]:
    """A Card from loose fields (another tool's output), or the reasons it is malformed."""
    data: dict[str, Any] = {
        k: fields.get(k) for k in ("kind", "question", "answer", "source_quote", "post_id")
    }
    data["answer"] = data["answer"] or ""
    try:
        return Card(**data, topic=topic)
    except ValidationError:
        problems = []
        if data["kind"] == "cloze" and isinstance(data["question"], str):
            if cloze_problem(data["question"]):
                problems.append("cloze-syntax")
        elif data["kind"] == "basic" and not str(data["answer"]).strip():
            problems.append("empty-answer")
        return problems or ["invalid-card"]
