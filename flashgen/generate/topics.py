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
from typing import Any, cast

from pydantic import BaseModel, ValidationError

from flashgen.cache import Cache, cache_key
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
    counts: Sequence[tuple[str, int]], config: GeneratorConfig, max_topics: int
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
        content = _ask(config, messages)
        mapping = _parse(content, labels, max_topics)
        if mapping is None:
            return None, "the model's topic consolidation was unusable; decks merged by rule"
        if cache:
            cache.remember(key, content)
        return mapping, None
    except Exception as exc:
        return None, f"topic consolidation request failed ({type(exc).__name__}); merged by rule"
    finally:
        if cache:
            cache.close()


def _ask(config: GeneratorConfig, messages: list[dict[str, str]]) -> str:
    import openai  # the offline path never pays for it

    key = config.api_key.get_secret_value() if config.api_key else "no-key"
    client = openai.OpenAI(
        api_key=key,
        base_url=config.base_url,
        timeout=config.timeout,
        max_retries=config.max_retries,
    )
    try:
        completion: Any = client.chat.completions.create(
            model=config.model,
            messages=cast(Any, messages),
            temperature=0,
            max_tokens=min(config.max_tokens, 2048),
            response_format={"type": "json_object"},
        )
    finally:
        client.close()
    return completion.choices[0].message.content or "" if completion.choices else ""
