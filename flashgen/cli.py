"""The command line: parse options, call one library function, print the result."""

from __future__ import annotations

import json
import os
import sys
import unicodedata
from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any, TypeVar

import click

from flashgen import __version__
from flashgen.errors import FlashgenError
from flashgen.models import Post
from flashgen.pipeline import build as run_build
from flashgen.sources import read_posts

F = TypeVar("F", bound=Callable[..., Any])


def _errors_as_one_line(func: F) -> F:
    """Library errors become one `Error: …` line and exit 1; never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FlashgenError as exc:
            raise click.ClickException(str(exc)) from exc
        except KeyboardInterrupt:
            click.echo("Interrupted; nothing was written.", err=True)
            sys.exit(130)
        except Exception as exc:
            if os.environ.get("FLASHGEN_DEBUG"):
                raise
            raise click.ClickException(
                f"internal error: {type(exc).__name__}: {exc} "
                "(FLASHGEN_DEBUG=1 shows the traceback)"
            ) from exc

    return wrapper  # type: ignore[return-value]


inputs_argument = click.argument(
    "inputs", nargs=-1, required=True, type=click.Path(path_type=str), metavar="INPUT..."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="flashgen")
def main() -> None:
    """Turn Telegram posts into Anki flashcards, grouped into decks by topic."""


@main.command()
@inputs_argument
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of post objects.")
@_errors_as_one_line
def posts(inputs: Sequence[str], as_json: bool) -> None:
    """Show the posts flashgen reads from INPUT files and folders, after cleaning."""
    found = read_posts(inputs)
    if as_json:
        click.echo(json.dumps([_post_json(p) for p in found], ensure_ascii=False, indent=2))
    else:
        click.echo(_posts_table(found))


@main.command()
@inputs_argument
@click.option(
    "--out",
    "out_dir",
    default="decks",
    show_default=True,
    type=click.Path(file_okay=False, path_type=str),
    help="Folder to write flashgen.apkg into.",
)
@click.option(
    "--timestamp",
    type=int,
    default=None,
    help="Seconds since 1970 to stamp notes with, for byte-identical rebuilds "
    "(default: SOURCE_DATE_EPOCH, else now).",
)
@_errors_as_one_line
def build(inputs: Sequence[str], out_dir: str, timestamp: int | None) -> None:
    """Generate cards from INPUT files and folders and export them as an Anki package."""
    result = run_build(inputs, out_dir, timestamp=timestamp)
    click.echo(
        f"{result.posts} posts → {result.cards} cards in {len(result.decks)} decks → {result.path}"
    )
    if result.rejected:
        click.echo(f"{result.rejected} cards rejected by the checks", err=True)


def _post_json(post: Post) -> dict[str, Any]:
    data = post.model_dump()
    data["links"] = list(post.links)
    return data


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cut(text: str, width: int) -> str:
    out, used = "", 0
    for ch in text:
        w = _width(ch)
        if used + w > width - 1:
            return out + "…"
        out, used = out + ch, used + w
    return out


def _pad(text: str, width: int) -> str:
    text = _cut(text, width)
    return text + " " * (width - _width(text))


def _posts_table(found: Sequence[Post]) -> str:
    rows = [("ID", "CHANNEL", "DATE", "CHARS", "FIRST LINE")]
    for post in found:
        first = post.text.split("\n", 1)[0]
        rows.append((post.id, post.channel, (post.date or "-")[:10], str(len(post.text)), first))
    widths = [14, 26, 10, 6, 60]
    lines = [
        "  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.append(f"{len(found)} posts")
    return "\n".join(lines)
