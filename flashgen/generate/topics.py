"""Topic consolidation: one extra LLM call maps the models' topic labels to deck names.

Per post the model names a topic freely, so a build gathers near-synonyms ("LLaMA 3.1
alignment", "Alignment of LLaMA"). When there are more labels than decks allowed, one
request asks the model to map every label to at most N deck names. The answer is cached
(keyed by the labels, the model and N), so an unchanged rebuild asks nothing; any failure
leaves the deterministic consolidation in charge.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from pydantic import BaseModel, ValidationError

from flashgen.cache import Cache, cache_key
from flashgen.client import ChatRequest, ModelClient
from flashgen.errors import LLMError
from flashgen.settings import GeneratorConfig

_INSTRUCTIONS = """You organise flashcards into Anki decks.
Below are topic labels, one per line, each with its number of cards. Map every label to a
deck name so that near-synonyms and closely related labels share a deck. Use at most {n}
distinct deck names; choose short, clear names (1-4 words) in the labels' language, reusing
the best existing label where one fits.
Answer only with JSON: {{"decks": {{"<label exactly as given>": "<deck name>", ...}}}}"""


class _Answer(BaseModel):
    decks: dict[str, str]


def _prompt(counts: Sequence[tuple[str, int]], max_topics: int) -> list[dict[str, str]]:
    listing = "\n".join(f"{label} ({count})" for label, count in counts)
    return [
        {"role": "system", "content": _INSTRUCTIONS.format(n=max_topics)},
        {"role": "user", "content": listing},
    ]


def _parse(content: str, labels: set[str], max_topics: int) -> dict[str, str] | None:
    try:
        answer = _Answer.model_validate(json.loads(content))
    except (json.JSONDecodeError, ValidationError, TypeError):
        return None
    mapping = {label: deck.strip() for label, deck in answer.decks.items() if label in labels}
    if set(mapping) != labels or not all(mapping.values()):
        return None
    if len(set(mapping.values())) > max_topics:
        return None
    return mapping


def consolidate_with_llm(
    counts: Sequence[tuple[str, int]],
    client: ModelClient,
    config: GeneratorConfig,
    max_topics: int,
) -> tuple[dict[str, str] | None, str | None]:
    """(label → deck name, notice): None and a one-line reason when the model cannot help."""
    labels = {label for label, _ in counts}
    messages = _prompt(sorted(counts), max_topics)
    key = "topics:" + cache_key(
        {"messages": messages, "model": config.model, "labels": sorted(labels)}
    )
    cache = Cache(config.cache) if config.cache is not None else None
    try:
        stored = cache.setting(key) if cache else None
        if stored is not None:
            return _parse(stored, labels, max_topics), None
        request = ChatRequest(
            model=config.model,
            messages=tuple(messages),
            mode="json_object",
            temperature=0,
            max_tokens=min(config.max_tokens, 2048),
        )
        try:
            content = client.chat(request).content
        except LLMError as exc:
            return None, f"topic consolidation request failed ({exc}); merged by rule"
        mapping = _parse(content, labels, max_topics)
        if mapping is None:
            return None, "the model's topic consolidation was unusable; decks merged by rule"
        if cache:
            cache.remember(key, content)
        return mapping, None
    finally:
        if cache:
            cache.close()
