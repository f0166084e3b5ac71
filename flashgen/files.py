"""Files flashgen writes into the user's folders: whole or not at all, one build at a time.

Each file is written under a unique temporary name beside its target and renamed over it
only once complete, so a crash, a full disk or a second build never leaves half a file or
another build's temporary; on failure the temporary is removed and the earlier file stays.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from flashgen.errors import FlashgenError

LOCK_WAIT = 5.0  # seconds a second build waits for the first


@contextlib.contextmanager
def atomic_file(path: Path, error: type[FlashgenError], what: str) -> Iterator[BinaryIO]:
    """A binary file that becomes `path` when the block ends well; an OSError (a full
    disk, a read-only folder) is one `error` naming the file and `what` it is."""
    partial: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        # mkstemp makes the file private; what flashgen writes is an ordinary file of the user's.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(partial, 0o666 & ~umask)
        os.replace(partial, path)
        partial = None
    except OSError as exc:
        raise error(f"{path}: cannot write the {what} ({exc.strerror or exc})") from exc
    finally:
        if partial is not None:
            Path(partial).unlink(missing_ok=True)


@contextlib.contextmanager
def folder_lock(folder: Path, wait: float | None = None) -> Iterator[None]:
    """Hold the output folder for one build: a second one waits `wait` seconds, then is
    told that another build is writing there.

    The folder itself is locked, so no lock file is left in it (one deleted while another
    build waits on it would let a third build in)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = os.open(folder, os.O_RDONLY)
    except OSError as exc:
        reason = exc.strerror or exc
        raise FlashgenError(f"{folder}: cannot write to the folder ({reason})") from exc
    try:
        deadline = time.monotonic() + (LOCK_WAIT if wait is None else wait)
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise FlashgenError(
                        f"{folder}: another flashgen build is writing this folder; wait for it "
                        "to finish, or build into another --out"
                    ) from None
                time.sleep(0.1)
        yield
    finally:
        os.close(handle)  # closing it releases the lock
