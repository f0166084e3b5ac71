"""Telegram Desktop's JSON export (`result.json`): one chat, or a whole account's chats."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flashgen.errors import InputError
from flashgen.models import RawPost
from flashgen.sources.common import (
    ReadContext,
    add_link,
    from_unixtime,
    post_url,
    utc_iso,
    web_link,
)
from flashgen.sources.jsonstream import JsonStream
from flashgen.text import readable

# Names the exporter leaves out: Saved Messages and Replies have no `name`.
_UNNAMED = {"saved_messages": "Saved Messages", "replies": "Replies"}


@dataclass
class _Chat:
    name: str | None = None
    type: str | None = None
    id: Any = None

    def take(self, key: str, value: Any) -> None:
        if key == "name" and isinstance(value, str):
            self.name = value
        elif key == "type" and isinstance(value, str):
            self.type = value
        elif key == "id":
            self.id = value

    @property
    def known(self) -> bool:
        return self.name is not None or self.id is not None or self.type is not None

    def title(self, path: Path) -> str:
        return self.name or _UNNAMED.get(self.type or "") or f"chat {self.id or path.stem}"


def read_json_export(path: Path, ctx: ReadContext) -> Iterator[RawPost]:
    """The posts of a JSON export, streamed: chats chosen by `ctx`, service messages skipped."""
    try:
        file = path.open("rb")
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror or exc})") from exc
    with file:
        stream = JsonStream(file, path)
        if stream.peek() != "{":
            raise InputError(path, "is JSON but not a Telegram Desktop export")
        yield from _read_root(stream, ctx)


def _read_root(stream: JsonStream, ctx: ReadContext) -> Iterator[RawPost]:
    chat = _Chat()
    pending: Any = None
    found = False
    for key in stream.members():
        if key == "messages":
            # A single-chat export: the chat's fields sit beside its messages.
            found = True
            if chat.known:
                yield from _read_messages(stream, chat, ctx, full_export=False)
            else:
                pending = stream.value()
        elif key in ("chats", "left_chats"):
            # A full-account export: {"about": …, "list": [chat, …]}.
            found = True
            for section in stream.members():
                if section == "list":
                    for _ in stream.items():
                        yield from _read_chat(stream, ctx)
                else:
                    stream.skip()
        elif key in ("name", "type", "id"):
            chat.take(key, stream.value())
        else:
            stream.skip()
    stream.end()
    if not found:
        raise InputError(
            stream.path, 'is JSON but not a Telegram Desktop export (no "messages" or "chats")'
        )
    if pending is not None:
        yield from _posts(pending, chat, ctx, stream.path, full_export=False)


def _read_chat(stream: JsonStream, ctx: ReadContext) -> Iterator[RawPost]:
    chat = _Chat()
    pending: Any = None
    for key in stream.members():
        if key == "messages":
            if chat.known:
                yield from _read_messages(stream, chat, ctx, full_export=True)
            else:
                pending = stream.value()
        elif key in ("name", "type", "id"):
            chat.take(key, stream.value())
        else:
            stream.skip()
    if pending is not None:
        yield from _posts(pending, chat, ctx, stream.path, full_export=True)


def _read_messages(
    stream: JsonStream, chat: _Chat, ctx: ReadContext, *, full_export: bool
) -> Iterator[RawPost]:
    if not ctx.wants(chat.title(stream.path), chat.type, full_export=full_export):
        stream.skip()
        return
    for _ in stream.items():
        raw = message_post(stream.value(), chat, ctx, stream.path)
        if raw is not None:
            yield raw


def _posts(
    messages: Any, chat: _Chat, ctx: ReadContext, path: Path, *, full_export: bool
) -> Iterator[RawPost]:
    """Messages read before their chat's name (not the exporter's order, but valid JSON)."""
    if not isinstance(messages, list):
        return
    if not ctx.wants(chat.title(path), chat.type, full_export=full_export):
        return
    for message in messages:
        raw = message_post(message, chat, ctx, path)
        if raw is not None:
            yield raw


def flatten_text(text: Any) -> tuple[str, list[str]]:
    """A message's `text` (a string, or a list of strings and entities) and its links."""
    parts: list[str] = []
    links: list[str] = []
    _flatten(text, parts, links)
    return "".join(parts), links


def _flatten(node: Any, parts: list[str], links: list[str]) -> None:
    if isinstance(node, str):
        parts.append(node)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, str):  # most pieces: no call needed
                parts.append(item)
            else:
                _flatten(item, parts, links)
    elif isinstance(node, dict):
        kind = node.get("type")
        if kind == "text_link":
            add_link(links, web_link(str(node.get("href") or "")))
        # An entity's text is a string; a list is flattened too, should entities nest.
        inner: list[str] = []
        _flatten(node.get("text", ""), inner, links)
        text = "".join(inner)
        if kind == "link":
            add_link(links, web_link(text))
        parts.append(text)


def _date(message: dict[str, Any]) -> str | None:
    date = from_unixtime(message.get("date_unixtime"))
    if date is None and isinstance(message.get("date"), str):
        # Exports older than `date_unixtime` hold local time without an offset; UTC is
        # the best guess left.
        try:
            date = utc_iso(datetime.fromisoformat(message["date"]))
        except ValueError:
            date = None
    return date


def message_post(message: Any, chat: _Chat, ctx: ReadContext, path: Path) -> RawPost | None:
    """One exported message as a raw post, or None for service messages and bare media."""
    if not isinstance(message, dict) or message.get("type", "message") != "message":
        return None
    text, links = flatten_text(message.get("text", ""))
    if not text.strip():
        # `text_entities` is the same text as a list; only `text` may be missing.
        text, links = flatten_text(message.get("text_entities", ""))
    text = readable(text)
    if not text.strip():
        # Stickers, photos without a caption, polls: nothing to learn from.
        return None
    message_id = message.get("id")
    forwarded = message.get("forwarded_from")
    chat_ref = chat.id if chat.id is not None else path.stem
    return RawPost(
        source=str(path),
        channel=forwarded if isinstance(forwarded, str) and forwarded else chat.title(path),
        lines=tuple(text.split("\n")),
        date=_date(message),
        url=post_url(chat.id, chat.type, message_id, ctx.username)
        if message_id is not None
        else None,
        native_id=f"{chat_ref}/{message_id}" if message_id is not None else None,
        links=tuple(links),
    )
