"""Finding input files and reading them as text, with one clear error per bad file."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from flashgen.errors import InputError


def expand_inputs(paths: Iterable[str | Path]) -> list[Path]:
    """Every file named, and every visible file below every folder named, in a stable order."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InputError(path, "no such file or folder")
        if path.is_dir():
            found = sorted(_walk(path))
            if not found:
                raise InputError(path, "folder holds no files to read")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(path, "not a regular file or folder")
    unique: dict[Path, None] = {}
    for file in files:
        unique.setdefault(file.resolve(), None)
    return [Path(p) for p in unique] if len(unique) != len(files) else files


def _walk(folder: Path) -> Iterator[Path]:
    for root, dirs, names in os.walk(folder):
        # Hidden folders (.git, .obsidian) and files (.DS_Store) are never posts.
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in names:
            if not name.startswith("."):
                yield Path(root) / name


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror or exc})") from exc


def decode_text(path: Path, data: bytes) -> str:
    """UTF-8 text (BOM and CRLF tolerated), or an InputError saying what the file is instead."""
    if b"\x00" in data[:8192]:
        raise InputError(path, "is a binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            path, f"is not UTF-8 text (invalid byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_text(path: Path) -> str:
    return decode_text(path, read_bytes(path))
