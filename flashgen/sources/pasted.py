"""Posts pasted from Telegram's web preview or forwarded-message view (plain text)."""

from __future__ import annotations

import re
from pathlib import Path

from flashgen.models import RawPost

HEADER_RE = re.compile(r"^\s*Forwarded from\s+(?P<channel>\S.*?)\s*$")


def parse_pasted(text: str, path: Path) -> list[RawPost]:
    """Split text at `Forwarded from <channel>` lines; a file without them is one post."""
    posts: list[RawPost] = []
    channel = path.stem
    lines: list[str] = []

    def flush() -> None:
        if any(line.strip() for line in lines):
            posts.append(
                RawPost(source=str(path), channel=channel, lines=tuple(lines), merge_copies=True)
            )

    for line in text.split("\n"):
        match = HEADER_RE.match(line)
        if match:
            flush()
            channel = match.group("channel")
            lines = []
        else:
            lines.append(line)
    flush()
    return posts


def looks_pasted(text: str) -> bool:
    return any(HEADER_RE.match(line) for line in text.split("\n", 200)[:200])
