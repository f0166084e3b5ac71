"""Proof in real Anki: what `flashgen build` writes imports, and re-imports add nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest
from click.testing import CliRunner

from flashgen.cli import main


def _build(inputs: list[str], out: Path, *extra: str) -> Path:
    result = CliRunner().invoke(main, ["build", *inputs, "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return out / "flashgen.apkg"


def _import(col: Collection, apkg: Path):  # type: ignore[no-untyped-def]
    request = ImportAnkiPackageRequest(
        package_path=str(apkg), options=ImportAnkiPackageOptions(with_scheduling=True)
    )
    return col.import_anki_package(request).log


@pytest.fixture
def col(tmp_path: Path):  # type: ignore[no-untyped-def]
    collection = Collection(str(tmp_path / "collection.anki2"))
    yield collection
    collection.close()


def test_seed_imports_into_per_channel_subdecks(
    seed_path: Path, tmp_path: Path, col: Collection
) -> None:
    apkg = _build([str(seed_path)], tmp_path / "X")
    log = _import(col, apkg)
    assert len(log.new) == col.note_count() > 30
    assert not log.conflicting

    names = {d.name for d in col.decks.all_names_and_ids()}
    for channel in ("Душный NLP", "data будни (Sasha Mikhailov)", "LLM под капотом"):
        assert f"Flashgen::{channel}" in names

    nll = col.find_notes('"deck:Flashgen::Душный NLP" NLL')
    texts = [col.get_note(n)["Text"] for n in nll]
    assert any("{{c1::0,2}}" in t and "DPO" in t for t in texts), texts

    layers = col.find_notes('"deck:Flashgen::data будни (Sasha Mikhailov)" Cypress MapReduce')
    [layer_note] = [col.get_note(n) for n in layers if "{{c3::" in col.get_note(n)["Text"]]
    assert len(layer_note.cards()) == 3
    assert {"channel::Душный_NLP", "topic::Душный_NLP"} <= set(col.tags.all())


def test_reimport_and_rebuild_add_no_notes(
    seed_path: Path, tmp_path: Path, col: Collection
) -> None:
    first = _build([str(seed_path)], tmp_path / "one", "--timestamp", "1700000000")
    count = len(_import(col, first).new)
    card = col.get_card(col.find_cards("")[0])
    card.start_timer()
    col.sched.answerCard(card, 3)

    again = _import(col, first)
    assert len(again.new) == 0 and len(again.duplicate) == count

    rebuilt = _build([str(seed_path)], tmp_path / "two", "--timestamp", "1700003600")
    log = _import(col, rebuilt)
    assert len(log.new) == 0 and not log.conflicting
    assert col.note_count() == count
    assert col.get_card(card.id).reps == 1
