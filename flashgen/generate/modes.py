"""Which structured-output form to ask a server for.

`json_schema` is enforced by OpenAI, vLLM and others; llama-cpp-python only takes
`json_object` (with the schema as a grammar); some servers take neither, and then the
schema goes in the prompt. `auto` tries them in that order, starting where it settled
last time with this server and model (remembered in the cache), so a server that rejects
json_schema is not asked, and retried, again on every build.
"""

from __future__ import annotations

from flashgen.cache import Cache
from flashgen.settings import MODES, ConcreteMode, GeneratorConfig


def mode_setting(config: GeneratorConfig) -> str:
    """The name the settled mode is remembered under in the cache."""
    return f"mode {config.base_url or 'openai'} {config.model}"


def candidate_modes(config: GeneratorConfig, remembered: str | None) -> list[ConcreteMode]:
    """The modes to try, in order: the configured one, or for `auto` every mode from the
    one remembered for this server and model (all of them when none is)."""
    if config.structured_output != "auto":
        return [config.structured_output]
    for index, mode in enumerate(MODES):
        if mode == remembered:
            return list(MODES[index:])
    return list(MODES)


def first_mode(config: GeneratorConfig) -> ConcreteMode:
    """The mode a run starts with, as `flashgen prompt` shows it."""
    remembered = None
    if config.structured_output == "auto" and config.cache is not None and config.cache.is_file():
        with Cache(config.cache) as cache:
            remembered = cache.setting(mode_setting(config))
    return candidate_modes(config, remembered)[0]
