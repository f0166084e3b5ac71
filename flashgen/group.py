"""Group: cards into decks by topic."""

from __future__ import annotations

from collections.abc import Iterable

from flashgen.models import Card

ROOT_DECK = "Flashgen"


def deck_name(topic: str, root: str = ROOT_DECK) -> str:
    # `::` inside a topic would make Anki nest decks the user never asked for.
    return f"{root}::{topic.replace('::', ':')}"


def group_by_topic(cards: Iterable[Card], root: str = ROOT_DECK) -> dict[str, list[Card]]:
    """Deck name → its cards, decks sorted by name, cards in the order they came."""
    decks: dict[str, list[Card]] = {}
    for card in cards:
        decks.setdefault(deck_name(card.topic, root), []).append(card)
    return dict(sorted(decks.items()))
