"""Folders of Markdown and text notes: one post per file, front matter, ids from paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from flashgen import read_posts
from flashgen.errors import InputError
from flashgen.sources.markdown import has_front_matter, split_front_matter

NOTES = Path(__file__).parent / "fixtures" / "exports" / "notes"


def test_notes_folder_gives_one_post_per_file() -> None:
    posts = read_posts([NOTES])
    assert [(p.id, p.channel, p.date, p.url) for p in posts] == [
        ("dates.md", "notes", "2024-03-05", None),  # no channel: the folder's name
        ("ml/adam.md", "ML Notes", "2024-03-05T09:15:02+00:00", "https://t.me/ml_notes/2"),
        ("ml/kafka.txt", "ml", None, None),
        ("rule.md", "notes", None, None),
    ]


def test_title_opens_the_text_unless_the_note_starts_with_it() -> None:
    posts = {p.id: p for p in read_posts([NOTES])}
    assert posts["ml/adam.md"].text == (
        "Как устроен Adam\n"
        "Adam хранит скользящие средние градиента и его квадрата.\n"
        "По умолчанию beta1 = 0.9, beta2 = 0.999."
    )
    assert posts["dates.md"].text == (
        "# Заголовок: с двоеточием\n\nЗаметка без канала: канал — имя папки."
    )


def test_a_rule_above_plain_text_is_not_front_matter() -> None:
    post = {p.id: p for p in read_posts([NOTES])}["rule.md"]
    assert post.text.startswith("---\nГоризонтальная черта сверху")


def test_ids_are_paths_below_the_folder_named() -> None:
    # The same notes read through their own folder: ids lose the "ml/".
    ids = {p.id for p in read_posts([NOTES / "ml"])}
    assert ids == {"adam.md", "kafka.txt"}


@pytest.mark.parametrize(
    ("text", "fields", "body"),
    [
        ("---\nchannel: A\n---\nтекст", {"channel": "A"}, "текст"),
        (
            "---\ntitle: \"B: c\"\nurl: 'https://x.org'\n...\nт",
            {"title": "B: c", "url": "https://x.org"},
            "т",
        ),
        ("---\ntags:\n  - a\nchannel: A\n---\nт", {"channel": "A"}, "т"),
        ("---\nchannel:\n---\nт", {}, "т"),
        ("---\nchannel: A\nтекст без конца", {}, "---\nchannel: A\nтекст без конца"),
        ("Текст\n---\nchannel: A\n---", {}, "Текст\n---\nchannel: A\n---"),
    ],
    ids=["plain", "quoted", "lists", "blank value", "unclosed", "not first"],
)
def test_front_matter(text: str, fields: dict[str, str], body: str) -> None:
    assert split_front_matter(text) == (fields, body)
    assert has_front_matter(text) == (body != text)


def test_bad_front_matter_date_is_one_clear_error(tmp_path: Path) -> None:
    note = tmp_path / "note.md"
    note.write_text("---\ndate: вчера\n---\nТекст заметки.", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_posts([note])
    assert str(caught.value) == (
        f'{note}: front matter date "вчера" is not an ISO 8601 date (like 2024-03-05)'
    )


def test_a_note_named_on_its_own_uses_its_front_matter(tmp_path: Path) -> None:
    note = tmp_path / "adam.md"
    note.write_text("---\nchannel: ML Notes\n---\nAdam: beta1 = 0.9.", encoding="utf-8")
    [post] = read_posts([note])
    assert (post.id, post.channel, post.text) == ("adam.md", "ML Notes", "Adam: beta1 = 0.9.")


def test_empty_notes_are_passed_over_but_an_empty_folder_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "empty.md").write_text("---\ntitle:\n---\n\n", encoding="utf-8")
    with pytest.raises(InputError, match="holds no posts"):
        read_posts([folder])
    (folder / "full.md").write_text("Текст.", encoding="utf-8")
    assert [p.id for p in read_posts([folder])] == ["full.md"]
