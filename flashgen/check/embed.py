"""Embeddings for near-duplicate detection, from the model server's `/v1/embeddings`.

`make_embedder` asks the server once with a tiny input. A server without the route (or
without an embedding model) is not an error: dedup falls back to character shingles, and
the caller shows the one-line notice. The client blanks the API key out of every message.
"""

from __future__ import annotations

from flashgen.check.dedup import Embedder
from flashgen.client import ModelClient
from flashgen.errors import EmbeddingError, LLMError

BATCH = 256  # texts per request
_PROBE = "flashgen"


def make_embedder(
    client: ModelClient | None, model: str, where: str = "the server"
) -> tuple[Embedder | None, str | None]:
    """(embedder, notice): an embedder over the client's embeddings, or None and why not.

    With no client (offline) the answer is (None, None): no server, nothing to say.
    """
    if client is None:
        return None, None
    try:
        size = len(client.embed(model, [_PROBE])[0])
    except LLMError as exc:
        return None, f"{where} offers no embeddings ({exc}); near-duplicates found by shingles"

    cache: dict[str, list[float]] = {}

    def embed(texts: list[str]) -> list[list[float]]:
        # Blank texts are refused by OpenAI and have no meaning to compare: zero vectors.
        missing = [t for t in dict.fromkeys(texts) if t not in cache and t.strip()]
        for start in range(0, len(missing), BATCH):
            batch = missing[start : start + BATCH]
            try:
                vectors = client.embed(model, batch)
            except LLMError as exc:
                raise EmbeddingError(f"embeddings from {where} failed: {exc}") from exc
            cache.update(zip(batch, vectors, strict=True))
        return [cache[t] if t.strip() else [0.0] * size for t in texts]

    return embed, None
