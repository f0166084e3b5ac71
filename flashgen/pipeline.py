"""The whole path: inputs → posts → cards → checked cards → decks → package."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from flashgen.check import check_cards
from flashgen.export import export_decks
from flashgen.generate import generate_offline
from flashgen.group import ROOT_DECK, group_by_topic
from flashgen.models import BuildResult, Card
from flashgen.sources import read_posts

PACKAGE_NAME = "flashgen.apkg"


def build(
    inputs: Iterable[str | Path],
    out_dir: str | Path = "decks",
    *,
    root: str = ROOT_DECK,
    timestamp: float | None = None,
) -> BuildResult:
    """Read the inputs, generate and check cards, and write one package into `out_dir`.

    Every input is read and every card made before anything is written, so bad input
    leaves the user's folder as it was.
    """
    posts = read_posts(inputs)
    cards: list[Card] = []
    for post in posts:
        cards.extend(generate_offline(post))
    accepted, rejected = check_cards(posts, cards)
    decks = group_by_topic(accepted, root)
    path = export_decks(
        decks,
        {post.id: post for post in posts},
        Path(out_dir) / PACKAGE_NAME,
        root=root,
        timestamp=timestamp,
    )
    return BuildResult(
        posts=len(posts),
        cards=len(accepted),
        rejected=len(rejected),
        decks=list(decks),
        path=str(path),
    )
