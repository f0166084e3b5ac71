"""Telling input formats apart by their content, whatever the file is called.

- a JSON object (or array) → a Telegram Desktop JSON export;
- HTML markup → a Telegram Desktop HTML export page;
- text opening with `---` front matter → a note (one post);
- text with `Forwarded from <channel>` lines → posts pasted from Telegram, split at them;
- other text: a file inside a folder the user named is a note (one post, its id from its
  path); a file named on its own is one pasted post, as before notes were read.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

from flashgen.errors import InputError
from flashgen.sources.markdown import has_front_matter
from flashgen.sources.pasted import looks_pasted

Format = Literal["pasted", "json", "html", "markdown"]
Kind = Literal["json", "html", "text"]

_SNIFF_BYTES = 8192
_JSON_RE = re.compile(r'^(\{\s*("|\}|$)|\[\s*(\{|\[|"|\]|$))')
_HTML_RE = re.compile(r"^<(!doctype\s+html|html|head|body|meta|div)\b", re.IGNORECASE)


def _is_json(text: str) -> bool:
    """Whether a whole (small) file is JSON, such as `[1, 2]`, which no note starts like."""
    if not text.startswith(("{", "[")):
        return False
    try:
        json.loads(text, strict=False)
    except ValueError:
        return False
    return True


def sniff(path: Path) -> Kind:
    """Whether a file holds JSON, HTML or text, from its first bytes."""
    try:
        with path.open("rb") as file:
            head = file.read(_SNIFF_BYTES)
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror or exc})") from exc
    if b"\x00" in head:
        raise InputError(path, "is a binary file, not text")
    start = head.decode("utf-8-sig", errors="ignore").lstrip()
    if _JSON_RE.match(start) or (len(head) < _SNIFF_BYTES and _is_json(start)):
        return "json"
    if _HTML_RE.match(start):
        return "html"
    return "text"


def text_format(text: str, *, in_folder: bool) -> Format:
    """Notes or pasted posts, for a file that is neither JSON nor HTML."""
    if has_front_matter(text):
        return "markdown"
    if looks_pasted(text):
        return "pasted"
    return "markdown" if in_folder else "pasted"
