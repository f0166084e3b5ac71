"""One family of errors: the CLI turns any FlashgenError into a single clear line.

Every error a user can cause or fix (a bad file, a bad setting, a server that cannot be
used, a full disk) is one of these, with the file or server named. Anything else is a bug
and keeps its traceback, so it can be reported.
"""

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


class ConfigError(FlashgenError):
    """The configuration is wrong: a bad flashgen.toml, flag or variable."""


class PromptError(FlashgenError):
    """A prompt template is missing or cannot be rendered."""


class ExportError(FlashgenError):
    """A deck or a report could not be written."""


class CacheError(FlashgenError):
    """The cache file cannot be opened or written."""


class LedgerError(FlashgenError):
    """The ledger cannot be read or written."""


class LedgerDamaged(LedgerError):
    """The ledger file is not a readable SQLite database."""


class LLMError(FlashgenError):
    """The model server cannot be used at all (wrong address, key or model); stops the build."""


class RequestFailed(LLMError):
    """One request failed after its retries; only what it was for fails."""

    def __init__(self, reason: str, *, connection: bool = False) -> None:
        self.reason = reason
        self.connection = connection
        super().__init__(reason)


class ModeRejected(RequestFailed):
    """The server refused the structured-output mode of the request."""


class GenerationError(LLMError):
    """A post whose replies kept breaking the contract after every re-ask."""

    def __init__(self, post_id: str, attempts: int, reason: str, last_raw: str) -> None:
        self.post_id = post_id
        self.attempts = attempts
        self.reason = reason
        self.last_raw = last_raw
        super().__init__(f"post {post_id}: no usable reply after {attempts} attempts: {reason}")


class EmbeddingError(LLMError):
    """The server stopped answering embedding requests in the middle of a run."""
