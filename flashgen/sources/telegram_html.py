"""Telegram Desktop's HTML export: `messages.html`, `messages2.html`, … for each chat.

A message is `div.message.default#messageN`; a follow-up by the same sender has class
`joined` and no `div.from_name`; a forwarded message nests a `div.forwarded.body` with the
source's own `div.from_name`; the time is the `title` of `div.date.details`; the text is
`div.text`, with `<br>` for line breaks. Date separators and pins are `div.message.service`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

from flashgen.errors import InputError
from flashgen.models import RawPost
from flashgen.sources.common import (
    ReadContext,
    add_link,
    chat_key,
    post_url,
    utc_iso,
    web_link,
)
from flashgen.text import readable

_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
# 05.03.2024 12:15:02 UTC+03:00 (older exports: no zone, or a bare "UTC").
_DATE_RE = re.compile(
    r"(\d{2})\.(\d{2})\.(\d{4}) (\d{2}):(\d{2}):(\d{2})(?:\s*UTC(?:([+-])(\d{2}):?(\d{2}))?)?"
)
# Raw line breaks in the markup are indentation; `<br>` is the text's own line break.
_MARKUP_BREAK_RE = re.compile(r"[ \t\r\n]*\n[ \t\r\n]*")
_VIA_BOT_RE = re.compile(r"\s+via @\w+$")
# The type the chat list (lists/chats.html) gives each chat, in the JSON export's words.
_LISTED_TYPES = {"channel": "private_channel", "private": "personal_chat", "bot": "bot_chat"}
_SAVED_MESSAGES = "saved messages"


@dataclass
class _Message:
    id: str
    joined: bool
    service: bool
    date: str | None = None
    sender: str | None = None
    forwarded: bool = False
    source: str | None = None
    text: str | None = None
    links: list[str] = field(default_factory=list)


def _inline(text: str) -> str:
    return " ".join(text.split())


def parse_date(title: str) -> str | None:
    """The `title` of a date as UTC ISO 8601; a date without a zone is taken as UTC."""
    match = _DATE_RE.search(title)
    if not match:
        return None
    day, month, year, hour, minute, second, sign, zone_h, zone_m = match.groups()
    zone = UTC
    if sign:
        offset = timedelta(hours=int(zone_h), minutes=int(zone_m))
        zone = timezone(-offset if sign == "-" else offset)
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=zone
        )
    except ValueError:
        return None
    return utc_iso(moment)


class _ExportPage(HTMLParser):
    """One page of an HTML export: the chat's name and its messages in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.is_export = False
        self.has_history = False
        self.chat_name: str | None = None
        self.messages: list[_Message] = []
        self._stack: list[str] = []
        self._header = -1
        self._message: _Message | None = None
        self._message_depth = -1
        self._forwarded_depth = -1
        self._media_depth = -1
        self._capture: list[str] | None = None
        self._capture_kind = ""
        self._capture_depth = -1
        self._skip_depth = -1
        self._anchors: list[tuple[str, int, int]] = []  # href, start in _capture, depth

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag in _VOID:
            if tag == "br" and self._capturing():
                assert self._capture is not None
                self._capture.append("\n")
            return
        self._stack.append(tag)
        depth = len(self._stack)
        classes = set(attributes.get("class", "").split())
        if tag == "a" and self._capture_kind == "text" and self._capture is not None:
            self._anchors.append((attributes.get("href", ""), len(self._capture), depth))
        elif tag == "span" and self._capture_kind in ("sender", "source"):
            # The forwarded name carries the original post's date in a span.
            if classes & {"date", "details"} and self._skip_depth < 0:
                self._skip_depth = depth
        elif tag == "div":
            self._open_div(classes, attributes, depth)

    def _open_div(self, classes: set[str], attributes: dict[str, str], depth: int) -> None:
        if classes & {"page_wrap", "page_header", "history"}:
            self.is_export = True
        if "history" in classes:
            self.has_history = True
        if "page_header" in classes:
            self._header = depth
        element_id = attributes.get("id", "")
        if "message" in classes and element_id.startswith("message"):
            self._message = _Message(
                id=element_id.removeprefix("message"),
                joined="joined" in classes,
                service="service" in classes,
            )
            self._message_depth = depth
            return
        if self._message is None:
            if self._header >= 0 and "text" in classes:
                self._start_capture("header", depth)
            return
        inside_forwarded = self._forwarded_depth >= 0
        if "media_wrap" in classes:
            self._media_depth = depth
        elif {"forwarded", "body"} <= classes:
            self._message.forwarded = True
            self._forwarded_depth = depth
        elif "from_name" in classes:
            self._start_capture("source" if inside_forwarded else "sender", depth)
        elif {"date", "details"} <= classes and not inside_forwarded:
            self._message.date = parse_date(attributes.get("title", ""))
        elif "text" in classes and self._media_depth < 0 and self._message.text is None:
            self._start_capture("text", depth)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self._stack:
            return  # a stray end tag; browsers ignore it too
        while self._stack:
            depth = len(self._stack)
            closed = self._stack.pop()
            self._close(closed, depth)
            if closed == tag:
                return

    def _close(self, tag: str, depth: int) -> None:
        if self._anchors and self._anchors[-1][2] == depth:
            href, start, _ = self._anchors.pop()
            assert self._capture is not None
            self._anchor_link(href, "".join(self._capture[start:]))
        if depth == self._skip_depth:
            self._skip_depth = -1
        if depth == self._capture_depth:
            self._finish_capture()
        if depth == self._media_depth:
            self._media_depth = -1
        if depth == self._forwarded_depth:
            self._forwarded_depth = -1
        if depth == self._header:
            self._header = -1
        if depth == self._message_depth and self._message is not None:
            self.messages.append(self._message)
            self._message, self._message_depth = None, -1

    def handle_data(self, data: str) -> None:
        if self._capturing():
            assert self._capture is not None
            if self._capture_kind == "text":
                data = _MARKUP_BREAK_RE.sub("\x00", data)
            self._capture.append(data)

    def _capturing(self) -> bool:
        return self._capture is not None and self._skip_depth < 0

    def _start_capture(self, kind: str, depth: int) -> None:
        self._capture, self._capture_kind, self._capture_depth = [], kind, depth

    def _finish_capture(self) -> None:
        text = "".join(self._capture or [])
        kind = self._capture_kind
        self._capture, self._capture_kind, self._capture_depth = None, "", -1
        if kind == "header":
            self.chat_name = self.chat_name or _inline(text)
        elif self._message is None:
            return
        elif kind == "sender":
            self._message.sender = _VIA_BOT_RE.sub("", _inline(text))
        elif kind == "source":
            self._message.source = _VIA_BOT_RE.sub("", _inline(text))
        elif kind == "text":
            # \x00 marks markup line breaks: gone at the ends of a line, a space inside it.
            lines = [line.strip("\x00").replace("\x00", " ") for line in text.split("\n")]
            self._message.text = readable("\n".join(lines))

    def _anchor_link(self, href: str, text: str) -> None:
        assert self._message is not None
        text = text.replace("\x00", " ").strip()
        # Mentions link to t.me/<user>, hashtags and custom emoji to nothing or a local file.
        if text.startswith("@"):
            return
        if href.lower().startswith(("http://", "https://")):
            add_link(self._message.links, href)
        elif href and href == text:
            add_link(self._message.links, web_link(href))


