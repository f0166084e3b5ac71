"""Sources: turn input files and folders into cleaned posts.

Inputs are pasted posts, Telegram Desktop exports (JSON or HTML) and folders of notes, in
any mix; `detect` tells them apart by content. Inside a folder only text, Markdown, JSON
and HTML files are read, so an export's photos, styles and scripts are passed over.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from flashgen.clean import clean, post_id
from flashgen.errors import FlashgenError, InputError
from flashgen.models import Post, RawPost, ReadOptions
from flashgen.sources.common import ReadContext
from flashgen.sources.detect import sniff, text_format
from flashgen.sources.files import expand_inputs, read_text
from flashgen.sources.markdown import parse_markdown
from flashgen.sources.pasted import parse_pasted
from flashgen.sources.telegram_html import read_html_export
from flashgen.sources.telegram_json import read_json_export

__all__ = ["iter_posts", "read_file", "read_posts"]

FOLDER_SUFFIXES = frozenset({".txt", ".text", ".md", ".markdown", ".json", ".html", ".htm"})
# messages.html, messages2.html, …, messages10.html: one chat's pages, read in this order.
_PAGE_RE = re.compile(r"^messages(\d*)\.html?$", re.IGNORECASE)
_MAX_NAMES_SHOWN = 10


def _raw_posts(path: Path, ctx: ReadContext) -> Iterable[RawPost]:
    """The raw posts of one file, read as the format it holds (or the one forced)."""
    fmt = ctx.options.format
    kind = sniff(path) if fmt == "auto" else None
    if fmt == "json" or kind == "json":
        return read_json_export(path, ctx)
    text = read_text(path)
    if fmt == "html" or kind == "html":
        return read_html_export(text, path, ctx)
    if fmt == "auto":
        fmt = text_format(text, in_folder=ctx.root is not None)
    if fmt == "markdown":
        return parse_markdown(text, path, ctx)
    return parse_pasted(text, path)


def _page_number(path: Path) -> int:
    match = _PAGE_RE.match(path.name)
    return int(match.group(1) or 1) if match else 0


def _files(paths: Iterable[str | Path]) -> list[tuple[int, Path | None, Path]]:
    """(input index, folder named or None, file) for every file to read, pages in order."""
    found: list[tuple[int, Path | None, Path]] = []
    for index, raw in enumerate(paths):
        path = Path(raw)
        files = expand_inputs([path])
        if path.is_dir():
            files = [f for f in files if f.suffix.lower() in FOLDER_SUFFIXES]
            if not files:
                raise InputError(path, "folder holds no text, Markdown, JSON or HTML files")
            found.extend((index, path, f) for f in files)
        else:
            found.extend((index, None, f) for f in files)
    # A chat's pages sort as messages.html, messages10.html, messages2.html, by name or by
    # the shell's glob; they are read in page order, where the first of them stood.
    pages: dict[Path, list[tuple[int, Path | None, Path]]] = {}
    for entry in found:
        if _PAGE_RE.match(entry[2].name):
            pages.setdefault(entry[2].parent, []).append(entry)
    ordered: list[tuple[int, Path | None, Path]] = []
    for entry in found:
        folder = entry[2].parent
        if not _PAGE_RE.match(entry[2].name):
            ordered.append(entry)
        elif folder in pages:
            ordered.extend(sorted(pages.pop(folder), key=lambda e: _page_number(e[2])))
    return ordered


def _same_text_key(post: Post) -> str:
    """A post's channel and text, hashed as a pasted post's id is: two copies of one post
    share it. Marked apart from ids, which an export's message ids may equal."""
    return "text:" + post_id(post.channel, post.text)


def _names(names: Iterable[str]) -> str:
    shown = [f'"{name}"' for name in names]
    if len(shown) > _MAX_NAMES_SHOWN:
        shown = [*shown[:_MAX_NAMES_SHOWN], f"and {len(shown) - _MAX_NAMES_SHOWN} more"]
    return ", ".join(shown) or "none"


def input_files(paths: Iterable[str | Path]) -> list[Path]:
    """The files a build of these inputs reads, in the order it reads them."""
    return [path for _, _, path in _files(paths)]


def iter_posts(paths: Iterable[str | Path], options: ReadOptions | None = None) -> Iterator[Post]:
    """Every post in the inputs, in input order; the same post arriving twice comes once.

    A post is the same when it has the same id (an edited export message keeps its chat
    and message id) or the same channel and text (forwarded into two chats, or read from
    a JSON and an HTML export of one chat). The first one read is kept.
    """
    inputs = [Path(p) for p in paths]
    ctx = ReadContext(options or ReadOptions())
    seen: set[str] = set()
    counts = [0] * len(inputs)
    chats_in: list[set[str]] = [set() for _ in inputs]  # the chats each input left unread
    for index, root, path in _files(inputs):
        ctx.root = root
        before = set(ctx.chats_skipped)
        # The file as the user named it (a folder's files below that folder's name): two
        # files of one name in two folders are two files.
        name = path.as_posix()
        for raw in _raw_posts(path, ctx):
            post = clean(raw, name)
            if post is None:
                continue
            counts[index] += 1
            same_text = _same_text_key(post)
            if post.id in seen or same_text in seen:
                continue
            seen.update((post.id, same_text))
            yield post
        chats_in[index] |= ctx.chats_skipped - before
    missing = ctx.unmatched_chats()
    if missing:
        raise FlashgenError(
            f"--chat {_names(missing)}: no such chat in the exports read "
            f"(chats found: {_names(ctx.chats_seen.values())})"
        )
    if ctx.options.chats:
        # An export without the chats named may rightly give nothing; all of them may not.
        if not any(counts):
            raise FlashgenError(
                f"the chats named with --chat ({_names(ctx.options.chats)}) hold no posts"
            )
        return
    for path, count, chats in zip(inputs, counts, chats_in, strict=True):
        if not count and chats:
            # An export whose chats are none of the default selection (channels and Saved
            # Messages): say what it does hold, and how to read it.
            names = [ctx.chats_seen[key] for key in sorted(chats)]
            raise InputError(
                path,
                f"holds no channel posts or Saved Messages; its chats are {_names(names)}: "
                f'read one with --chat "{names[0]}"',
            )
        if not count:
            raise InputError(path, "holds no posts")


def read_posts(paths: Iterable[str | Path], options: ReadOptions | None = None) -> list[Post]:
    """Every post in the inputs, in input order, each once; an InputError for bad input."""
    return list(iter_posts(paths, options))


def read_file(path: Path, options: ReadOptions | None = None) -> list[Post]:
    """The cleaned posts of one file; an InputError when it holds none."""
    return read_posts([path], options)
