"""The ledger: which notes a build issued, so the next build keeps their GUIDs and dates.

Anki matches notes by GUID and, by default, updates one only when the incoming note's
`mod` is newer than its own. So a card the model rewords, or a card of an edited post,
must keep the GUID its note already has, and a note's `mod` must move forward exactly when
its content changes. The ledger remembers, per post, every card issued (GUID, question,
answers, a digest of the note's content and when that content last changed) in a table
of the response cache's SQLite file. `--no-cache` skips cached responses, never this.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from pydantic import BaseModel, ConfigDict

from flashgen.check.text import similarity
from flashgen.errors import FlashgenError
from flashgen.models import Card

# How close a regenerated card must be to an earlier card of its post to be the same fact:
# what is recalled nearly the same, and the question about the same thing. Answers are
# short and must agree; questions a model rewords freely (a Russian rewording shares
# ~0.3 of its 3-gram shingles, an unrelated question of the same post ~0.0-0.2), and the
# answer already narrows the choice to the cards of one post.
ANSWER_SIMILARITY = 0.8
QUESTION_SIMILARITY = 0.25


class LedgerError(FlashgenError):
    """The ledger in the cache file cannot be read or written."""


@dataclass(frozen=True)
class Entry:
    """A card as the ledger remembers it."""

    post_id: str
    guid: str
    kind: str
    question: str
    answers: tuple[str, ...]
    digest: str
    changed: int  # the build timestamp of the last change of the note's content


@dataclass(frozen=True)
class Issue:
    """What a build stamps on a card's note: its GUID and its modification time."""

    guid: str
    mod: int


class StaleCard(BaseModel):
    """A card issued by an earlier build that this build no longer makes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    post_id: str
    guid: str
    kind: str
    question: str
    answers: tuple[str, ...]
    changed: int


@dataclass
class Reconciled:
    """One build's notes against the ledger: what to stamp, and what went stale."""

    issues: dict[Card, Issue] = field(default_factory=dict)
    stale: list[StaleCard] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)  # what to remember once written


def _answers_text(answers: Iterable[str]) -> str:
    return " | ".join(answers)


def _closeness(card: Card, entry: Entry) -> float | None:
    """How alike a new card and an earlier one of its post are, or None when not the same."""
    if card.kind != entry.kind:
        return None
    answers = similarity(
        _answers_text(card.answers), _answers_text(entry.answers), containment=True
    )
    if answers < ANSWER_SIMILARITY:
        return None
    question = similarity(card.question, entry.question)
    if question < QUESTION_SIMILARITY:
        return None
    return answers + question


def reconcile(
    cards: Sequence[tuple[Card, str, str]],
    earlier: Iterable[Entry],
    timestamp: int,
    generated: Iterable[str],
) -> Reconciled:
    """GUIDs and mod times for `cards` (card, GUID from its identity, content digest).

    A card keeps the GUID of an earlier card of its post that it matches exactly, else of
    the closest earlier card that is the same fact; its `mod` stays when its content is
    unchanged and moves to `timestamp` (or just past the last change) when it changed.
    Earlier cards of the posts in `generated` that no card took are stale.
    """
    by_post: dict[str, list[Entry]] = {}
    for entry in earlier:
        by_post.setdefault(entry.post_id, []).append(entry)
    out = Reconciled()
    taken: set[tuple[str, str]] = set()
    chosen: dict[int, Entry] = {}
    # Exact identities first, so a fuzzy match never takes a GUID a card owns outright.
    for index, (card, guid, _) in enumerate(cards):
        for entry in by_post.get(card.post_id, ()):
            if entry.guid == guid and (card.post_id, guid) not in taken:
                chosen[index] = entry
                taken.add((card.post_id, guid))
                break
    pairs = []
    for index, (card, _, _) in enumerate(cards):
        if index in chosen:
            continue
        for order, entry in enumerate(by_post.get(card.post_id, ())):
            score = _closeness(card, entry)
            if score is not None:
                pairs.append((-score, index, order, entry))
    # Closest pairs first; index and order break ties, so the result is reproducible.
    for _, index, _, entry in sorted(pairs, key=lambda p: p[:3]):
        key = (entry.post_id, entry.guid)
        if index not in chosen and key not in taken:
            chosen[index] = entry
            taken.add(key)
    for index, (card, guid, digest) in enumerate(cards):
        match = chosen.get(index)
        if match is None:
            mod = timestamp
        elif match.digest == digest:
            mod = match.changed
        else:
            # Anki updates a note only when the incoming one is newer than its own.
            mod = max(timestamp, match.changed + 1)
        issued_guid = match.guid if match is not None else guid
        out.issues[card] = Issue(guid=issued_guid, mod=mod)
        out.entries.append(
            Entry(
                post_id=card.post_id,
                guid=issued_guid,
                kind=card.kind,
                question=card.question,
                answers=tuple(card.answers),
                digest=digest,
                changed=mod,
            )
        )
    wanted = set(generated)
    for post_id in sorted(wanted & by_post.keys()):
        for entry in by_post[post_id]:
            if (post_id, entry.guid) not in taken:
                out.stale.append(
                    StaleCard(
                        post_id=post_id,
                        guid=entry.guid,
                        kind=entry.kind,
                        question=entry.question,
                        answers=entry.answers,
                        changed=entry.changed,
                    )
                )
    return out


def write_stale(stale: Sequence[StaleCard], path: Path) -> Path | None:
    """The stale cards as JSON lines, written atomically; with none, no file (an older one
    is removed, so the folder never describes an older build)."""
    partial = path.with_name(f".{path.name}.part")
    try:
        if not stale:
            path.unlink(missing_ok=True)
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("w", encoding="utf-8") as out:
            for card in stale:
                out.write(card.model_dump_json() + "\n")
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise LedgerError(f"{path}: cannot write the stale cards ({exc.strerror or exc})") from exc
    return path


class Ledger:
    """The issued cards in the cache's SQLite file; open with `with Ledger(path) as ledger:`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS issued ("
                " post_id TEXT NOT NULL, guid TEXT NOT NULL, kind TEXT NOT NULL,"
                " question TEXT NOT NULL, answers TEXT NOT NULL, digest TEXT NOT NULL,"
                " changed INTEGER NOT NULL, PRIMARY KEY (post_id, guid))"
            )
        except (OSError, sqlite3.Error) as exc:
            raise LedgerError(f"{self.path}: cannot open the ledger ({exc})") from exc

    def entries(self, post_ids: Iterable[str]) -> list[Entry]:
        """Every card issued so far for these posts, oldest GUID order kept stable."""
        out: list[Entry] = []
        for post_id in sorted(set(post_ids)):
            rows = self._db.execute(
                "SELECT post_id, guid, kind, question, answers, digest, changed FROM issued"
                " WHERE post_id = ? ORDER BY guid",
                (post_id,),
            )
            for post, guid, kind, question, answers, digest, changed in rows:
                out.append(
                    Entry(post, guid, kind, question, tuple(json.loads(answers)), digest, changed)
                )
        return out

    def remember(self, entries: Iterable[Entry]) -> None:
        """Record the cards a written package holds, in one transaction."""
        try:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT OR REPLACE INTO issued (post_id, guid, kind, question, answers,"
                    " digest, changed) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            e.post_id,
                            e.guid,
                            e.kind,
                            e.question,
                            json.dumps(list(e.answers), ensure_ascii=False),
                            e.digest,
                            e.changed,
                        )
                        for e in entries
                    ],
                )
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot write the ledger ({exc})") from exc

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
