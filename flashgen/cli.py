"""The command line: parse options, call one library function, print the result."""

from __future__ import annotations

import gc
import json
import shutil
import sys
import tempfile
import unicodedata
import webbrowser
from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar, get_args

import click

from flashgen import (
    DEFAULT_MAX_TOPICS,
    ROOT_DECK,
    BuildResult,
    FlashgenError,
    GeneratorConfig,
    InputFormat,
    Post,
    ReadOptions,
    ReviewServer,
    Settings,
    Verification,
    __version__,
    check_file,
    evaluate_inputs,
    format_report,
    load_settings,
    preload,
    preview_request,
    read_posts,
    redirect_page,
    serve,
)
from flashgen import build as run_build

F = TypeVar("F", bound=Callable[..., Any])

# Exit statuses: 0 done; 1 an error (one line, nothing written); 2 a usage error; 3 the
# package is written but some posts failed (a rerun retries them); 130 interrupted.
EXIT_POSTS_FAILED = 3


def _errors_as_one_line(func: F) -> F:
    """Library errors, which are the user's to fix, become one `Error: …` line and exit 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FlashgenError as exc:
            raise click.ClickException(str(exc)) from exc
        except KeyboardInterrupt:
            click.echo("Interrupted; no package was written (answers so far are cached).", err=True)
            sys.exit(130)
        # Anything else is a bug: its traceback is what a report of it needs.

    return wrapper  # type: ignore[return-value]


def _freeze_heap(generator: GeneratorConfig) -> None:
    """Exempt what is loaded by now from garbage collection, for the rest of the command.

    The command's process ends with it, so modules and their objects live until then
    anyway; frozen, the collector stops walking them on every full collection and at
    exit. The OpenAI SDK's types alone are some 50,000 objects, which is why it is
    imported first when a model will be asked.
    """
    if generator.uses_llm():
        # Nothing made while importing is garbage: collecting during it only walks the
        # SDK's objects again and again (a tenth of its import time).
        gc.disable()
        try:
            preload()
        finally:
            gc.enable()
    gc.freeze()


inputs_argument = click.argument(
    "inputs", nargs=-1, required=True, type=click.Path(path_type=str), metavar="INPUT..."
)


def read_options(func: F) -> F:
    """How inputs are read (--format, --chat, --username), as one `read: ReadOptions` argument."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kwargs["read"] = ReadOptions(
            format=kwargs.pop("input_format"),
            chats=tuple(kwargs.pop("chats")),
            username=kwargs.pop("username"),
        )
        return func(*args, **kwargs)

    options = [
        click.option(
            "--format",
            "input_format",
            type=click.Choice(get_args(InputFormat)),
            default="auto",
            show_default=True,
            help="Read every INPUT as this format; `auto` tells pasted posts, Telegram "
            "Desktop exports (JSON, HTML) and Markdown notes apart by their content.",
        ),
        click.option(
            "--chat",
            "chats",
            multiple=True,
            metavar="NAME",
            help="Read only this chat of an export (repeatable).  [default: a chat export's "
            "chat; a full-account export's channels and Saved Messages]",
        ),
        click.option(
            "--username",
            metavar="NAME",
            help="Public @username of the exported channel, to link posts as "
            "https://t.me/NAME/ID instead of https://t.me/c/CHAT_ID/ID.",
        ),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


# Option name → GeneratorConfig field; unset options (None) leave flashgen.toml and the
# environment in charge.
_GENERATOR_FLAGS = {
    "generator_kind": "generator",
    "base_url": "base_url",
    "api_key": "api_key",
    "model": "model",
    "concurrency": "concurrency",
    "timeout": "timeout",
    "max_retries": "max_retries",
    "reasks": "reasks",
    "structured_output": "structured_output",
    "temperature": "temperature",
    "max_tokens": "max_tokens",
    "language": "language",
    "prompts": "prompts",
    "cache_path": "cache",
    "no_cache": "no_cache",
    "verify": "verify",
    "judge_model": "judge_model",
}


def _default(field: str) -> str:
    """A generator setting's default, for help text: the model is where it is defined."""
    return f"[default: {GeneratorConfig.model_fields[field].default}]"


def generator_options(func: F) -> F:
    """The card generator's options, merged with flashgen.toml and the environment into one
    `settings: Settings` argument (flags win); the file is read here, once."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        flags = {field: kwargs.pop(name) for name, field in _GENERATOR_FLAGS.items()}
        kwargs["settings"] = load_settings(flags)
        return func(*args, **kwargs)

    options = [
        click.option(
            "--generator",
            "generator_kind",
            type=click.Choice(["auto", "llm", "offline"]),
            help="Where cards come from: `auto` uses the LLM when a base URL or API key is "
            f"configured, else the offline rules.  {_default('generator')}",
        ),
        click.option(
            "--base-url",
            metavar="URL",
            help="OpenAI-compatible server, e.g. http://localhost:11434/v1 (env OPENAI_BASE_URL).",
        ),
        click.option(
            "--api-key",
            metavar="KEY",
            help="API key (env OPENAI_API_KEY, which keeps it out of the process list); "
            "never written anywhere.",
        ),
        click.option("--model", help=f"Model name (env FLASHGEN_MODEL).  {_default('model')}"),
        click.option(
            "--concurrency",
            type=click.IntRange(1, 512),
            help=f"Requests in flight at once.  {_default('concurrency')}",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(0, min_open=True),
            help=f"Seconds to wait for one response.  {_default('timeout')}",
        ),
        click.option(
            "--max-retries",
            type=click.IntRange(0, 20),
            help="Retries of a request after 429, 5xx or a timeout, honouring retry-after.  "
            + _default("max_retries"),
        ),
        click.option(
            "--reasks",
            type=click.IntRange(0, 10),
            help="Times a reply that breaks the contract is sent back with the error.  "
            + _default("reasks"),
        ),
        click.option(
            "--structured-output",
            type=click.Choice(["auto", "json_schema", "json_object", "prompt"]),
            help="How to ask for JSON; `auto` tries json_schema, then json_object with the "
            "schema, then the schema in the prompt.  " + _default("structured_output"),
        ),
        click.option(
            "--temperature",
            type=click.FloatRange(0, 2),
            help=f"Sampling temperature.  {_default('temperature')}",
        ),
        click.option(
            "--max-tokens",
            type=click.IntRange(16),
            help=f"Longest reply, in tokens.  {_default('max_tokens')}",
        ),
        click.option("--language", help="Language of the cards.  [default: the post's]"),
        click.option(
            "--prompts",
            type=click.Path(file_okay=False, path_type=Path),
            help="Folder of prompt templates (a copy of prompts/) to use instead.",
        ),
        click.option(
            "--cache",
            "cache_path",
            type=click.Path(dir_okay=False, path_type=Path),
            help=f"Response cache file.  {_default('cache')}",
        ),
        click.option("--no-cache", is_flag=True, help="Neither read nor write the cache."),
        click.option(
            "--verify",
            type=click.Choice(["auto", "on", "off"]),
            help="Round trip: the model answers each card's question from the post alone, "
            "and a card whose answer differs is rejected; `auto` runs it whenever a model "
            f"writes the cards.  {_default('verify')}",
        ),
        click.option(
            "--judge-model",
            metavar="NAME",
            help="Model that answers the round trip's questions.  [default: --model]",
        ),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="flashgen")
def main() -> None:
    """Turn Telegram posts into Anki flashcards, grouped into decks by topic."""


@main.command()
@inputs_argument
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of post objects.")
@_errors_as_one_line
@read_options
def posts(inputs: Sequence[str], as_json: bool, read: ReadOptions) -> None:
    """Show the posts flashgen reads from INPUT files and folders, after cleaning."""
    found = read_posts(inputs, read)
    if as_json:
        _echo_json_array(found)
    else:
        click.echo(_posts_table(found))


def _out_option(help_text: str, path_type: type = str) -> Callable[[F], F]:
    """--out DIR, the build folder: where build writes and review reads."""
    return click.option(
        "--out",
        "out_dir",
        default="decks",
        show_default=True,
        type=click.Path(file_okay=False, path_type=path_type),
        help=help_text,
    )


@main.command()
@inputs_argument
@_out_option("Folder to write flashgen.apkg into.")
@click.option(
    "--timestamp",
    type=int,
    default=None,
    help="Seconds since 1970 to stamp new and changed notes with, for byte-identical "
    "rebuilds (default: SOURCE_DATE_EPOCH, else now).",
)
@click.option(
    "--root",
    default=ROOT_DECK,
    show_default=True,
    help="Name of the parent deck; each topic is a subdeck ROOT::Topic.",
)
@click.option(
    "--max-topics",
    type=click.IntRange(1),
    default=DEFAULT_MAX_TOPICS,
    show_default=True,
    help="Most decks the model's topic labels are merged into (the rest go to Other); "
    "not used with a [[topics]] taxonomy in flashgen.toml.",
)
@click.option("--split", is_flag=True, help="Write one package per topic, OUT/<topic>.apkg.")
@click.option(
    "--ledger",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File that remembers the notes issued, so rebuilt notes keep their GUIDs; never "
    f"cleared with the cache.  {_default('ledger')}",
)
@_errors_as_one_line
@generator_options
@read_options
def build(
    inputs: Sequence[str],
    out_dir: str,
    timestamp: int | None,
    root: str,
    max_topics: int,
    split: bool,
    ledger: Path | None,
    settings: Settings,
    read: ReadOptions,
) -> None:
    """Generate cards from INPUT files and folders and export them as an Anki package."""
    generator = settings.generator
    _freeze_heap(generator)
    progress = _Progress()
    try:
        result = run_build(
            inputs,
            out_dir,
            root=root,
            timestamp=timestamp,
            generator=generator,
            progress=progress,
            read=read,
            checks=settings.checks,
            taxonomy=settings.taxonomy,
            max_topics=max_topics,
            split=split,
            ledger=ledger,
            notify=lambda message: click.echo(f"note: {message}", err=True),
            # The command's own main module is guarded: a large offline build may use
            # every core.
            workers=None,
        )
    finally:
        progress.close()
    click.echo(
        f"{result.posts} posts → {result.notes} notes ({result.cards} cards) in "
        f"{len(result.decks)} decks → {result.path}"
    )
    _print_report(result)
    if result.generation.failures:
        # What was made is written; the exit status says it is not all there.
        sys.exit(EXIT_POSTS_FAILED)


@main.command()
@_out_option("The folder a build wrote (its flashgen.review.json).", Path)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port on 127.0.0.1; 0 picks a free one.",
)
@click.option("--no-open", is_flag=True, help="Print the address only; do not open a browser.")
@_errors_as_one_line
def review(out_dir: Path, port: int, no_open: bool) -> None:
    """Review the last build's cards in the browser: accept, reject or edit them.

    Decisions are kept in the build's ledger and applied by every later build. The page
    is served from 127.0.0.1 only, to whoever holds the address's token.
    """

    opener = Path(tempfile.mkdtemp(prefix="flashgen-review-"))

    def ready(server: ReviewServer) -> None:
        click.echo(server.url)  # the first line: scripts read the address from it
        click.echo("Serving until Ctrl+C.", err=True)
        if not no_open:
            # The browser is sent to a file of this user's that redirects, so the token
            # is never in a command line other users can read.
            page = opener / "open.html"
            page.touch(mode=0o600)
            page.write_text(redirect_page(server.url), encoding="utf-8")
            webbrowser.open(page.as_uri())

    try:
        serve(out_dir, port, ready=ready)
    except OSError as exc:
        raise click.ClickException(
            f"cannot serve on 127.0.0.1:{port} ({exc.strerror or exc})"
        ) from exc
    except KeyboardInterrupt:
        click.echo("Stopped; every decision is in the ledger.", err=True)
    finally:
        shutil.rmtree(opener, ignore_errors=True)


@main.command()
@inputs_argument
@click.option("--post", "post_id", required=True, help="Id of the post (see `flashgen posts`).")
@click.option("--json", "as_json", is_flag=True, help="Print the request body as JSON.")
@_errors_as_one_line
@generator_options
@read_options
def prompt(
    inputs: Sequence[str],
    post_id: str,
    as_json: bool,
    settings: Settings,
    read: ReadOptions,
) -> None:
    """Show exactly the messages and schema that `build` would send for one post."""
    request = preview_request(inputs, post_id, settings.generator, read, settings.taxonomy)
    if as_json:
        click.echo(json.dumps(request.body(), ensure_ascii=False, indent=2))
    else:
        click.echo(request.render_text(), nl=False)


@main.command()
@click.argument("inputs", nargs=-1, type=click.Path(path_type=str), metavar="[INPUT]...")
@click.option(
    "--posts",
    "posts_inputs",
    multiple=True,
    type=click.Path(path_type=str),
    metavar="INPUT",
    help="Posts the cards come from, files or folders (repeatable); the INPUT arguments "
    "are more of them.",
)
@click.option(
    "--cards",
    "cards_file",
    required=True,
    type=click.Path(path_type=str),
    metavar="FILE",
    help="JSON array of {post_id, kind, question, answer, source_quote}.",
)
@click.option("--json", "as_json", is_flag=True, help="Print [{index, accepted, reasons}].")
@_errors_as_one_line
@generator_options
@read_options
def check(
    inputs: Sequence[str],
    posts_inputs: Sequence[str],
    cards_file: str,
    as_json: bool,
    settings: Settings,
    read: ReadOptions,
) -> None:
    """Judge cards written elsewhere against the posts of INPUT files and folders (and
    --posts), with each card's reasons."""
    posts = [*posts_inputs, *inputs]
    if not posts:
        raise click.UsageError("give the posts the cards come from: INPUT... or --posts INPUT")
    report = check_file(
        posts, cards_file, read=read, generator=settings.generator, checks=settings.checks
    )
    verdicts = report.verdicts
    if report.verification is not None:
        click.echo(_verification_line(report.verification), err=True)
    for notice in report.notices:
        click.echo(f"note: {notice}", err=True)
    if as_json:
        click.echo(json.dumps([v.model_dump() for v in verdicts], ensure_ascii=False, indent=2))
        return
    for verdict in verdicts:
        shown = (
            f"{reason} ({verdict.evidence[reason]})" if verdict.evidence.get(reason) else reason
            for reason in verdict.reasons
        )
        state = "accepted" if verdict.accepted else "rejected: " + ", ".join(shown)
        click.echo(f"#{verdict.index} {state}")
    accepted = sum(v.accepted for v in verdicts)
    click.echo(f"{accepted} of {len(verdicts)} cards accepted")


@main.command(name="eval")
@inputs_argument
@click.option(
    "--gold",
    required=True,
    type=click.Path(path_type=str),
    metavar="FILE",
    help="Gold key facts: [{post, facts: [{id, kind, anchors, answers, evidence}]}].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@_errors_as_one_line
@generator_options
@read_options
def eval_command(
    inputs: Sequence[str],
    gold: str,
    as_json: bool,
    settings: Settings,
    read: ReadOptions,
) -> None:
    """Measure the cards a build would make: key-fact recall, groundedness, duplicates,
    answer lengths — per post and overall."""
    _freeze_heap(settings.generator)
    progress = _Progress()
    try:
        report = evaluate_inputs(
            inputs,
            gold,
            generator=settings.generator,
            progress=progress,
            read=read,
            checks=settings.checks,
            taxonomy=settings.taxonomy,
        )
    finally:
        progress.close()
    if as_json:
        click.echo(report.model_dump_json(indent=2))
    else:
        click.echo(format_report(report))


class _Progress:
    """A progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._shown = 0

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            if not total or not sys.stderr.isatty():
                return
            self._bar = click.progressbar(length=total, label="Generating", file=sys.stderr)
            self._bar.__enter__()
        self._bar.update(done - self._shown)
        self._shown = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def _print_report(result: BuildResult) -> None:
    made = result.generation
    if made.generator == "llm":
        cost = f"; ≈ ${made.cost:.4f}" if made.cost is not None else ""
        mode = f" ({made.mode})" if made.mode else ""
        click.echo(
            f"LLM{mode}: {made.requests} requests, {made.cache_hits} cache hits, "
            f"{len(made.failures)} failed posts; "
            f"tokens {made.tokens_in} in / {made.tokens_out} out{cost}"
        )
    if made.verification is not None:
        click.echo(_verification_line(made.verification))
    for post_id, reason in made.failures.items():
        click.echo(f"failed: post {post_id}: {reason}", err=True)
    if result.rejected:
        reasons = ", ".join(
            f"{reason} {count}"
            for reason, count in sorted(result.rejections.items(), key=lambda kv: -kv[1])
        )
        click.echo(f"{result.rejected} cards rejected by the checks: {reasons}", err=True)
        if result.report:
            click.echo(f"rejected cards and their reasons: {result.report}", err=True)
    if result.stale:
        click.echo(
            f"{result.stale} cards of earlier builds are no longer made; Anki keeps their notes "
            f"until you delete them: {result.stale_report}",
            err=True,
        )
    if result.empty_posts:
        why = (
            "the model wrote none" if made.generator == "llm" else "no fact the offline rules know"
        )
        shown = ", ".join(result.empty_posts[:5]) + (", …" if len(result.empty_posts) > 5 else "")
        click.echo(f"{len(result.empty_posts)} posts gave no cards ({why}): {shown}", err=True)
    for notice in result.notices:
        click.echo(f"note: {notice}", err=True)
    if made.failures:
        click.echo(
            f"{len(made.failures)} of {result.posts} posts failed and have no cards in this "
            "package; failures are never cached, so the next build asks for them again",
            err=True,
        )


def _verification_line(made: Verification) -> str:
    """The round trip's figures, apart from generation's."""
    cost = f"; ≈ ${made.cost:.4f}" if made.cost is not None else ""
    return (
        f"round trip ({made.model}): {made.requests} requests, {made.cache_hits} cache hits, "
        f"{len(made.failures)} failed posts; tokens {made.tokens_in} in / {made.tokens_out} "
        f"out{cost}; {made.confirmed} cards confirmed, {made.refuted} contradicted"
    )


def _post_json(post: Post) -> dict[str, Any]:
    data = post.model_dump()
    data["links"] = list(post.links)
    return data


def _echo_json_array(found: Sequence[Post]) -> None:
    """What json.dumps(found, indent=2) prints, written post by post, never as one string."""
    if not found:
        click.echo("[]")
        return
    click.echo("[")
    last = len(found) - 1
    for index, post in enumerate(found):
        # Strings in JSON hold no raw newline, so every line can take the array's indent.
        text = json.dumps(_post_json(post), ensure_ascii=False, indent=2).replace("\n", "\n  ")
        click.echo(f"  {text}," if index < last else f"  {text}")
    click.echo("]")


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
    # Export ids (chat/message) and dates (2024-03-05) must show whole: --post takes them.
    widths = [18, 26, 11, 6, 60]
    lines = [
        "  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.append(f"{len(found)} posts")
    return "\n".join(lines)
