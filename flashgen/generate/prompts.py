"""Prompt templates: jinja2 files a user can read, diff and override with `--prompts DIR`.

Rendering is strict (`StrictUndefined`): a template that names a variable flashgen does
not pass fails loudly instead of sending a prompt with a hole in it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2

from flashgen.client import ChatRequest, Message
from flashgen.errors import PromptError
from flashgen.generate.contract import response_schema, roundtrip_schema
from flashgen.models import Post
from flashgen.settings import ConcreteMode, GeneratorConfig


def _default_prompts() -> Path:
    """The prompts flashgen ships: flashgen/prompts in an installed wheel, else the
    repository's prompts/ beside the package (a checkout or an editable install), where
    users read and tune them."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "prompts"
    return installed if installed.is_dir() else package.parent / "prompts"


DEFAULT_PROMPTS = _default_prompts()
TEMPLATES = ("system.j2", "post.j2", "reask.j2")
# The round trip's templates; a prompts folder copied before they existed uses the
# shipped ones.
VERIFY_TEMPLATES = ("verify_system.j2", "verify.j2")


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
            loader=jinja2.ChoiceLoader(
                [jinja2.FileSystemLoader(self.folder), jinja2.FileSystemLoader(DEFAULT_PROMPTS)]
            ),
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


class RequestBuilder:
    """Renders the prompt templates into requests, memoising the per-run system prompts."""

    def __init__(self, config: GeneratorConfig, prompts: Prompts | None = None) -> None:
        self.config = config
        self.prompts = prompts or Prompts(config.prompts)
        self._system: dict[str, str] = {}
        self._verify_system: dict[str, str] = {}

    def system(self, mode: ConcreteMode) -> str:
        if mode not in self._system:
            schema = None
            if mode != "json_schema":
                schema = json.dumps(response_schema(), ensure_ascii=False)
            self._system[mode] = self.prompts.render(
                "system.j2",
                language=self.config.language,
                schema=schema,
                mode=mode,
                topics=list(self.config.topics),
            )
        return self._system[mode]

    def request(self, post: Post, mode: ConcreteMode, turns: Sequence[Message] = ()) -> ChatRequest:
        messages = (
            {"role": "system", "content": self.system(mode)},
            {
                "role": "user",
                "content": self.prompts.render("post.j2", post=post, language=self.config.language),
            },
            *turns,
        )
        return ChatRequest(
            model=self.config.model,
            messages=messages,
            mode=mode,
            temperature=self.config.temperature,
            max_tokens=self.config.max_tokens,
            schema=None if mode == "prompt" else response_schema(),
        )

    def verify(self, post: Post, asked: Sequence[str], mode: ConcreteMode) -> ChatRequest:
        """The round trip's request: the post and its cards' numbered questions, without
        their answers, to the judge model (the generator's model unless one is set)."""
        if mode not in self._verify_system:
            schema = None
            if mode != "json_schema":
                schema = json.dumps(roundtrip_schema(), ensure_ascii=False)
            self._verify_system[mode] = self.prompts.render(
                "verify_system.j2", language=self.config.language, schema=schema, mode=mode
            )
        numbered = [{"number": i, "text": text} for i, text in enumerate(asked, 1)]
        messages = (
            {"role": "system", "content": self._verify_system[mode]},
            {
                "role": "user",
                "content": self.prompts.render("verify.j2", post=post, questions=numbered),
            },
        )
        return ChatRequest(
            model=self.config.judge_model or self.config.model,
            messages=messages,
            mode=mode,
            temperature=0.0,
            max_tokens=self.config.max_tokens,
            schema=None if mode == "prompt" else roundtrip_schema(),
            schema_name="roundtrip",
        )

    def reask(self, error: str, attempt: int, attempts: int) -> str:
        return self.prompts.render("reask.j2", error=error, attempt=attempt, attempts=attempts)
