"""Check: every exported card is atomic, grounded and unique; the rest is reported with reasons.

The rules follow ../shared/docs/card-quality.md (C1–C7, C9, C10) and work for cards from
any generator. Nothing is dropped silently: each rejection carries its reasons.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from flashgen.check.dedup import Embedder, Prepared, embedded_texts, find_duplicates, prepare
from flashgen.check.rules import (
    RULES,
    CheckConfig,
    PostView,
    card_findings,
    card_text,
)
from flashgen.errors import ExportError, InputError
from flashgen.files import atomic_file
from flashgen.models import Card, Post, card_identity, cloze_problem, share_fields_set
from flashgen.text import normalize

__all__ = [
    "RULES",
    "CheckConfig",
    "Checker",
    "Embedder",
    "Rejection",
    "Verdict",
    "card_from_fields",
    "card_identity",
    "check_card_fields",
    "check_cards",
    "count_reasons",
    "load_card_fields",
    "normalize",
    "write_report",
]


class Rejection(BaseModel):
    """A card that is not exported, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    card: Card
    reasons: tuple[str, ...]
    # For a duplicate: the card kept in its place.
    kept: Card | None = None
    # Reason → what the post says instead, for the reasons that can tell.
    evidence: dict[str, str] = {}

    @model_validator(mode="after")
    def _shared(self) -> Rejection:
        share_fields_set(self)  # most of a large build's cards are rejected duplicates
        return self


class Checker:
    """Checks a build's cards: each card's own rules as soon as it exists, and duplicates
    across all of them at the end.

    A build feeds `add` the cards of each post as the model's answer arrives, so the
    per-card work is done while it waits for the other answers; `finish` gives the same
    verdict as checking every card at the end.
    """

    def __init__(self, posts: Iterable[Post], config: CheckConfig | None = None) -> None:
        self.config = config or CheckConfig()
        self._posts = {post.id: post for post in posts}
        self._views: dict[str, PostView] = {}
        # By id(card); the card itself is held so that id stays its own.
        self._done: dict[int, tuple[Card, dict[str, str], Prepared | None]] = {}
        # Told the texts the duplicate search will embed, of each card that passes its own
        # rules, as soon as it does (a build embeds them while it waits for answers).
        self.feed: Callable[[list[str]], None] | None = None

    def _view(self, post_id: str) -> PostView | None:
        view = self._views.get(post_id)
        if view is None and post_id in self._posts:
            view = self._views[post_id] = PostView.of(self._posts[post_id])
        return view

    def _check(self, card: Card) -> tuple[Card, dict[str, str], Prepared | None]:
        text = card_text(card)
        reasons = card_findings(card, self._view(card.post_id), self.config, text)
        # Only cards that pass their own rules take part in the duplicate search.
        return card, reasons, None if reasons else prepare(card, text)

    def add(self, cards: Iterable[Card]) -> None:
        texts: list[str] = []
        for card in cards:
            done = self._done[id(card)] = self._check(card)
            if done[2] is not None:
                texts += embedded_texts(done[2])
        if texts and self.feed is not None:
            self.feed(texts)

    def survivors(self, cards: Iterable[Card]) -> list[Card]:
        """The cards `add` was given that passed their own rules: the round trip's to ask."""
        out = []
        for card in cards:
            done = self._done.get(id(card))
            if done is not None and done[0] is card and not done[1]:
                out.append(card)
        return out

    def judge(self, findings: Mapping[int, tuple[str, str] | None]) -> None:
        """The round trip's verdicts, by id(card) of cards given to `add`: a card the reader
        contradicts is rejected with that reason and its evidence, and leaves the duplicate
        search; one it agrees with is the one kept of a pair of duplicates."""
        for card_id, finding in findings.items():
            done = self._done.get(card_id)
            if done is None:
                continue
            card, reasons, prepared = done
            if finding is not None:
                self._done[card_id] = card, {**reasons, finding[0]: finding[1]}, None
            elif prepared is not None:
                prepared.verified = True

    def finish(
        self, cards: Iterable[Card], embed: Embedder | None = None
    ) -> tuple[list[Card], list[Rejection]]:
        """Split cards into the accepted and the rejected with their reasons, in input order."""
        checked = []
        for card in cards:
            done = self._done.pop(id(card), None)
            checked.append(done if done is not None and done[0] is card else self._check(card))
        # Every card has met its own rules: the posts' normalised texts are done with.
        self._done.clear()
        self._views.clear()
        reasons = [list(r) for _, r, _ in checked]
        evidence = [{k: v for k, v in r.items() if v} for _, r, _ in checked]
        passing = [i for i, r in enumerate(reasons) if not r]
        prepared = [p for _, _, p in checked if p is not None]
        # The search holds the features alone, and lets go of each duplicate's.
        checked_cards = [card for card, _, _ in checked]
        del checked
        duplicates = find_duplicates(
            [checked_cards[i] for i in passing], self.config, embed, prepared
        )
        del prepared
        kept: dict[int, Card] = {}
        for local, (reason, keeper) in duplicates.items():
            reasons[passing[local]].append(reason)
            kept[passing[local]] = checked_cards[passing[keeper]]
        accepted = [card for card, r in zip(checked_cards, reasons, strict=True) if not r]
        rejected = [
            Rejection(card=card, reasons=tuple(r), kept=kept.get(i), evidence=evidence[i])
            for i, (card, r) in enumerate(zip(checked_cards, reasons, strict=True))
            if r
        ]
        return accepted, rejected


