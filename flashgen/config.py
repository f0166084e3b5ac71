"""Reading the settings, once, at the edge: defaults ← flashgen.toml ← environment ← flags.

`load_settings` reads flashgen.toml once and gives the models of flashgen.settings, which
the library takes as parameters; no library function reads the file on its own.

The API key comes only from the environment or a flag; flashgen.toml may name the
variable that holds it (`api_key_env`) but never the key itself, and no part of flashgen
writes it anywhere.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from flashgen.errors import ConfigError
from flashgen.settings import (
    DEFAULT_CACHE,
    DEFAULT_LEDGER,
    MODES,
    OFFLINE_NOTICE,
    CheckConfig,
    ConcreteMode,
    GeneratorConfig,
    Price,
    Settings,
    Topic,
)

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_CACHE",
    "DEFAULT_LEDGER",
    "MODES",
    "OFFLINE_NOTICE",
    "CheckConfig",
    "ConcreteMode",
    "ConfigError",
    "GeneratorConfig",
    "Price",
    "Settings",
    "Topic",
    "load_check_config",
    "load_config",
    "load_settings",
    "load_taxonomy",
]

CONFIG_FILE = "flashgen.toml"


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


def load_settings(
    flags: Mapping[str, Any] | None = None,
    *,
    cwd: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Everything a command is told: the generator (defaults, `[llm]` of flashgen.toml in
    `cwd`, the environment, then flags, None meaning not given), `[checks]` and
    `[[topics]]`. The file is read once."""
    path, data = _config_file(cwd)
    return Settings(
        generator=_generator(path, data, flags, os.environ if environ is None else environ),
        checks=_checks(path, data),
        taxonomy=tuple(_taxonomy(path, data)),
    )


def load_config(
    flags: Mapping[str, Any] | None = None,
    *,
    cwd: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> GeneratorConfig:
    """The generator's settings alone (see load_settings)."""
    path, data = _config_file(cwd)
    return _generator(path, data, flags, os.environ if environ is None else environ)


def load_taxonomy(cwd: str | Path | None = None) -> list[Topic]:
    """The user's topics from `[[topics]]` in flashgen.toml; empty when there are none."""
    return _taxonomy(*_config_file(cwd))


def load_check_config(cwd: str | Path | None = None) -> CheckConfig:
    """The quality gates' thresholds: defaults, overridden by `[checks]` in flashgen.toml."""
    return _checks(*_config_file(cwd))


def _generator(
    path: Path, data: dict[str, Any], flags: Mapping[str, Any] | None, env: Mapping[str, str]
) -> GeneratorConfig:
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


def _taxonomy(path: Path, data: dict[str, Any]) -> list[Topic]:
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


def _checks(path: Path, data: dict[str, Any]) -> CheckConfig:
    table = data.get("checks", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [checks] must be a table")
    try:
        return CheckConfig.model_validate(table)
    except ValidationError as exc:
        raise ConfigError(f"{path}: invalid setting {_first_error(exc, 'checks.')}") from exc
