"""Clean: raw lines become a post's text, with nothing lost and nothing twice.

Posts pasted from Telegram's web preview hold the body twice: a preview copy and a full
copy that differ (code only in one, a truncated last sentence, strikethrough text glued
into a word, different first lines). Cleaning splits the lines into copies, aligns each
copy with what came before, and keeps the longer variant of every line once, in the
order both copies agree on.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from difflib import SequenceMatcher

from flashgen.models import Post, RawPost
from flashgen.text import REACTIONS_RE, line_key, readable, safe_link

# Telegram's web-preview chrome; never part of what the author wrote.
NOISE_LINES = frozenset({"please open telegram to view this post", "view in telegram"})

URL_RE = re.compile(r"https?://[^\s<>\"'«»]+")
_TRAILING_URL_PUNCT = ".,;:!?»\"'…"

# Below this length a line is too short to call two lines "the same sentence" unless equal.
_MIN_VARIANT = 16
# Characters that make a short line look like code, whose repeats are real (`)`, `x = 1`).
_CODE_CHARS = frozenset("=(){}[];:<>")


def is_noise(line: str) -> bool:
    """Telegram's chrome, not the author's words: web-preview lines, reaction counters."""
    key = line_key(line)
    return key.casefold() in NOISE_LINES or REACTIONS_RE.fullmatch(key) is not None


def _distinctive(key: str) -> bool:
    """Whether a repeat of this line can only be a second copy, not a legitimate repeat.

    `)` or `else:` recur inside one code block, so such lines merge only where the two
    copies line up; a sentence, a URL or a channel name said twice is a duplicate.
    """
    if len(key) >= _MIN_VARIANT:
        return True
    if not any(ch.isalpha() for ch in key) or any(ch in _CODE_CHARS for ch in key):
        return False
    return not re.fullmatch(r"[a-z_]+", key)


def is_variant(a: str, b: str) -> bool:
    """Whether two keys are one sentence: equal, or the shorter is the longer minus one span.

    The missing span is a truncated end, a cut beginning, or strikethrough text glued in.
    """
    if a == b:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) < _MIN_VARIANT:
        return False
    prefix = 0
    for x, y in zip(short, long_, strict=False):
        if x != y:
            break
        prefix += 1
    if prefix >= len(short):
        return True
    suffix = 0
    limit = len(short) - prefix
    while suffix < limit and short[-1 - suffix] == long_[-1 - suffix]:
        suffix += 1
    return prefix + suffix >= len(short)


class _VariantIndex:
    """Finds earlier lines that are variants of a new one without comparing every pair.

    A variant shares at least half of the shorter key at its start or its end, so it
    shares the first or the last eight characters.
    """

    _EDGE = 8

    def __init__(self) -> None:
        self._by_edge: dict[tuple[str, str], list[int]] = {}
        self._keys: dict[int, str] = {}

    def add(self, index: int, key: str) -> None:
        self._keys[index] = key
        for edge in self._edges(key):
            self._by_edge.setdefault(edge, []).append(index)

    def find(self, key: str) -> list[int]:
        seen: set[int] = set()
        found = []
        for edge in self._edges(key):
            for index in self._by_edge.get(edge, ()):
                if index not in seen and is_variant(self._keys[index], key):
                    seen.add(index)
                    found.append(index)
        return sorted(found)

    def _edges(self, key: str) -> Iterator[tuple[str, str]]:
        yield ("head", key[: self._EDGE])
        yield ("tail", key[-self._EDGE :])


def _longer(a: str, b: str) -> str:
    return b if len(line_key(b)) > len(line_key(a)) else a


def _segments(lines: list[str]) -> list[list[str]]:
    """Split lines into copies: a new copy starts where a line repeats one of the current copy."""
    segments: list[list[str]] = [[]]
    index = _VariantIndex()
    for line in lines:
        key = line_key(line)
        if _distinctive(key) and index.find(key):
            segments.append([])
            index = _VariantIndex()
        segments[-1].append(line)
        if _distinctive(key):
            index.add(len(segments[-1]) - 1, key)
    segments = [segment for segment in segments if segment]
    _fix_junctions(segments)
    return segments


def _fix_junctions(segments: list[list[str]]) -> None:
    """Give the lines between two copies to the copy they belong to.

    A copy is only detected at its first repeated line, so a differing first line of the
    second copy lands at the end of the first. When the second copy also repeats the
    first one's ending in full, those in-between lines cannot be the first copy's tail:
    they open the second copy. When the second copy stops short (its last matched line
    is truncated), they are the first copy's tail and stay.
    """
    for t in range(len(segments) - 1):
        previous, current = segments[t], segments[t + 1]
        index = _VariantIndex()
        for i, line in enumerate(previous):
            key = line_key(line)
            if _distinctive(key):
                index.add(i, key)
        last_matched = -1
        complete = False
        for line in current:
            key = line_key(line)
            if not _distinctive(key):
                continue
            for i in index.find(key):
                if i > last_matched:
                    last_matched = i
                    complete = line_key(previous[i]) == key
                elif i == last_matched:
                    complete = complete or line_key(previous[i]) == key
        if last_matched < 0 or not complete:
            continue
        junction = previous[last_matched + 1 :]
        if junction:
            del previous[last_matched + 1 :]
            current[:0] = junction


def _merge(merged: list[str], copy: list[str]) -> list[str]:
    """Align a copy with the lines kept so far and keep the union in agreed order."""
    ids: dict[str, int] = {}
    index = _VariantIndex()
    merged_ids = []
    for i, line in enumerate(merged):
        key = line_key(line)
        merged_ids.append(ids.setdefault(key, len(ids)))
        if _distinctive(key):
            index.add(i, key)
    copy_ids = []
    for line in copy:
        key = line_key(line)
        if key in ids:
            copy_ids.append(ids[key])
            continue
        matches = index.find(key) if _distinctive(key) else []
        copy_ids.append(merged_ids[matches[0]] if matches else ids.setdefault(key, len(ids)))
    out: list[str] = []
    matcher = SequenceMatcher(None, merged_ids, copy_ids, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.extend(_longer(a, b) for a, b in zip(merged[i1:i2], copy[j1:j2], strict=True))
        else:
            out.extend(merged[i1:i2])
            out.extend(copy[j1:j2])
    return out


def _drop_repeats(lines: list[str]) -> list[str]:
    """Keep each distinctive line once, as its longest variant, where it first appeared."""
    out: list[str | None] = []
    index = _VariantIndex()
    for line in lines:
        key = line_key(line)
        if _distinctive(key):
            found = index.find(key)
            if found:
                first = found[0]
                kept = out[first]
                assert kept is not None
                out[first] = _longer(kept, line)
                continue
            index.add(len(out), key)
        out.append(line)
    return [line for line in out if line is not None]


def merge_copies(lines: Iterable[str]) -> list[str]:
    """The distinct lines of a post pasted with several copies of its body, with a blank
    line before each that opened a paragraph in a copy."""
    content: list[str] = []
    # Blank lines would break the alignment of copies, so they are set aside and put back:
    # a paragraph break is where some copy had one before the same line.
    opens_paragraph: set[str] = set()
    blank = False
    for line in lines:
        line = line.strip()
        if not line:
            blank = True
        elif not is_noise(line):
            if blank and content:
                opens_paragraph.add(line_key(line))
            blank = False
            content.append(line)
    merged: list[str] = []
    for copy in _segments(content):
        merged = _merge(merged, copy) if merged else list(copy)
    out: list[str] = []
    for line in _drop_repeats(merged):
        if out and line_key(line) in opens_paragraph:
            out.append("")
        out.append(line)
    return out


def _tidy(lines: Iterable[str]) -> list[str]:
    """Trailing spaces off, noise out, at most one blank line in a row, none at the ends."""
    out: list[str] = []
    for line in lines:
        line = line.rstrip()
        if is_noise(line):
            continue
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return out


def find_links(text: str) -> list[str]:
    """The URLs in a text, in order, each once."""
    links: list[str] = []
    for match in URL_RE.finditer(text):
        url = match.group(0).rstrip(_TRAILING_URL_PUNCT)
        # A closing parenthesis belongs to the URL only when the URL opened one.
        while url.endswith(")") and url.count("(") < url.count(")"):
            url = url[:-1].rstrip(_TRAILING_URL_PUNCT)
        if url not in links:
            links.append(url)
    return links


def post_id(channel: str, text: str) -> str:
    """A stable id from the channel and the content, so reordering posts keeps ids."""
    digest = hashlib.sha256(f"{channel}\n{line_key(text)}".encode()).hexdigest()
    return digest[:12]


def clean(raw: RawPost, source: str | None = None) -> Post | None:
    """A raw post as a Post, or None when nothing but noise is left; `source` names its
    file, kept when the post's id comes from its content."""
    # The one place every post passes: control characters go here, whatever the reader.
    readable_lines = [part for line in raw.lines for part in readable(line).split("\n")]
    lines = merge_copies(readable_lines) if raw.merge_copies else _tidy(readable_lines)
    text = "\n".join(lines).strip()
    if not text:
        return None
    channel = " ".join(readable(raw.channel).split()) or raw.channel
    links = [link for link in map(safe_link, raw.links) if link]
    links.extend(url for url in find_links(text) if url not in links)
    return Post(
        id=raw.native_id or post_id(channel, text),
        channel=channel,
        date=raw.date,
        url=safe_link(raw.url),
        text=text,
        links=tuple(links),
        source=None if raw.native_id else source,
    )
