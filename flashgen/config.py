"""Configuration of the card generator: defaults ← flashgen.toml ← environment ← flags.

The API key comes only from the environment or a flag; flashgen.toml may name the
variable that holds it (`api_key_env`) but never the key itself, and no part of flashgen
writes it anywhere.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from flashgen.check.rules import CheckConfig
from flashgen.errors import FlashgenError

CONFIG_FILE = "flashgen.toml"
DEFAULT_CACHE = Path(".flashgen") / "cache.sqlite"
# The notes issued so far (flashgen.ledger): a file of its own, since a cache may be
# cleared at will and this may not.
DEFAULT_LEDGER = Path(".flashgen") / "ledger.sqlite"
DEFAULT_MODEL = "gpt-4o-mini"

GeneratorKind = Literal["auto", "llm", "offline"]
StructuredOutput = Literal["auto", "json_schema", "json_object", "prompt"]
ConcreteMode = Literal["json_schema", "json_object", "prompt"]
MODES: tuple[ConcreteMode, ...] = ("json_schema", "json_object", "prompt")

OFFLINE_NOTICE = (
    "No model configured, so cards come from the offline generator. For LLM cards set "
    "OPENAI_API_KEY, or OPENAI_BASE_URL (--base-url) for a local server; see docs/llm.md."
)


class ConfigError(FlashgenError):
    """The generator's configuration is wrong: a bad flashgen.toml, flag or variable."""


class Price(BaseModel):
    """What a model costs, in US dollars per million tokens."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float = Field(ge=0)
    output: float = Field(ge=0)


# Published list prices (USD per 1M tokens); extend or override under [llm.prices] in
# flashgen.toml. A model missing here gets no cost estimate, never a guessed one.
DEFAULT_PRICES: dict[str, Price] = {
    "gpt-4o-mini": Price(input=0.15, output=0.60),
    "gpt-4o": Price(input=2.50, output=10.00),
    "gpt-4.1": Price(input=2.00, output=8.00),
    "gpt-4.1-mini": Price(input=0.40, output=1.60),
    "gpt-4.1-nano": Price(input=0.10, output=0.40),
}


class GeneratorConfig(BaseModel):
    """Which generator makes the cards, and how flashgen talks to an LLM server."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    generator: GeneratorKind = "auto"
    base_url: str | None = None
    api_key: SecretStr | None = Field(default=None, exclude=True, repr=False)
    model: str = Field(default=DEFAULT_MODEL, min_length=1)
    concurrency: int = Field(default=8, ge=1, le=512)
    timeout: float = Field(default=120.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=20)
    reasks: int = Field(default=2, ge=0, le=10)
    structured_output: StructuredOutput = "auto"
    temperature: float = Field(default=0.0, ge=0, le=2)
    max_tokens: int = Field(default=4096, ge=16)
    language: str | None = None
    prompts: Path | None = None
    cache: Path | None = DEFAULT_CACHE
    # Where the issued notes are remembered (flashgen.ledger); --no-cache never touches it.
    ledger: Path = DEFAULT_LEDGER
    prices: dict[str, Price] = Field(default_factory=dict)
    # The user's taxonomy names ([[topics]]), which the system prompt asks the model to
    # choose from; set by the pipeline from flashgen.toml, not from the [llm] table.
    topics: tuple[str, ...] = ()

    def uses_llm(self) -> bool:
        """Whether cards come from a model: asked for, or `auto` with a server configured."""
        if self.generator == "auto":
            return bool(self.base_url or self.api_key)
        return self.generator == "llm"

    def price(self) -> Price | None:
        """The model's price: flashgen.toml's table first, then the built-in one."""
        return self.prices.get(self.model) or DEFAULT_PRICES.get(self.model)

    def cost(self, tokens_in: int, tokens_out: int) -> float | None:
        """Estimated US dollars for the tokens, or None when the model's price is unknown."""
        price = self.price()
        if price is None:
            return None
        return (tokens_in * price.input + tokens_out * price.output) / 1_000_000


