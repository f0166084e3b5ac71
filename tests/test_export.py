"""Export: stable identities, escaped fields, Unicode tags, atomic and reproducible writes."""

from __future__ import annotations

import hashlib
import sqlite3
import zipfile
from pathlib import Path

import pytest

from flashgen import export
from flashgen.export import (
    card_note,
    cloze_html,
    deck_id,
    export_decks,
    field_html,
    note_guid,
    source_html,
    tag_of,
)
from flashgen.models import Card, Post

POST = Post(
    id="p1",
    channel="Душный NLP",
    date="2024-07-30T10:00:00+00:00",
    url="https://t.me/c/1/2",
    text="К DPO добавляют NLL с коэффициентом 0,2. Тег <b> & «кавычки».",
)


def _card(**fields: object) -> Card:
    base: dict[str, object] = {
        "kind": "cloze",
        "question": "К DPO добавляют NLL с коэффициентом {{c1::0,2}}.",
        "source_quote": "К DPO добавляют NLL с коэффициентом 0,2.",
        "post_id": "p1",
        "topic": "Душный NLP",
    }
    return Card(**{**base, **fields})


def _notes(apkg: Path, tmp_path: Path) -> list[tuple[str, str, str]]:
    with zipfile.ZipFile(apkg) as archive:
        archive.extract("collection.anki2", tmp_path)
    conn = sqlite3.connect(tmp_path / "collection.anki2")
    try:
        return list(conn.execute("select guid, flds, tags from notes order by guid"))
    finally:
        conn.close()


def test_fields_from_posts_are_html_escaped() -> None:
    assert field_html("a <b> & c\nd") == "a &lt;b&gt; &amp; c<br>d"
    assert cloze_html("x < {{c1::a&b}} > {{c2::y::hint <i>}}") == (
        "x &lt; {{c1::a&amp;b}} &gt; {{c2::y::hint &lt;i&gt;}}"
    )


def test_source_shows_channel_date_and_link() -> None:
    assert source_html(POST) == '<a href="https://t.me/c/1/2">Душный NLP</a> · 2024-07-30'
    bare = Post(id="x", channel="A <B>", text="t")
    assert source_html(bare) == "A &lt;B&gt;"


@pytest.mark.parametrize(
    ("label", "tag"),
    [("Душный NLP", "Душный_NLP"), ("  data  будни ", "data_будни"), ("ML::NLP", "ML::NLP")],
)
def test_tags_keep_unicode_and_lose_spaces(label: str, tag: str) -> None:
    assert tag_of(label) == tag


def test_note_carries_escaped_quote_and_unicode_tags() -> None:
    card = _card(source_quote="Тег <b> & «кавычки».", tags=("system design",))
    note = card_note(card, POST)
    assert note.fields[3] == "Тег &lt;b&gt; &amp; «кавычки»."
    assert note.tags == ["channel::Душный_NLP", "system_design", "topic::Душный_NLP"]


def test_guid_follows_post_and_card_identity_not_wording() -> None:
    card = _card()
    assert note_guid(card) == note_guid(_card(answer="a new extra"))
    assert note_guid(card) != note_guid(_card(post_id="p2"))
    assert note_guid(card) != note_guid(_card(question="К DPO добавляют {{c1::NLL}} с 0,2."))


def test_deck_ids_derive_from_names() -> None:
    assert deck_id("Flashgen::DevFM") == deck_id("Flashgen::DevFM")
    assert deck_id("Flashgen::DevFM") != deck_id("Flashgen::DeepSchool")
    assert (1 << 30) <= deck_id("Flashgen") < (1 << 31)


def test_same_timestamp_gives_identical_bytes(tmp_path: Path) -> None:
    decks = {"Flashgen::Душный NLP": [_card()]}
    a = export_decks(decks, {"p1": POST}, tmp_path / "a" / "x.apkg", root="Flashgen", timestamp=1e9)
    b = export_decks(decks, {"p1": POST}, tmp_path / "b" / "x.apkg", root="Flashgen", timestamp=1e9)
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (a, b)]
    assert digest[0] == digest[1]
    [(guid, fields, tags)] = _notes(a, tmp_path)
    assert guid == note_guid(_card())
    assert "{{c1::0,2}}" in fields and tags.split() == ["channel::Душный_NLP", "topic::Душный_NLP"]


def test_a_crash_while_writing_leaves_the_old_deck(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "flashgen.apkg"
    target.write_bytes(b"the deck the user already has")

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export.zipfile.ZipFile, "writestr", boom)
    with pytest.raises(export.ExportError, match="No space left"):
        export_decks({"Flashgen::X": [_card()]}, {}, target, root="Flashgen", timestamp=1e9)
    assert target.read_bytes() == b"the deck the user already has"
    assert [p.name for p in tmp_path.iterdir()] == ["flashgen.apkg"]
