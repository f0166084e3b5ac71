"""Prompt templates: jinja2 files a user can read, diff and override with `--prompts DIR`.

Rendering is strict (`StrictUndefined`): a template that names a variable flashgen does
not pass fails loudly instead of sending a prompt with a hole in it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from flashgen.errors import PromptError


def _default_prompts() -> Path:
    """The prompts flashgen ships: flashgen/prompts in an installed wheel, else the
    repository's prompts/ beside the package (a checkout or an editable install), where
    users read and tune them."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "prompts"
    return installed if installed.is_dir() else package.parent / "prompts"


DEFAULT_PROMPTS = _default_prompts()
TEMPLATES = ("system.j2", "post.j2", "reask.j2")


class Prompts:
    """The templates of one prompts folder."""

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else DEFAULT_PROMPTS
        if not self.folder.is_dir():
            raise PromptError(f"{self.folder}: prompts folder not found")
        missing = [name for name in TEMPLATES if not (self.folder / name).is_file()]
        if missing:
            raise PromptError(f"{self.folder}: missing prompt template {missing[0]}")
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(self.folder),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._cache: dict[str, jinja2.Template] = {}

    def render(self, name: str, **context: Any) -> str:
        """The named template rendered with `context`, stripped of outer blank lines."""
        try:
            template = self._cache.get(name)
            if template is None:
                template = self._cache[name] = self._env.get_template(name)
            return template.render(**context).strip()
        except jinja2.TemplateSyntaxError as exc:
            raise PromptError(f"{self.folder / name}:{exc.lineno}: {exc.message}") from exc
        except jinja2.UndefinedError as exc:
            raise PromptError(f"{self.folder / name}: {exc.message}") from exc
        except jinja2.TemplateNotFound as exc:
            raise PromptError(f"{self.folder}: missing prompt template {exc.name}") from exc