# Keys of the [llm] table; the key itself is not among them on purpose.
_FILE_KEYS = frozenset(GeneratorConfig.model_fields) - {"api_key", "ledger", "topics"} | {
    "api_key_env"
}


def _config_file(cwd: str | Path | None) -> tuple[Path, dict[str, Any]]:
    """flashgen.toml in `cwd` (default: the working directory) and its contents ({} if none)."""
    path = (Path.cwd() if cwd is None else Path(cwd)) / CONFIG_FILE
    if not path.is_file():
        return path, {}
    try:
        return path, tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc


def _first_error(exc: ValidationError, prefix: str = "") -> str:
    """The first problem of a validation error as `where: what`, for one clear line."""
    error = exc.errors(include_url=False)[0]
    where = prefix + ".".join(str(part) for part in error["loc"])
    return f"{where or 'entry'}: {error['msg']}"


def _llm_table(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    table = data.get("llm", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [llm] must be a table")
    if "api_key" in table:
        raise ConfigError(
            f"{path}: do not store the API key in a file; set OPENAI_API_KEY, or name the "
            "variable that holds it with api_key_env"
        )
    unknown = sorted(set(table) - _FILE_KEYS)
    if unknown:
        known = ", ".join(sorted(_FILE_KEYS))
        raise ConfigError(f"{path}: unknown key llm.{unknown[0]} (known: {known})")
    out = dict(table)
    # Paths in the file are relative to the file, not to wherever flashgen runs.
    for key in ("prompts", "cache"):
        value = out.get(key)
        if value is False and key == "cache":
            out[key] = None
        elif isinstance(value, str):
            out[key] = path.parent / value
    return out


def load_config(
    flags: Mapping[str, Any] | None = None,
    *,
    cwd: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> GeneratorConfig:
    """Merge defaults, `flashgen.toml` in `cwd`, the environment and flags (None = not given)."""
    env = os.environ if environ is None else environ
    path, data = _config_file(cwd)
    values: dict[str, Any] = _llm_table(path, data)
    key_var = values.pop("api_key_env", None) or "OPENAI_API_KEY"
    for name, var in (("base_url", "OPENAI_BASE_URL"), ("model", "FLASHGEN_MODEL")):
        if env.get(var, "").strip():
            values[name] = env[var].strip()
    if env.get(key_var, "").strip():
        values["api_key"] = env[key_var].strip()
    given = {key: value for key, value in (flags or {}).items() if value is not None}
    if given.pop("no_cache", False):
        given["cache"] = None
        values.pop("cache", None)
    values.update(given)
    try:
        return GeneratorConfig.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(f"invalid setting {_first_error(exc)}") from exc


class Topic(BaseModel):
    """One entry of the user's taxonomy (`[[topics]]` in flashgen.toml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    description: str = ""
    keywords: tuple[str, ...] = ()


def load_taxonomy(cwd: str | Path | None = None) -> list[Topic]:
    """The user's topics from `[[topics]]` in flashgen.toml; empty when there are none."""
    path, data = _config_file(cwd)
    table = data.get("topics", [])
    if not isinstance(table, list):
        raise ConfigError(f"{path}: topics must be an array of tables ([[topics]])")
    topics: list[Topic] = []
    for number, entry in enumerate(table, 1):
        try:
            topics.append(Topic.model_validate(entry))
        except ValidationError as exc:
            raise ConfigError(f"{path}: topic #{number}: {_first_error(exc)}") from exc
    names = [topic.name.strip().casefold() for topic in topics]
    if len(set(names)) != len(names):
        raise ConfigError(f"{path}: two [[topics]] share a name")
    return topics


def load_check_config(cwd: str | Path | None = None) -> CheckConfig:
    """The quality gates' thresholds: defaults, overridden by `[checks]` in flashgen.toml."""
    path, data = _config_file(cwd)
    table = data.get("checks", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [checks] must be a table")
    try:
        return CheckConfig.model_validate(table)
    except ValidationError as exc:
        raise ConfigError(f"{path}: invalid setting {_first_error(exc, 'checks.')}") from exc
