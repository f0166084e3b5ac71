"""The response cache: one SQLite file, one row per answered request.

A row is keyed by everything that shapes the answer (the post text, the rendered prompt,
the model, the structured-output mode and the sampling parameters), so an unchanged
rebuild asks the server nothing, an edited post asks once, and an edited prompt asks
again for every post. Each response is committed as it arrives (WAL), so a build that is
interrupted or killed loses only the requests in flight. No credential is ever stored.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import time
from array import array
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from pydantic import BaseModel, ConfigDict

from flashgen.errors import CacheError, FlashgenError

SCHEMA_VERSION = 1


class CachedResponse(BaseModel):
    """A stored answer: the model's raw text and what it cost."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    content: str
    tokens_in: int = 0
    tokens_out: int = 0
    model: str = ""
    mode: str = ""
    post_id: str = ""


_CHECKED: set[Path] = set()


def move_aside(path: Path, target: Path, error: type[FlashgenError], what: str) -> None:
    """Move a damaged SQLite file to `target`, its WAL, shared-memory and journal files
    dropped, so that a new file can take its place."""
    try:
        path.replace(target)
        for suffix in ("-wal", "-shm", "-journal"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
    except OSError as exc:
        raise error(f"{path}: cannot move the damaged {what} aside ({exc})") from exc


def is_damaged(exc: BaseException) -> bool:
    """Whether SQLite said the file is not a database or is malformed (not: locked)."""
    cause = exc.__cause__
    return isinstance(cause, sqlite3.DatabaseError) and not isinstance(
        cause, sqlite3.OperationalError
    )


def cache_key(parts: dict[str, Any]) -> str:
    """A stable digest of the request parts (any JSON-serialisable mapping)."""
    blob = json.dumps(
        {"v": SCHEMA_VERSION, **parts}, ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class SQLiteFile:
    """One of flashgen's SQLite files: its folder made, its tables created, and closed by
    `with`; a file that cannot be opened is one `error` naming it."""

    error: type[FlashgenError] = FlashgenError
    what = "file"  # how the error names it
    schema: tuple[str, ...] = ()  # statements run on opening: pragmas, CREATE TABLE IF NOT EXISTS

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA busy_timeout=5000")
            for statement in self.schema:
                self._db.execute(statement)
        except (OSError, sqlite3.Error) as exc:
            raise self.error(f"{self.path}: cannot open the {self.what} ({exc})") from exc

    def close(self) -> None:
        self._db.close()

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        """Rows of a query; a file SQLite cannot read is one `error` naming it."""
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise self.error(f"{self.path}: cannot read the {self.what} ({exc})") from exc

    def check(self) -> None:
        """Read the whole file once (PRAGMA quick_check, which names each problem found):
        a damaged page is one `error` now, not halfway through a build."""
        rows = self._read("PRAGMA quick_check")
        if rows != [("ok",)]:
            problem = rows[0][0] if rows else "no answer to an integrity check"
            raise self.error(
                f"{self.path}: the {self.what} is damaged ({problem})"
            ) from sqlite3.DatabaseError(problem)

    def close_quietly(self) -> None:
        with contextlib.suppress(AttributeError, sqlite3.Error):
            self._db.close()

    def set_aside(self, target: Path) -> None:
        """Close the file and move it to `target` (see move_aside)."""
        self.close_quietly()
        move_aside(self.path, target, self.error, self.what)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Cache(SQLiteFile):
    """Responses by key in an SQLite file; open it with `with Cache(path) as cache:`.

    The cache is disposable: a file SQLite cannot read is set aside as
    `<name>.corrupt-<time>` and a new one begun, with a notice saying so; a page that
    turns out damaged later reads as a miss. (The ledger is never treated so.)
    """

    error = CacheError
    what = "cache"
    schema = (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=NORMAL",
        "CREATE TABLE IF NOT EXISTS responses ("
        " key TEXT PRIMARY KEY, content TEXT NOT NULL, response TEXT,"
        " tokens_in INTEGER NOT NULL DEFAULT 0, tokens_out INTEGER NOT NULL DEFAULT 0,"
        " model TEXT NOT NULL DEFAULT '', mode TEXT NOT NULL DEFAULT '',"
        " post_id TEXT NOT NULL DEFAULT '', created REAL NOT NULL)",
        "CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        # Vectors as the server gave them (float64, so a cached rebuild compares exactly
        # what a cold build compared), by model and text.
        "CREATE TABLE IF NOT EXISTS embeddings (key TEXT PRIMARY KEY, vector BLOB NOT NULL)",
    )

    def __init__(self, path: str | Path) -> None:
        self.notices: list[str] = []  # what the user should know of the cache this run
        self._unwritable = False
        try:
            super().__init__(path)
            # Checked once a process: a build opens its cache for answers, topics and
            # embeddings, and a check reads the whole file.
            if self.path not in _CHECKED:
                self.check()
                _CHECKED.add(self.path)
        except CacheError as exc:
            if not is_damaged(exc):
                raise
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            self.set_aside(aside)
            super().__init__(path)
            _CHECKED.add(self.path)
            self.notices.append(
                f"the cache {self.path} could not be read ({exc.__cause__}); set it aside as "
                f"{aside.name} and started a new one, so earlier answers are asked for again"
            )

    def _lookup(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        """Rows of a query, none where a page turns out damaged: the cache is disposable,
        and what it cannot give is asked for again."""
        try:
            return self._read(sql, args)
        except CacheError as exc:
            if not is_damaged(exc):
                raise
            return []

    def _unwritten(self, exc: sqlite3.Error) -> None:
        """A cache that cannot take more (a damaged page, a full disk) stops being written,
        once, with a notice; the build goes on."""
        self._unwritable = True
        self.notices.append(
            f"{self.path}: cannot write the cache ({exc}); later answers are not cached"
        )

    def setting(self, name: str) -> str | None:
        """A remembered fact about a server, such as the structured-output mode it accepts."""
        rows = self._lookup("SELECT value FROM settings WHERE name = ?", (name,))
        return str(rows[0][0]) if rows else None

    def remember(self, name: str, value: str) -> None:
        self._write("INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)", (name, value))

    def _write(self, sql: str, args: tuple[Any, ...]) -> None:
        """Run one write, unless the cache has stopped taking them (see _unwritten)."""
        if self._unwritable:
            return
        try:
            self._db.execute(sql, args)
        except sqlite3.Error as exc:
            self._unwritten(exc)

    def get(self, key: str) -> CachedResponse | None:
        """The stored response for `key`, or None."""
        rows = self._lookup(
            "SELECT content, tokens_in, tokens_out, model, mode, post_id FROM responses"
            " WHERE key = ?",
            (key,),
        )
        if not rows:
            return None
        content, tokens_in, tokens_out, model, mode, post_id = rows[0]
        return CachedResponse(
            content=content,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            model=model,
            mode=mode,
            post_id=post_id,
        )

    def put(self, key: str, value: CachedResponse, response: str | None = None) -> None:
        """Store a response and commit at once; `response` is the server's raw JSON body."""
        self._write(
            "INSERT OR REPLACE INTO responses (key, content, response, tokens_in,"
            " tokens_out, model, mode, post_id, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                value.content,
                response,
                value.tokens_in,
                value.tokens_out,
                value.model,
                value.mode,
                value.post_id,
                time.time(),
            ),
        )

    def vectors(self, keys: Sequence[str]) -> dict[str, list[float]]:
        """The stored embeddings among `keys`; a damaged page reads as none."""
        found: dict[str, list[float]] = {}
        for start in range(0, len(keys), 500):
            batch = list(keys[start : start + 500])
            marks = ",".join("?" * len(batch))
            sql = f"SELECT key, vector FROM embeddings WHERE key IN ({marks})"
            for key, blob in self._lookup(sql, tuple(batch)):
                found[key] = array("d", blob).tolist()
        return found

    def put_vectors(self, vectors: dict[str, list[float]]) -> None:
        """Store embeddings by key, in one transaction."""
        if self._unwritable or not vectors:
            return
        try:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT OR REPLACE INTO embeddings (key, vector) VALUES (?, ?)",
                    [(key, array("d", vector).tobytes()) for key, vector in vectors.items()],
                )
        except sqlite3.Error as exc:
            self._unwritten(exc)

    def __len__(self) -> int:
        return int(self._read("SELECT COUNT(*) FROM responses")[0][0])
