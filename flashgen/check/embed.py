"""Embeddings for near-duplicate detection, from the model server's `/v1/embeddings`.

`make_embedder` asks the server once with a tiny input. A server without the route (or
without an embedding model) is not an error: dedup falls back to character shingles, and
the caller shows the one-line notice. The client blanks the API key out of every message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from flashgen.cache import Cache, cache_key
from flashgen.check.dedup import Embedder
from flashgen.client import ModelClient
from flashgen.errors import CacheError, EmbeddingError, LLMError, RequestFailed

BATCH = 256  # texts per request
_PROBE = "flashgen"


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
            notice = f"{where} offers no embeddings ({exc}); near-duplicates found by shingles"
            # An answer the server gave is kept; a connection that failed may work next time.
            if not isinstance(exc, RequestFailed) or exc.reason.startswith("HTTP "):
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
