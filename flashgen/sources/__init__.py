"""Sources: turn input files and folders into cleaned posts."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from flashgen.clean import clean
from flashgen.errors import InputError
from flashgen.models import Post, RawPost
from flashgen.sources.files import expand_inputs, read_text
from flashgen.sources.pasted import parse_pasted

__all__ = ["read_file", "read_posts"]


def read_file(path: Path) -> list[Post]:
    """The cleaned posts of one file; an InputError when it holds none."""
    raws: list[RawPost] = parse_pasted(read_text(path), path)
    posts = [post for post in (clean(raw) for raw in raws) if post is not None]
    if not posts:
        raise InputError(path, "holds no posts")
    return posts


def read_posts(paths: Iterable[str | Path]) -> list[Post]:
    """Every post in the inputs, in input order; the same post arriving twice is kept once."""
    posts: dict[str, Post] = {}
    for path in expand_inputs(paths):
        for post in read_file(path):
            posts.setdefault(post.id, post)
    return list(posts.values())
