"""Shared fixtures: the user's real sample posts live in ../shared beside the repo."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from anki.collection import Collection

from .fake_openai import FakeOpenAI

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SEED = SHARED / "seeds" / "telegram-posts.txt"
EXAMPLES = REPO / "examples"


# Tiers: `pytest -m unit` runs in seconds; http tests talk to a real local server, anki
# tests import into a real Anki collection, llama tests build against llama.cpp.
TIERS = ("unit", "http", "anki", "llama", "browser")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its tier, from what it uses: a test that builds against the
    fake server or imports into Anki says so by its fixtures or by the names it calls."""
    for item in items:
        if item.get_closest_marker("llama") or item.get_closest_marker("browser"):
            continue
        function = getattr(item, "function", None)
        names = set(getattr(getattr(function, "__code__", None), "co_names", ()))
        fixtures = set(getattr(item, "fixturenames", ()))
        if "col" in fixtures or "Collection" in names:
            item.add_marker(pytest.mark.anki)
        elif "fake" in fixtures or "FakeOpenAI" in names or "subprocess" in names:
            item.add_marker(pytest.mark.http)
        else:
            item.add_marker(pytest.mark.unit)


@pytest.fixture(scope="session")
def seed_path() -> Path:
    # CI clones the repo with shared/ beside it; a missing seed is a broken setup, not a skip.
    assert SEED.is_file(), f"the seed posts are missing: {SEED}"
    return SEED


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test runs in its own folder, so default outputs (decks/, .flashgen/) never land in
    the repo, and no real OpenAI settings from the environment leak in."""
    monkeypatch.chdir(tmp_path)
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "FLASHGEN_MODEL", "SOURCE_DATE_EPOCH"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def col(tmp_path: Path) -> Iterator[Collection]:
    collection = Collection(str(tmp_path / "collection.anki2"))
    yield collection
    collection.close()
