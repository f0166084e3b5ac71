"""A rebuild with nothing new costs nothing: the last build of a folder, remembered.

A build's output depends on its inputs' bytes, its settings, the prompts, flashgen's own
code, and what the ledger and the cache held. When all of those are what they were at
the end of the last build that wrote a folder, and the files it wrote are untouched, that
build's result is the answer: nothing is read, asked or written again. Any difference —
an edited post, a new flag, a deleted package, a ledger another build changed — and the
build runs in full. Builds that left work undone (a post whose request failed) are not
remembered, so the next build tries again.

The memo is one small JSON file in the output folder; a damaged or foreign one is
ignored and written over, never an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from flashgen.check.embed import NO_EMBEDDINGS
from flashgen.errors import ExportError
from flashgen.files import atomic_file
from flashgen.models import BuildResult, Generation, Verification
from flashgen.settings import OFFLINE_NOTICE

MEMO_NAME = ".flashgen-build.json"
_PACKAGE = Path(__file__).resolve().parent
_CHUNK = 1 << 20


def _digest_files(paths: Iterable[Path], digest: Any) -> None:
    for path in paths:
        # Resolved: a Markdown note's channel is its folder's name, so a moved folder is
        # another input.
        digest.update(f"\0{path.resolve()}\0".encode())
        with path.open("rb") as data:
            while chunk := data.read(_CHUNK):
                digest.update(chunk)


def _code_files(prompts: Path | None) -> list[Path]:
    """flashgen's own sources and the prompt templates: a change to either may change cards."""
    found = sorted(_PACKAGE.rglob("*.py"))
    from flashgen.generate.prompts import DEFAULT_PROMPTS

    # In a fixed order (a set's would change from run to run), each folder once.
    for folder in dict.fromkeys(p for p in (DEFAULT_PROMPTS, prompts) if p is not None):
        if folder.is_dir():
            found += sorted(p for p in folder.rglob("*") if p.is_file())
    return found


def fingerprint(
    inputs: Iterable[str | Path], settings: dict[str, Any], prompts: Path | None
) -> str:
    """A digest of everything a build's output depends on but the state files: the input
    files' bytes (as `read_posts` finds them), the settings given, the prompts and code."""
    from flashgen.sources import input_files  # the sources import the models this needs

    versions = {name: _version(name) for name in _LIBRARIES}
    given = json.dumps({**settings, "libraries": versions}, sort_keys=True, default=str)
    digest = hashlib.sha256(given.encode())
    # Only the files a build reads, and only regular ones: an export's media folders are
    # never hashed, and a named pipe never waited on.
    _digest_files((p for p in input_files(inputs) if p.is_file()), digest)
    _digest_files(_code_files(prompts), digest)
    return digest.hexdigest()


# Libraries whose output is part of the package or the cards.
_LIBRARIES = ("genanki", "pydantic", "jinja2", "openai")


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _state(paths: Iterable[Path]) -> list[list[Any]]:
    """Size and modification time of each file (None for one that does not exist)."""
    out: list[list[Any]] = []
    for path in sorted({str(p) for p in paths}):
        try:
            info = os.stat(path)
        except OSError:
            out.append([path, None, None])
        else:
            out.append([path, info.st_size, info.st_mtime_ns])
    return out


def recall(out: Path, key: str, state: Iterable[Path]) -> BuildResult | None:
    """The result of the last build of `out` when it had this key and its files, and the
    state files named, are as that build left them; else None."""
    try:
        memo = json.loads((out / MEMO_NAME).read_text(encoding="utf-8"))
        if memo["key"] != key:
            return None
        files = [Path(entry[0]) for entry in memo["files"]]
        if memo["files"] != _state(files) or not {str(p) for p in state} <= set(map(str, files)):
            return None
        return BuildResult.model_validate(memo["result"])
    except (OSError, ValueError, KeyError, TypeError, IndexError, ValidationError):
        return None  # no memo, or one this version cannot read: build in full


def remember(
    out: Path, key: str, result: BuildResult, state: Iterable[Path], *, cached: bool
) -> None:
    """Keep this build's result for the next one, with the state of the files it wrote and
    read (`state`); a build that is not settled (`_settled`) is not kept, and an earlier
    memo is removed."""
    path = out / MEMO_NAME
    if not _settled(result, cached):
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
        return
    files = [*state, *map(Path, result.packages)]
    files += [Path(p) for p in (result.report, result.stale_report) if p]
    memo = {"key": key, "files": _state(files), "result": result.model_dump(mode="json")}
    try:
        with atomic_file(path, ExportError, "build memo") as handle:
            handle.write(json.dumps(memo, ensure_ascii=False).encode("utf-8"))
    except ExportError as exc:
        # The build itself is written; only the next one's shortcut is lost.
        result.notices.append(f"{exc}; the next build runs in full")


# Notices of a build that did all it meant to; any other (a server that stopped
# embedding, a topic merge that failed, a cache that could not be written, a ledger
# re-seeded) means the next build should try again, or say it again.
_SETTLED_NOTICES = (
    OFFLINE_NOTICE,
    NO_EMBEDDINGS,
    "topic labels merged by the model into",
    "long posts sent in sections",
    "offline cards (max_offline_cards",
    "your review:",
)


def _settled(result: BuildResult, cached: bool) -> bool:
    """Whether a build may stand for the next: nothing failed, nothing fell back, and an
    LLM build's answers are in a cache (without one, the next build asks again)."""
    verification = result.generation.verification
    if result.generation.failures or (verification is not None and verification.failures):
        return False
    if result.generation.generator == "llm" and not cached:
        return False
    return all(any(part in notice for part in _SETTLED_NOTICES) for notice in result.notices)


def _reused(asked: Generation | Verification) -> dict[str, Any]:
    free = 0.0 if asked.cost is not None else None
    hits = asked.requests + asked.cache_hits
    return {"requests": 0, "cache_hits": hits, "tokens_in": 0, "tokens_out": 0, "cost": free}


def replayed(result: BuildResult) -> BuildResult:
    """The remembered result as this build's: the same decks and files, every answer
    reused and nothing asked, as a rebuild from the cache reports it."""
    asked = result.generation
    verification = asked.verification
    if verification is not None:
        verification = verification.model_copy(update=_reused(verification))
    generation = asked.model_copy(update={**_reused(asked), "verification": verification})
    notice = "nothing changed since the last build of this folder: its files are as they were"
    # Its notes still hold for the files it wrote (the offline notice among them).
    notices = [*result.notices, notice]
    return result.model_copy(update={"generation": generation, "notices": notices})
