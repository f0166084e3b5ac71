"""Walking a large JSON file value by value, with one window of it in memory at a time.

`json.JSONDecoder.raw_decode` does the decoding (C speed); this module only steps through
the objects and arrays around the values a reader wants, so a 100 MB export never becomes
a 100 MB string. Telegram Desktop writes control characters as `\\x0C`, which JSON
forbids; such escapes are rewritten to `\\u000C` as the text streams in. Every error names
the line and column of the file as the user sees it.
"""

from __future__ import annotations

import codecs
import json
import re
from bisect import bisect_left
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

from flashgen.errors import InputError

CHUNK_SIZE = 1 << 20

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_WHITESPACE_RE = re.compile(r"[ \t\n\r]*")
# An error this close to the end of the window may only mean the value goes on past it.
_NEAR_END = 8


def _hold_back(text: str) -> tuple[str, str]:
    """Split off a trailing escape that may continue in the next chunk (`\\`, `\\x`, `\\x0`).

    `text` starts where no escape is open, so the parity of a backslash run tells whether
    its last backslash opens an escape or closes a `\\\\` pair.
    """
    last = text.rfind("\\", max(0, len(text) - 3))
    if last < 0:
        return text, ""
    first = last
    while first > 0 and text[first - 1] == "\\":
        first -= 1
    if (last - first + 1) % 2:
        return text[:last], text[last:]
    return text, ""


