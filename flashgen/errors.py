"""One family of errors: the CLI turns any FlashgenError into a single clear line."""

from __future__ import annotations

from pathlib import Path


class FlashgenError(Exception):
    """Base of every error flashgen reports to a user."""


class InputError(FlashgenError):
    """An input file or folder cannot be read as posts."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ExportError(FlashgenError):
    """A deck could not be written."""
