"""The blind held-out sets of the offline generator are usable: each gold fact finds its post
and its evidence there, so a bench figure never silently drops a fact."""

from __future__ import annotations

from pathlib import Path

import pytest

from flashgen import read_posts
from flashgen.evaluate import load_gold
from flashgen.text import normalize

HELDOUT = Path(__file__).parent / "heldout"


@pytest.mark.unit
@pytest.mark.parametrize(
    "name",
    [
        "offline",
        "offline-final",
        "offline-en",
        *(f"offline-dev{n}" for n in range(2, 10)),
    ],
)
def test_every_gold_fact_finds_its_post_and_evidence(name: str) -> None:
    folder = HELDOUT / name
    posts = read_posts([folder / "posts.txt"])
    gold = load_gold(folder / "gold.json")
    assert len(gold) >= 12 and len(posts) == len(gold)
    ids = [fact.id for entry in gold for fact in entry.facts]
    assert len(ids) == len(set(ids))
    for entry in gold:
        hits = [p for p in posts if normalize(entry.post) in normalize(p.text)]
        assert len(hits) == 1, entry.post
        for fact in entry.facts:
            assert normalize(fact.evidence) in normalize(hits[0].text), fact.id
    # A first-sight file records what the set measured before anyone tuned on it.
    assert "core recall" in (folder / "first-sight.txt").read_text(encoding="utf-8")