class JsonStream:
    """A read position in a JSON file, which reads more of the file as the walk needs it."""

    def __init__(self, file: BinaryIO, path: Path, chunk_size: int = CHUNK_SIZE) -> None:
        self.path = path
        self._file = file
        self._chunk_size = chunk_size
        self._utf8 = codecs.getincrementaldecoder("utf-8-sig")()
        # strict=False: a raw control character in a string is the exporter's, not the user's.
        self._json = json.JSONDecoder(strict=False)
        self._buf = ""
        self._pos = 0
        self._base = 0  # offset of _buf[0] in the (repaired) text
        self._line = 1  # line number of _buf[0]
        self._line_start = 0  # offset where that line starts
        self._tail = ""  # an escape that may be split between chunks
        self._repairs: list[int] = []  # offsets of the escapes rewritten, for columns
        self._bytes = 0
        self._eof = False

    # Reading

    def _fill(self) -> bool:
        """Read the next chunk into the window; False once the file is used up."""
        if self._eof:
            return False
        self._compact()
        # Growing the read with the window keeps re-decoding a value that spans many
        # chunks linear in its size.
        data = self._file.read(max(self._chunk_size, len(self._buf)))
        try:
            text = self._utf8.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            offset = self._bytes - (len(exc.object) - len(data)) + exc.start
            raise InputError(
                self.path,
                f"is not UTF-8 text (invalid byte 0x{exc.object[exc.start]:02x} "
                f"at offset {offset})",
            ) from exc
        self._bytes += len(data)
        text = self._tail + text
        if data:
            text, self._tail = _hold_back(text)
        else:
            self._eof, self._tail = True, ""
        if "\\x" in text:
            text = self._repair(text)
        self._buf += text
        return True

    def _repair(self, text: str) -> str:
        """Rewrite each `\\xNN` escape as `\\u00NN`, noting where, for error columns."""
        start = self._base + len(self._buf)
        parts: list[str] = []
        done = 0
        found = text.find("\\x")
        while found >= 0:
            # An odd run of backslashes before `x` opens an escape; an even run is escaped
            # backslashes followed by a literal x, and stays as it is.
            first = found
            while first > 0 and text[first - 1] == "\\":
                first -= 1
            digits = text[found + 2 : found + 4]
            if (found - first) % 2 == 0 and len(digits) == 2 and set(digits) <= _HEX_DIGITS:
                earlier = len(parts) // 2  # each earlier rewrite made the text 2 longer
                self._repairs.append(start + found + 2 * earlier)
                parts += [text[done:found], "\\u00"]
                done = found + 2
            found = text.find("\\x", found + 2)
        return "".join(parts) + text[done:] if parts else text

    def _compact(self) -> None:
        """Drop what has been read from the window, keeping count of its lines."""
        if not self._pos:
            return
        newlines = self._buf.count("\n", 0, self._pos)
        if newlines:
            self._line += newlines
            self._line_start = self._base + self._buf.rfind("\n", 0, self._pos) + 1
            del self._repairs[: bisect_left(self._repairs, self._line_start)]
        self._base += self._pos
        self._buf = self._buf[self._pos :]
        self._pos = 0

    # Stepping

    def peek(self) -> str:
        """The next character that is not whitespace, or "" at the end of the file."""
        while True:
            match = _WHITESPACE_RE.match(self._buf, self._pos)
            assert match is not None
            self._pos = match.end()
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._fill():
                return ""

    def expect(self, char: str) -> None:
        """Step over `char`, the next character that is not whitespace."""
        found = self.peek()
        if found != char:
            self._unexpected(f"'{char}'")
        self._pos += 1

    def value(self) -> Any:
        """Decode the next value and step past it."""
        if not self.peek():
            self._truncated()
        while True:
            try:
                value, end = self._json.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                cut_short = exc.msg.startswith("Unterminated string") or (
                    exc.pos >= len(self._buf) - _NEAR_END
                )
                if cut_short and self._fill():
                    continue
                if cut_short and not self._buf[exc.pos :].strip():
                    self._truncated()
                if exc.msg.startswith("Unterminated string"):
                    self._truncated()
                self.fail_at(exc.pos, exc.msg[0].lower() + exc.msg[1:])
            # A number that ends with the window may go on in the next chunk.
            if end == len(self._buf) and self._fill():
                continue
            self._pos = end
            return value

    def members(self) -> Iterator[str]:
        """The keys of the object that starts here; the caller reads each value in turn."""
        self.expect("{")
        if self.peek() == "}":
            self._pos += 1
            return
        while True:
            if self.peek() != '"':
                self._unexpected("a property name in double quotes")
            key = self.value()
            self.expect(":")
            yield key
            char = self.peek()
            self._pos += 1
            if char == "}":
                return
            if char != ",":
                self._pos -= 1
                self._unexpected("',' or '}'")

    def items(self) -> Iterator[None]:
        """Step through the array that starts here; the caller reads each element in turn."""
        self.expect("[")
        if self.peek() == "]":
            self._pos += 1
            return
        while True:
            yield
            char = self.peek()
            self._pos += 1
            if char == "]":
                return
            if char != ",":
                self._pos -= 1
                self._unexpected("',' or ']'")

    def skip(self) -> None:
        """Step over the next value; an array is skipped element by element."""
        if self.peek() == "[":
            for _ in self.items():
                self.skip()
        else:
            self.value()

    def end(self) -> None:
        """Check that nothing but whitespace follows the value just read."""
        if self.peek():
            self.fail_at(self._pos, "unexpected text after the end of the JSON document")

    # Errors

    def where(self, index: int) -> tuple[int, int]:
        """The line and column (both from 1, in characters) of a window index."""
        newlines = self._buf.count("\n", 0, index)
        if newlines:
            line = self._line + newlines
            start = self._base + self._buf.rfind("\n", 0, index) + 1
        else:
            line, start = self._line, self._line_start
        offset = self._base + index
        # Each rewritten escape on this line made it two characters longer.
        repaired = bisect_left(self._repairs, offset) - bisect_left(self._repairs, start)
        return line, offset - start - 2 * repaired + 1

    def fail_at(self, index: int, problem: str) -> NoReturn:
        line, column = self.where(index)
        raise InputError(f"{self.path}:{line}:{column}", problem)

    def _truncated(self) -> NoReturn:
        while self._fill():
            pass
        self.fail_at(len(self._buf), "the JSON ends too early (is the file cut short?)")

    def _unexpected(self, wanted: str) -> NoReturn:
        found = self.peek()
        if not found:
            self._truncated()
        self.fail_at(self._pos, f"expected {wanted}, found '{found}'")
