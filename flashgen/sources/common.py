"""What every reader shares: the run's options, the chats met so far, dates and links."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from flashgen.models import ReadOptions
from flashgen.text import spaced

# Read from a full-account export unless --chat names other chats: what users learn from.
CHANNEL_TYPES = frozenset({"private_channel", "public_channel"})
DEFAULT_TYPES = CHANNEL_TYPES | {"saved_messages"}
# Chats whose posts have a t.me/c/<chat id>/<message id> link; basic groups and
# personal chats have none.
LINKABLE_TYPES = CHANNEL_TYPES | {"private_supergroup", "public_supergroup"}

_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)
_BARE_DOMAIN_RE = re.compile(r"^[\w-]+(\.[\w-]+)+(/\S*)?$")
_USERNAME_RE = re.compile(r"^(?:https?://)?(?:t\.me/|telegram\.me/)?@?", re.IGNORECASE)


def chat_key(name: str) -> str:
    """The form chat names are compared in, so `--chat "душный nlp"` finds "Душный NLP"."""
    return spaced(name).casefold()


@dataclass
class ReadContext:
    """One run's reading state: the options, where the current input starts, the chats met."""

    options: ReadOptions = field(default_factory=ReadOptions)
    # The folder the user named, for ids of notes relative to it; None for a named file.
    root: Path | None = None
    chats_seen: dict[str, str] = field(default_factory=dict)
    chats_matched: set[str] = field(default_factory=set)
    chats_skipped: set[str] = field(default_factory=set)  # not read: not a channel, say
    # A full HTML export's chat folder → chat type, per export folder, read once a run.
    html_chat_types: dict[Path, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._wanted = {chat_key(name) for name in self.options.chats}

    def wants(self, name: str, chat_type: str | None, *, full_export: bool) -> bool:
        """Whether a chat's posts are read: named by --chat, else a channel or Saved Messages."""
        key = chat_key(name)
        self.chats_seen.setdefault(key, name)
        if self._wanted:
            if key in self._wanted:
                self.chats_matched.add(key)
                return True
            return False
        # A single-chat export is read whatever its type: the user chose that chat.
        if not full_export or chat_type in DEFAULT_TYPES:
            return True
        self.chats_skipped.add(key)
        return False

    def unmatched_chats(self) -> list[str]:
        """The --chat names no export held."""
        return [name for name in self.options.chats if chat_key(name) not in self.chats_matched]

    @property
    def username(self) -> str | None:
        """The --username without the @ or t.me/ a user may paste with it."""
        raw = self.options.username
        if not raw:
            return None
        name = _USERNAME_RE.sub("", raw.strip()).strip("/")
        return name or None


def utc_iso(moment: datetime) -> str:
    """A moment as UTC ISO 8601 with an explicit offset: 2024-03-05T09:15:02+00:00."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def from_unixtime(value: object) -> str | None:
    """An export's `date_unixtime` (a string of seconds) as UTC ISO 8601, or None."""
    try:
        seconds = int(str(value))
        return utc_iso(datetime.fromtimestamp(seconds, UTC))
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def web_link(url: str) -> str | None:
    """A link fit for `Post.links`: http(s) kept, a bare domain given https, others None."""
    url = url.strip()
    if _SCHEME_RE.match(url):
        return url if url.lower().startswith(("http://", "https://")) else None
    # Telegram turns `example.com/page` into a link without a scheme.
    if _BARE_DOMAIN_RE.match(url):
        return "https://" + url
    return None


def add_link(links: list[str], url: str | None) -> None:
    """Append a link unless it is empty or already there."""
    if url and url not in links:
        links.append(url)


def post_url(
    chat_id: object, chat_type: str | None, message_id: object, username: str | None
) -> str | None:
    """The t.me link of a post, when its chat has one (an unknown type may: HTML has none)."""
    if chat_type is not None and chat_type not in LINKABLE_TYPES:
        return None
    if username:
        return f"https://t.me/{username}/{message_id}"
    if chat_id is not None:
        return f"https://t.me/c/{chat_id}/{message_id}"
    return None