def _chat_types(root: Path, ctx: ReadContext) -> dict[str, str]:
    """Chat folder → chat type, from a full export's lists/chats.html ({} when absent)."""
    if root in ctx.html_chat_types:
        return ctx.html_chat_types[root]
    types: dict[str, str] = {}
    listing = root / "lists" / "chats.html"
    try:
        text = listing.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    for match in re.finditer(
        r'<a class="entry[^"]*" href="[./]*chats/(?P<folder>[^/"]+)/messages\d*\.html[^"]*">'
        r'.*?<div class="pull_right info details">\s*(?P<type>\w+)\s*</div>'
        r'.*?<div class="name bold">\s*(?P<name>.*?)\s*</div>',
        text,
        re.DOTALL,
    ):
        name = chat_key(match.group("name"))
        kind = "saved_messages" if name == _SAVED_MESSAGES else match.group("type")
        types[match.group("folder")] = _LISTED_TYPES.get(kind, kind)
    ctx.html_chat_types[root] = types
    return types


def read_html_export(text: str, path: Path, ctx: ReadContext) -> list[RawPost]:
    """The posts of one page of an HTML export, chosen and linked as `ctx` says."""
    page = _ExportPage()
    page.feed(text)
    page.close()
    if not page.is_export:
        raise InputError(path, "is HTML but not a Telegram Desktop export")
    if not page.has_history:
        if ctx.root is None:
            raise InputError(
                path, "is a page of a Telegram export without messages (give messages.html)"
            )
        return []  # export_results.html, lists/*.html: the export's index pages
    chat_name = page.chat_name or path.parent.name
    # In a full export each chat sits in chats/chat_NNN/ and the chat list says its type.
    listed = (
        _chat_types(path.parent.parent.parent, ctx) if path.parent.parent.name == "chats" else {}
    )
    chat_type = listed.get(path.parent.name)
    if not ctx.wants(chat_name, chat_type, full_export=bool(listed)):
        return []
    chat_ref = hashlib.sha256(chat_key(chat_name).encode()).hexdigest()[:8]
    posts: list[RawPost] = []
    sender: str | None = None
    source: str | None = None
    for message in page.messages:
        if message.service:
            continue
        # A joined message is the previous sender's (and the previous source's) follow-up.
        sender = message.sender or (sender if message.joined else None)
        if message.forwarded:
            source = message.source or (source if message.joined else None)
        else:
            source = None
        if not message.text or not message.text.strip():
            continue
        posts.append(
            RawPost(
                source=str(path),
                # Saved Messages shows a saved post's channel as its sender, without a
                # forwarded body; in a channel the sender is the channel.
                channel=source or sender or chat_name,
                lines=tuple(message.text.split("\n")),
                date=message.date,
                url=post_url(None, chat_type, message.id, ctx.username),
                native_id=f"{chat_ref}/{message.id}",
                links=tuple(message.links),
            )
        )
    return posts
