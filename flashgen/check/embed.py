"""Embeddings for near-duplicate detection, from the model server's `/v1/embeddings`.

`make_embedder` asks the server once with a tiny input. A server without the route (or
without an embedding model) is not an error: dedup falls back to character shingles, and
the caller shows the one-line notice. The client blanks the API key out of every message.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from flashgen.cache import Cache, cache_key
from flashgen.check.dedup import Embedder
from flashgen.client import ModelClient
from flashgen.errors import CacheError, EmbeddingError, LLMError, RequestFailed

BATCH = 256  # texts per request
# Texts the prefetcher gathers before it asks, while cards still arrive: fewer requests,
# each still small enough to be done long before the last answer.
PREFETCH_BATCH = 64
_PROBE = "flashgen"


# What a build says of a server that answered that it does not embed: a settled fact.
NO_EMBEDDINGS = "offers no embeddings"


def make_embedder(
    client: ModelClient | None,
    model: str,
    where: str = "the server",
    cache: Path | None = None,
) -> tuple[Embedder | None, str | None]:
    """(embedder, notice): an embedder over the client's embeddings, or None and why not.

    With a `cache`, vectors are kept by server, model and text, and so is whether the
    server embeds at all: an unchanged rebuild asks the server nothing. With no client
    (offline) the answer is (None, None): no server, nothing to say.
    """
    if client is None:
        return None, None
    probe = f"embeds {where} {model}"
    with _stored(cache) as stored:
        remembered = stored.setting(probe) if stored is not None else None
    if remembered is not None and remembered.startswith("no "):
        return None, remembered.removeprefix("no ")
    if remembered is not None:
        size = int(remembered)
    else:
        try:
            size = len(client.embed(model, [_PROBE])[0])
        except LLMError as exc:
            # An answer the server gave is kept; a connection that failed may work next
            # time, and says so (a build that met it is not one to replay: flashgen.memo).
            answered = not isinstance(exc, RequestFailed) or exc.reason.startswith("HTTP ")
            said = NO_EMBEDDINGS if answered else "gave no embeddings this time"
            notice = f"{where} {said} ({exc}); near-duplicates found by shingles"
            if answered:
                with _stored(cache) as stored:
                    if stored is not None:
                        stored.remember(probe, f"no {notice}")
            return None, notice
        with _stored(cache) as stored:
            if stored is not None:
                stored.remember(probe, str(size))

    memo: dict[str, list[float]] = {}

    def key(text: str) -> str:
        return "embedding:" + cache_key({"where": where, "model": model, "text": text})

    def embed(texts: list[str]) -> list[list[float]]:
        # Blank texts are refused by OpenAI and have no meaning to compare: zero vectors.
        missing = [t for t in dict.fromkeys(texts) if t not in memo and t.strip()]
        if missing:
            with _stored(cache) as stored:
                found = stored.vectors([key(t) for t in missing]) if stored is not None else {}
            for text in missing:
                if key(text) in found:
                    memo[text] = found[key(text)]
            missing = [t for t in missing if t not in memo]
        fresh: dict[str, list[float]] = {}
        try:
            for start in range(0, len(missing), BATCH):
                batch = missing[start : start + BATCH]
                try:
                    vectors = client.embed(model, batch)
                except LLMError as exc:
                    raise EmbeddingError(f"embeddings from {where} failed: {exc}") from exc
                memo.update(zip(batch, vectors, strict=True))
                fresh.update((key(t), v) for t, v in zip(batch, vectors, strict=True))
        finally:
            if fresh:
                with _stored(cache) as stored:
                    if stored is not None:
                        stored.put_vectors(fresh)
        return [memo[t] if t.strip() else [0.0] * size for t in texts]

    return embed, None


@contextlib.contextmanager
def _stored(cache: Path | None) -> Iterator[Cache | None]:
    """The cache, or None when there is none or it cannot be used here: the cache is
    disposable (the answers' cache, opened by the generator, sets a damaged file aside
    and says so)."""
    if cache is None:
        yield None
        return
    try:
        stored = Cache(cache)
    except CacheError:
        yield None
        return
    with stored:
        yield stored


class Prefetch:
    """The embedder, probed and fed in a thread of its own while the model writes cards.

    `feed` hands over the texts of each card that passed its own rules as it arrives; they
    are embedded (and cached) in batches meanwhile, so the duplicate search after the last
    answer finds its vectors at hand. A server that stops embedding midway ends the
    prefetching; `result` then says so and gives no embedder (shingles are used).
    """

    def __init__(self, client: ModelClient, model: str, where: str, cache: Path | None) -> None:
        self._args = (client, model, where, cache)
        self._queue: queue.SimpleQueue[Sequence[str] | None] = queue.SimpleQueue()
        self._embed: Embedder | None = None
        self._notice: str | None = None
        self._error: BaseException | None = None
        # A daemon: a build that fails meanwhile is not held up at exit by a slow server.
        self._thread = threading.Thread(target=self._work, daemon=True)
        self._thread.start()

    def feed(self, texts: Sequence[str]) -> None:
        self._queue.put(texts)

    def result(self) -> tuple[Embedder | None, str | None]:
        """(embedder, notice) as make_embedder gives them, once every text fed is embedded."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            if isinstance(self._error, EmbeddingError):
                return None, f"{self._error}; near-duplicates found by shingles instead"
            raise self._error
        return self._embed, self._notice

    def _work(self) -> None:
        ended = False
        try:
            self._embed, self._notice = make_embedder(*self._args)
            pending: list[str] = []
            while not ended:
                texts = self._queue.get()
                ended = texts is None
                pending.extend(texts or ())
                if pending and (ended or len(pending) >= PREFETCH_BATCH):
                    if self._embed is not None:
                        self._embed(pending)
                    pending = []
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc
            while not ended:  # take what is still fed, up to result()'s end mark
                ended = self._queue.get() is None
