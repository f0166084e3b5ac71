"""Telling formats apart by content, --format, and any mix of inputs on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from flashgen import read_posts
from flashgen.cli import main
from flashgen.errors import InputError
from flashgen.models import ReadOptions
from flashgen.sources.detect import sniff, text_format

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
PASTED = "Forwarded from ML Notes\nAdam: beta1 = 0.9.\nForwarded from Data Eng\nKafka: 7 дней.\n"


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        ('{\n "name": "X",\n "messages": []\n}', "json"),
        ('\ufeff  {"about": "…"}', "json"),
        ("[1, 2, 3]", "json"),
        ("{", "json"),
        ("<!DOCTYPE html>\n<html>", "html"),
        ('  <div class="message">', "html"),
        ("[Ссылка] на статью", "text"),
        ("{{c1::Adam}} хранит моменты", "text"),
        ("<b>не страница</b> а текст", "text"),
        (PASTED, "text"),
    ],
)
def test_sniff_reads_content_not_names(tmp_path: Path, content: str, kind: str) -> None:
    path = tmp_path / "input.txt"  # the name never decides
    path.write_text(content, encoding="utf-8")
    assert sniff(path) == kind


@pytest.mark.parametrize(
    ("text", "in_folder", "expected"),
    [
        (PASTED, False, "pasted"),
        (PASTED, True, "pasted"),
        ("---\nchannel: A\n---\nтекст", False, "markdown"),
        ("---\nchannel: A\n---\nтекст", True, "markdown"),
        ("Просто текст заметки.", False, "pasted"),  # one post, copies merged, as before
        ("Просто текст заметки.", True, "markdown"),  # one note of a folder
    ],
)
def test_text_format_rule(text: str, in_folder: bool, expected: str) -> None:
    assert text_format(text, in_folder=in_folder) == expected


def test_the_seed_reads_as_before(seed_path: Path) -> None:
    auto = read_posts([seed_path])
    forced = read_posts([seed_path], ReadOptions(format="pasted"))
    assert len(auto) == 11
    assert [(p.id, p.channel, p.text) for p in auto] == [(p.id, p.channel, p.text) for p in forced]


def test_format_option_forces_a_reader(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "two.md").write_text(PASTED, encoding="utf-8")
    assert [p.channel for p in read_posts([folder])] == ["ML Notes", "Data Eng"]
    [note] = read_posts([folder], ReadOptions(format="markdown"))
    assert (note.id, note.channel) == ("two.md", "notes")


@pytest.mark.parametrize(
    ("fmt", "problem"),
    [("json", "is JSON but not a Telegram Desktop export"), ("html", "not a Telegram")],
)
def test_forcing_the_wrong_format_is_a_clear_error(tmp_path: Path, fmt: str, problem: str) -> None:
    path = tmp_path / "posts.txt"
    path.write_text(PASTED, encoding="utf-8")
    result = CliRunner().invoke(main, ["posts", str(path), "--format", fmt])
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: {path}") and problem in line


def test_folders_skip_media_styles_and_scripts(tmp_path: Path) -> None:
    folder = tmp_path / "ChatExport_2024-03-05"
    (folder / "photos").mkdir(parents=True)
    (folder / "photos" / "photo_1.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF")
    (folder / "result.json").write_bytes((EXPORTS / "channel_json" / "result.json").read_bytes())
    (folder / "style.css").write_text("body { color: red; }", encoding="utf-8")
    assert len(read_posts([folder])) == 8


def test_a_folder_with_nothing_readable_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "photo_1.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF")
    with pytest.raises(InputError, match="no text, Markdown, JSON or HTML files"):
        read_posts([folder])


def test_posts_and_build_take_any_mix_of_inputs(tmp_path: Path, seed_path: Path) -> None:
    inputs = [
        str(EXPORTS / "channel_json" / "result.json"),
        str(EXPORTS / "full_json"),
        str(EXPORTS / "channel_html"),
        str(EXPORTS / "saved_html" / "messages.html"),
        str(EXPORTS / "notes"),
        str(seed_path),
    ]
    result = CliRunner().invoke(main, ["posts", *inputs, "--json"])
    assert result.exit_code == 0, result.output
    posts = json.loads(result.stdout)
    assert len(posts) == 8 + 3 + 9 + 4 + 4 + 11
    assert len({p["id"] for p in posts}) == len(posts)
    built = CliRunner().invoke(main, ["build", *inputs, "--out", str(tmp_path / "decks")])
    assert built.exit_code == 0, built.output
    assert f"{len(posts)} posts" in built.stdout
    assert (tmp_path / "decks" / "flashgen.apkg").is_file()


@pytest.mark.parametrize("command", ["posts", "build"])
def test_read_options_reach_both_commands(tmp_path: Path, command: str) -> None:
    args = [command, str(EXPORTS / "full_json"), "--chat", "Мама", "--username", "x"]
    if command == "build":
        args += ["--out", str(tmp_path / "decks")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert ("1 posts" in result.stdout) if command == "build" else ("Мама" in result.stdout)


def test_unknown_chat_on_the_command_line_is_one_line() -> None:
    result = CliRunner().invoke(main, ["posts", str(EXPORTS / "full_json"), "--chat", "Нет"])
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith('Error: --chat "Нет": no such chat in the exports read')
    assert "Traceback" not in result.output + result.stderr


@pytest.mark.parametrize("source", ["seed", "export"])
def test_json_output_is_exactly_what_json_dumps_gives(seed_path: Path, source: str) -> None:
    path = seed_path if source == "seed" else EXPORTS / "channel_json" / "result.json"
    result = CliRunner().invoke(main, ["posts", str(path), "--json"])
    posts = json.loads(result.stdout)
    assert len(posts) > 1
    assert result.stdout == json.dumps(posts, ensure_ascii=False, indent=2) + "\n"
