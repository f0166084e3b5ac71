"""The user's seed posts, converted by hand into each kind of input, read back the same.

The converters write what Telegram Desktop would: a Saved Messages export (JSON with
`forwarded_from` and entity lists; HTML with forwarded bodies, saved posts shown under
their channel and joined follow-ups) and a folder of Markdown notes with front matter.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flashgen import read_posts
from flashgen.clean import find_links
from flashgen.models import Post

START = 1_730_000_000  # 2024-10-27T03:33:20+00:00


def _entities(text: str) -> str | list[Any]:
    """The exporter's `text`: the first line bold, URLs as link entities."""
    head, newline, rest = text.partition("\n")
    parts: list[Any] = [{"type": "bold", "text": head}, newline] if newline else [text]
    links = find_links(rest) if newline else []
    for url in links:
        before, _, rest = rest.partition(url)
        parts += [before, {"type": "link", "text": url}]
    parts.append(rest)
    parts = [part for part in parts if part]
    return parts[0] if len(parts) == 1 and isinstance(parts[0], str) else parts


def _write_json(posts: list[Post], folder: Path) -> Path:
    messages: list[dict[str, Any]] = [
        {"id": 1, "type": "service", "action": "pin_message", "message_id": 2, "text": ""}
    ]
    for number, post in enumerate(posts, start=2):
        text = _entities(post.text)
        messages.append(
            {
                "id": number,
                "type": "message",
                "date": "2024-10-27T06:33:20",
                "date_unixtime": str(START + number * 60),
                "from": "Аня",
                "from_id": "user5550001",
                "forwarded_from": post.channel,
                "saved_from": post.channel,
                "text": text,
                "text_entities": text if isinstance(text, list) else [text],
            }
        )
        # A sticker between posts, as people send them.
        messages.append(
            {"id": number + 100, "type": "message", "media_type": "sticker", "text": ""}
        )
    export = {"type": "saved_messages", "id": 5550001, "messages": messages}
    path = folder / "result.json"
    path.write_text(json.dumps(export, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def _html_text(text: str) -> str:
    lines = []
    for line in text.split("\n"):
        escaped = html.escape(line)
        for url in find_links(line):
            link = html.escape(url)
            escaped = escaped.replace(link, f'<a href="{link}">{link}</a>', 1)
        lines.append(escaped)
    return "<br>".join(lines)


def _write_html(posts: list[Post], folder: Path) -> Path:
    blocks = ['<div class="message service" id="message-1">\n<div class="body details">\n'
              "27 October 2024\n</div>\n</div>"]  # fmt: skip
    previous = None
    for number, post in enumerate(posts, start=2):
        date = '<div class="pull_right date details" title="27.10.2024 06:33:20 UTC+03:00">'
        text = f'<div class="text">\n{_html_text(post.text)}\n</div>'
        if number % 2 == 0 or post.channel == previous:
            # Saved from a channel: shown under the channel's name, no forwarded body; the
            # channel's next post is a joined follow-up without a name.
            joined = previous == post.channel
            name = "" if joined else f'<div class="from_name">\n{html.escape(post.channel)}\n</div>'
            classes = "message default clearfix joined" if joined else "message default clearfix"
            blocks.append(
                f'<div class="{classes}" id="message{number}">\n<div class="body">\n'
                f"{date}\n06:33\n</div>\n{name}\n{text}\n</div>\n</div>"
            )
            previous = post.channel
        else:
            source = (
                f'<div class="from_name">\n{html.escape(post.channel)}<span class="date details"'
                ' title="26.10.2024 10:00:00 UTC+03:00"> 26.10.2024 10:00:00</span>\n</div>'
            )
            blocks.append(
                f'<div class="message default clearfix" id="message{number}">\n'
                '<div class="pull_left userpic_wrap">\n</div>\n<div class="body">\n'
                f'{date}\n06:33\n</div>\n<div class="from_name">\nАня\n</div>\n'
                f'<div class="forwarded body">\n{source}\n{text}\n</div>\n</div>\n</div>'
            )
            previous = None
    page = (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8"/>\n<title>Exported Data'
        '</title>\n</head>\n<body onload="CheckLocation();">\n<div class="page_wrap">\n'
        '<div class="page_header">\n<div class="content">\n<div class="text bold">\nАня\n'
        '</div>\n</div>\n</div>\n<div class="page_body chat_page">\n<div class="history">\n'
        + "\n".join(blocks)
        + "\n</div>\n</div>\n</div>\n</body>\n</html>\n"
    )
    path = folder / "messages.html"
    path.write_text(page, encoding="utf-8")
    return path


def _write_markdown(posts: list[Post], folder: Path) -> Path:
    notes = folder / "notes"
    notes.mkdir()
    for number, post in enumerate(posts, start=1):
        front = f"---\nchannel: {post.channel}\ndate: 2024-10-27\n---\n"
        (notes / f"{number:02}.md").write_text(front + post.text + "\n", encoding="utf-8")
    return notes


WRITERS: dict[str, Callable[[list[Post], Path], Path]] = {
    "json": _write_json,
    "html": _write_html,
    "markdown": _write_markdown,
}


@pytest.fixture
def seed_posts(seed_path: Path) -> list[Post]:
    posts = read_posts([seed_path])
    assert len(posts) == 11
    return posts


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_seed_converted_gives_the_same_eleven_posts(
    seed_posts: list[Post], tmp_path: Path, kind: str
) -> None:
    path = WRITERS[kind](seed_posts, tmp_path)
    if kind == "html":  # the seed's two "LLM под капотом" posts: a joined follow-up
        assert path.read_text(encoding="utf-8").count("clearfix joined") == 1
    converted = read_posts([path])
    assert [(p.channel, p.text) for p in converted] == [(p.channel, p.text) for p in seed_posts]
    assert len({p.id for p in converted}) == 11


def test_seed_in_every_form_at_once_is_kept_once(
    seed_posts: list[Post], seed_path: Path, tmp_path: Path
) -> None:
    inputs = [seed_path]
    for kind, write in WRITERS.items():
        folder = tmp_path / kind
        folder.mkdir()
        inputs.append(write(seed_posts, folder))
    posts = read_posts(inputs)
    assert [p.id for p in posts] == [p.id for p in seed_posts]
