"""Long posts in sections: a Markdown article or a long export message is sent to the model
in parts of bounded size, each its own request, and the cards come back under the post.

A section ends at a paragraph or a heading where it can, else at a line end, else at a
sentence end, and only as a last resort inside a sentence, at a space. Sections keep the
post's channel, date and link; their ids are the post's with `§n`, so each has its own
cache entry, and `owner` maps them back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from flashgen.models import Post

_SECTION_MARK = "§"
_HEADING_RE = re.compile(r"^(?:#{1,6}\s|\S.{0,80}:$)")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?…])\s+")


def _pieces(text: str, limit: int) -> list[str]:
    """The text cut into pieces of at most `limit` characters at the best boundaries."""
    if len(text) <= limit:
        return [text]
    for pattern in (r"\n\s*\n", r"\n", _SENTENCE_END_RE.pattern, r"\s+"):
        parts = [p for p in re.split(pattern, text) if p.strip()]
        if len(parts) > 1:
            glue = "\n\n" if pattern == r"\n\s*\n" else "\n" if pattern == r"\n" else " "
            return _pack(parts, limit, glue)
    return [text[i : i + limit] for i in range(0, len(text), limit)]


def _pack(parts: Iterable[str], limit: int, glue: str) -> list[str]:
    """Consecutive parts joined into pieces up to `limit`; a heading opens a new piece once
    the current one is half full, so a section reads as a unit."""
    out: list[str] = []
    current = ""
    for part in parts:
        for piece in _pieces(part, limit) if len(part) > limit else [part]:
            heading = bool(_HEADING_RE.match(piece)) and len(current) >= limit // 2
            if current and (heading or len(current) + len(glue) + len(piece) > limit):
                out.append(current)
                current = piece
            else:
                current = f"{current}{glue}{piece}" if current else piece
    if current:
        out.append(current)
    return out


def split_long_posts(posts: Sequence[Post], limit: int) -> tuple[list[Post], dict[str, str]]:
    """The posts with each one longer than `limit` characters replaced by its sections,
    and section id → post id for every section made."""
    out: list[Post] = []
    owner: dict[str, str] = {}
    for post in posts:
        if len(post.text) <= limit:
            out.append(post)
            continue
        for number, text in enumerate(_pieces(post.text, limit), 1):
            section = post.model_copy(
                update={"id": f"{post.id}{_SECTION_MARK}{number}", "text": text}
            )
            owner[section.id] = post.id
            out.append(section)
    return out, owner
