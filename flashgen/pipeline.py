"""The whole path: inputs → posts → cards → checked cards → decks → package."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flashgen.check import (
    CheckConfig,
    Rejection,
    Verdict,
    check_card_fields,
    check_cards,
    load_card_fields,
    write_report,
)
from flashgen.check.embed import make_embedder
from flashgen.config import OFFLINE_NOTICE, GeneratorConfig, load_check_config
from flashgen.evaluate import EvalReport, evaluate, load_gold
from flashgen.export import export_decks
from flashgen.generate import generate_llm, generate_offline
from flashgen.group import ROOT_DECK, group_by_topic
from flashgen.models import BuildResult, Card, Post, ReadOptions
from flashgen.sources import read_posts

PACKAGE_NAME = "flashgen.apkg"
REPORT_NAME = "flashgen.rejected.jsonl"


@dataclass
class Run:
    """Posts, the cards made from them and the checks' verdict: what build and eval share."""

    posts: list[Post]
    generated: list[Card]
    accepted: list[Card]
    rejected: list[Rejection]
    report: dict[str, Any]


def run(
    inputs: Iterable[str | Path],
    *,
    generator: GeneratorConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
    read: ReadOptions | None = None,
    checks: CheckConfig | None = None,
) -> Run:
    """Read the inputs, generate cards and check them; nothing is written but the cache."""
    posts = read_posts(inputs, read)
    checks = checks or load_check_config()
    cards, report = _generate(posts, generator, progress)
    embed = None
    if generator is not None and generator.uses_llm():
        embed, notice = make_embedder(generator, checks.embedding_model)
        if notice:
            report["notices"].append(notice)
    accepted, rejected = check_cards(posts, cards, checks, embed)
    for rejection in rejected:
        report["rejections"].update(rejection.reasons)
    return Run(posts, cards, accepted, rejected, report)


def build(
    inputs: Iterable[str | Path],
    out_dir: str | Path = "decks",
    *,
    root: str = ROOT_DECK,
    timestamp: float | None = None,
    generator: GeneratorConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
    read: ReadOptions | None = None,
    checks: CheckConfig | None = None,
) -> BuildResult:
    """Read the inputs, generate and check cards, and write one package into `out_dir`,
    with the rejected cards and their reasons beside it.

    Every input is read and every card made before anything is written, so bad input
    leaves the user's folder as it was.
    """
    result = run(inputs, generator=generator, progress=progress, read=read, checks=checks)
    report = result.report
    decks = group_by_topic(result.accepted, root)
    path = export_decks(
        decks,
        {post.id: post for post in result.posts},
        Path(out_dir) / PACKAGE_NAME,
        root=root,
        timestamp=timestamp,
    )
    # Written every build, empty or not, so it never describes an older build.
    rejected_path = write_report(result.rejected, Path(out_dir) / REPORT_NAME)
    if not result.accepted:
        # Still written, so the output path is predictable; but say that it is empty.
        report["notices"].append(f"no card passed the checks, so {path} holds no notes")
    return BuildResult(
        posts=len(result.posts),
        cards=len(result.accepted),
        rejected=len(result.rejected) + report.pop("invalid"),
        decks=list(decks),
        path=str(path),
        report=str(rejected_path),
        **report,
    )


def evaluate_inputs(
    inputs: Iterable[str | Path],
    gold: str | Path,
    *,
    generator: GeneratorConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
    read: ReadOptions | None = None,
) -> EvalReport:
    """Build the cards (the cache makes a repeat cheap) and score them against gold facts."""
    facts = load_gold(gold)
    result = run(inputs, generator=generator, progress=progress, read=read)
    return evaluate(result.posts, result.generated, result.accepted, facts)


def check_file(
    inputs: Iterable[str | Path],
    cards: str | Path,
    *,
    read: ReadOptions | None = None,
    generator: GeneratorConfig | None = None,
) -> list[Verdict]:
    """Verdicts on cards written elsewhere (a JSON array), checked against their posts."""
    fields = load_card_fields(cards)
    posts = read_posts(inputs, read)
    checks = load_check_config()
    embed = None
    if generator is not None and generator.uses_llm():
        embed, _ = make_embedder(generator, checks.embedding_model)
    return check_card_fields(posts, fields, checks, embed)


def _generate(
    posts: Sequence[Post],
    generator: GeneratorConfig | None,
    progress: Callable[[int, int], None] | None,
) -> tuple[list[Card], dict[str, Any]]:
    """Cards from the LLM when one is configured, else from the offline generator."""
    report: dict[str, Any] = {"rejections": Counter(), "invalid": 0, "notices": []}
    if generator is None or not generator.uses_llm():
        if generator is not None and generator.generator == "auto":
            report["notices"].append(OFFLINE_NOTICE)
        return [card for post in posts for card in generate_offline(post)], report
    run = generate_llm(posts, generator, progress=progress)
    # A card the model wrote that is not a well-formed Card is rejected like any other.
    report["rejections"].update(f"invalid-card ({card.reason})" for card in run.invalid)
    report.update(
        generator="llm",
        mode=run.mode,
        requests=run.requests,
        cache_hits=run.cache_hits,
        failures={
            failure.post_id: failure.reason
            + (f" (gave up after {failure.attempts} attempts)" if failure.attempts > 1 else "")
            for failure in run.failures
        },
        tokens_in=run.tokens_in,
        tokens_out=run.tokens_out,
        cost=run.cost,
        invalid=len(run.invalid),
        notices=run.notes,
    )
    return run.cards, report
