"""Embeddings for near-duplicate detection, from the LLM server's `/v1/embeddings` when it has one.

`make_embedder` asks the server once with a tiny input. A server without the route (or
without an embedding model) is not an error: dedup falls back to character shingles, and
the caller shows the one-line notice. The API key never appears in a message.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from flashgen.check.dedup import Embedder
from flashgen.errors import EmbeddingError
from flashgen.settings import GeneratorConfig

BATCH = 256  # texts per request
_PROBE = "flashgen"
_NO_KEY = "no-key"  # local servers want some bearer token, and ignore it


def _transport_errors(openai: Any) -> tuple[type[BaseException], ...]:
    """What a request can raise: the SDK's errors, its HTTP library's, and bad bodies."""
    errors: list[type[BaseException]] = [openai.OpenAIError, OSError, ValueError]
    for name in ("httpx2", "httpx"):  # openai 3.x ships httpx2, older versions httpx
        try:
            errors.append(importlib.import_module(name).HTTPError)
        except (ImportError, AttributeError):
            continue
    return tuple(errors)


def _blank(text: str, secret: str | None) -> str:
    """The text with the API key blanked out, wherever it came from."""
    return text.replace(secret, "***") if secret else text


def _reason(exc: BaseException) -> str:
    """Why a request failed, on one short line."""
    status = getattr(exc, "status_code", None)
    body = getattr(exc, "body", None)
    text: Any = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    if isinstance(body, dict):
        inner = body.get("error", body)
        text = (inner.get("message") if isinstance(inner, dict) else inner) or text
    cause = exc.__cause__
    if status is None and cause is not None and str(cause):
        text = f"{text}: {cause}"
    text = " ".join(str(text).split())[:200]
    return f"HTTP {status}: {text}" if status is not None else text


def _vectors(response: Any, count: int) -> list[list[float]]:
    """The response's vectors in input order; ValueError when it is not `count` of them."""
    data = sorted(response.data, key=lambda item: item.index)
    vectors = [[float(x) for x in item.embedding] for item in data]
    if len(vectors) != count or any(not v or len(v) != len(vectors[0]) for v in vectors):
        raise ValueError(f"expected {count} vectors of one size, got {len(vectors)}")
    return vectors


def make_embedder(
    config: GeneratorConfig, model: str | None = None
) -> tuple[Embedder | None, str | None]:
    """(embedder, notice): an embedder over the server's /v1/embeddings, or None and why not.

    Offline configurations get (None, None): no server, nothing to say. `model` defaults to
    the generator's model, which local servers usually embed with too.
    """
    if not config.uses_llm() or not (config.base_url or config.api_key):
        return None, None
    import openai  # imported here: the offline path should not pay for it

    secret = config.api_key.get_secret_value() if config.api_key else None
    where = config.base_url or "api.openai.com"
    name = model or config.model
    errors = _transport_errors(openai)
    client = openai.OpenAI(
        api_key=secret or _NO_KEY,
        base_url=config.base_url,
        timeout=config.timeout,
        max_retries=config.max_retries,
    )

    def request(batch: Sequence[str]) -> list[list[float]]:
        # Floats, not the SDK's default base64: llama.cpp and others answer floats only.
        response = client.embeddings.create(model=name, input=list(batch), encoding_format="float")
        return _vectors(response, len(batch))

    try:
        size = len(request([_PROBE])[0])
    except errors as exc:
        client.close()
        notice = (
            f"{where} offers no embeddings for model {name} ({_reason(exc)}); "
            "near-duplicates found by shingles"
        )
        return None, _blank(notice, secret)

    cache: dict[str, list[float]] = {}

    def embed(texts: list[str]) -> list[list[float]]:
        # Blank texts are refused by OpenAI and have no meaning to compare: zero vectors.
        missing = [t for t in dict.fromkeys(texts) if t not in cache and t.strip()]
        for start in range(0, len(missing), BATCH):
            batch = missing[start : start + BATCH]
            try:
                vectors = request(batch)
            except errors as exc:
                message = f"embeddings from {where} (model {name}) failed: {_reason(exc)}"
                raise EmbeddingError(_blank(message, secret)) from exc
            cache.update(zip(batch, vectors, strict=True))
        return [cache[t] if t.strip() else [0.0] * size for t in texts]

    return embed, None