def check_cards(
    posts: Iterable[Post],
    cards: Iterable[Card],
    config: CheckConfig | None = None,
    embed: Embedder | None = None,
) -> tuple[list[Card], list[Rejection]]:
    """Split cards into the accepted and the rejected with their reasons, in input order."""
    return Checker(posts, config).finish(cards, embed)


def count_reasons(rejected: Iterable[Rejection]) -> dict[str, int]:
    """How many rejected cards gave each reason, most frequent first."""
    counts = Counter(reason for r in rejected for reason in r.reasons)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def card_from_fields(fields: Mapping[str, Any], topic: str) -> Card | list[str]:
    """A Card from loose fields (another tool's output), or the reasons it is malformed."""
    data: dict[str, Any] = {
        k: fields.get(k) for k in ("kind", "question", "answer", "source_quote", "post_id")
    }
    data["answer"] = data["answer"] or ""
    try:
        return Card(**data, topic=topic)
    except ValidationError:
        problems = []
        if data["kind"] == "cloze" and isinstance(data["question"], str):
            if cloze_problem(data["question"]):
                problems.append("cloze-syntax")
        elif data["kind"] == "basic" and not str(data["answer"]).strip():
            problems.append("empty-answer")
        return problems or ["invalid-card"]


class Verdict(BaseModel):
    """The judgement on one card of a card file."""

    model_config = ConfigDict(extra="forbid")

    index: int
    accepted: bool
    reasons: list[str]
    evidence: dict[str, str] = {}


def load_card_fields(path: str | Path) -> list[dict[str, Any]]:
    """A JSON array of card objects `{post_id, kind, question, answer, source_quote}`."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise InputError(path, "is not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        where = f"{path}:{exc.lineno}:{exc.colno}"
        raise InputError(where, f"invalid JSON ({exc.msg})") from exc
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise InputError(path, "must hold a JSON array of card objects")
    return data


# The round trip for cards written elsewhere: each post with its cards that passed the
# rules → id(card) → the reader's finding, or None when it agrees.
RoundTripper = Callable[
    [Sequence[tuple[Post, Sequence[Card]]]], Mapping[int, tuple[str, str] | None]
]


def check_card_fields(
    posts: Iterable[Post],
    cards: Sequence[Mapping[str, Any]],
    config: CheckConfig | None = None,
    embed: Embedder | None = None,
    roundtrip: RoundTripper | None = None,
) -> list[Verdict]:
    """Verdicts for cards written elsewhere, malformed ones included, in input order; with
    `roundtrip`, the cards that pass the rules go through it before the duplicate search."""
    posts = list(posts)
    channels = {post.id: post.channel for post in posts}
    built: list[tuple[int, Card]] = []
    verdicts = [Verdict(index=i, accepted=False, reasons=[]) for i in range(len(cards))]
    for i, fields in enumerate(cards):
        card = card_from_fields(fields, topic=channels.get(str(fields.get("post_id")), "unknown"))
        if isinstance(card, Card):
            built.append((i, card))
        else:
            verdicts[i].reasons = card
    checker = Checker(posts, config)
    made = [card for _, card in built]
    checker.add(made)
    if roundtrip is not None:
        by_post: dict[str, list[Card]] = {}
        for card in checker.survivors(made):
            by_post.setdefault(card.post_id, []).append(card)
        known = {post.id: post for post in posts}
        groups = [(known[i], group) for i, group in by_post.items() if i in known]
        checker.judge(roundtrip(groups))
    _, rejected = checker.finish(made, embed)
    by_card = {id(r.card): r for r in rejected}
    for i, card in built:
        rejection = by_card.get(id(card))
        verdicts[i].reasons = list(rejection.reasons) if rejection else []
        verdicts[i].evidence = dict(rejection.evidence) if rejection else {}
        verdicts[i].accepted = not verdicts[i].reasons
    return verdicts


def write_report(rejected: Iterable[Rejection], path: Path) -> Path:
    """Rejected cards as JSON lines (post, card, reasons), written atomically beside the decks."""
    with atomic_file(path, ExportError, "report") as out:
        _write_rejections(rejected, out)
    return path


def _write_rejections(rejected: Iterable[Rejection], out: BinaryIO) -> None:
    for rejection in rejected:
        record: dict[str, Any] = {
            "post_id": rejection.card.post_id,
            "card": rejection.card.model_dump(mode="json"),
            "reasons": list(rejection.reasons),
        }
        if rejection.evidence:
            record["evidence"] = dict(rejection.evidence)
        if rejection.kept is not None:
            record["kept"] = rejection.kept.model_dump(mode="json")
        out.write((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
