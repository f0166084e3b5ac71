"""Notes: one post per Markdown or text file, with optional front matter.

    ---
    channel: Душный NLP
    date: 2024-03-05
    url: https://t.me/dushnlp/123
    title: Алаймент LlaMA 3.1
    ---
    The body is the post's text.

Other front-matter keys (tags, aliases, …) are left alone: note apps write many.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

from flashgen.errors import InputError
from flashgen.models import RawPost
from flashgen.sources.common import ReadContext, utc_iso

_KEYS = frozenset({"channel", "date", "url", "title"})
_FIELD_RE = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s*(.*?)\s*$")
# What may sit between the fences besides `key: value`: list items, nested lines, comments.
_YAML_RE = re.compile(r"^(\s+\S|\s*-\s|\s*#|\s*$)")
_MAX_FRONT_LINES = 200


def _fences(lines: list[str]) -> int | None:
    """The index of the closing fence when the text opens with front matter, else None."""
    if not lines or lines[0].strip() != "---":
        return None
    for index, line in enumerate(lines[1:_MAX_FRONT_LINES], start=1):
        if line.strip() in ("---", "..."):
            fields = lines[1:index]
            # A Markdown rule (---) above plain text is not front matter.
            if any(_FIELD_RE.match(f) for f in fields) and all(
                _FIELD_RE.match(f) or _YAML_RE.match(f) for f in fields
            ):
                return index
            return None
    return None


def has_front_matter(text: str) -> bool:
    """Whether a text opens with a `---` fenced block of `key: value` lines."""
    return _fences(text.split("\n", _MAX_FRONT_LINES)) is not None


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """The known front-matter fields (channel, date, url, title) and the body after them."""
    lines = text.split("\n")
    end = _fences(lines)
    if end is None:
        return {}, text
    fields: dict[str, str] = {}
    for line in lines[1:end]:
        match = _FIELD_RE.match(line)
        if match and match.group(1).lower() in _KEYS:
            value = match.group(2)
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            if value:
                fields[match.group(1).lower()] = value
    return fields, "\n".join(lines[end + 1 :])


def _iso_date(value: str, path: Path) -> str:
    """A front-matter date as ISO 8601: a bare date stays a date, a time becomes UTC."""
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    try:
        return utc_iso(datetime.fromisoformat(value))
    except ValueError:
        raise InputError(
            path, f'front matter date "{value}" is not an ISO 8601 date (like 2024-03-05)'
        ) from None


def parse_markdown(text: str, path: Path, ctx: ReadContext) -> list[RawPost]:
    """A note as one post; its id is its path below the folder named (else its file name)."""
    fields, body = split_front_matter(text)
    lines = body.split("\n")
    title = fields.get("title")
    first = next((line.strip().lstrip("#").strip() for line in lines if line.strip()), "")
    if title and first != title:
        lines.insert(0, title)
    if not any(line.strip() for line in lines):
        return []
    if ctx.root is not None:
        note_id = path.resolve().relative_to(ctx.root.resolve()).as_posix()
        channel = path.resolve().parent.name
    else:
        note_id, channel = path.name, path.stem
    return [
        RawPost(
            source=str(path),
            channel=fields.get("channel") or channel or path.stem,
            lines=tuple(lines),
            date=_iso_date(fields["date"], path) if "date" in fields else None,
            url=fields.get("url"),
            native_id=note_id,
        )
    ]
