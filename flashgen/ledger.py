"""The ledger: which notes a build issued, so the next build keeps their GUIDs and dates.

Anki matches notes by GUID and, by default, updates one only when the incoming note's
`mod` is newer than its own. So a card the model rewords, or a card of an edited post,
must keep the GUID its note already has, and a note's `mod` must move forward exactly when
its content changes. The ledger remembers, per post, every card issued (GUID, question,
answers, a digest of the note's content and when that content last changed) in a table
of the response cache's SQLite file. `--no-cache` skips cached responses, never this.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from flashgen.cache import SQLiteFile
from flashgen.check.text import normalize, rarest_prefix, similarity, token_ranks, words
from flashgen.errors import FlashgenError
from flashgen.models import Card, Post

# How close a regenerated card must be to an earlier card of its post to be the same fact:
# what is recalled nearly the same, and the question about the same thing. Answers are
# short and must agree; questions a model rewords freely (a Russian rewording shares
# ~0.3 of its 3-gram shingles, an unrelated question of the same post ~0.0-0.2), and the
# answer already narrows the choice to the cards of one post.
ANSWER_SIMILARITY = 0.8
QUESTION_SIMILARITY = 0.25
# A post with no cards issued yet is an edit of a post that is gone from the inputs when
# they share a channel and at least this share of their words (Jaccard): the id of a
# pasted post is its text, so fixing a typo gives it a new one. A typo fix keeps ~0.9;
# two different posts of one channel share ~0.1-0.3.
POST_SIMILARITY = 0.5


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
    # Claimed GUIDs: a GUID goes to one card of the build, even when the entries of an
    # edited post's predecessor are offered to it (see Ledger.earlier).
    taken: set[str] = set()
    chosen: dict[int, Entry] = {}
    # Exact identities first, so a fuzzy match never takes a GUID a card owns outright.
    for index, (card, guid, _) in enumerate(cards):
        for entry in by_post.get(card.post_id, ()):
            if entry.guid == guid and guid not in taken:
                chosen[index] = entry
                taken.add(guid)
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
        if index not in chosen and entry.guid not in taken:
            chosen[index] = entry
            taken.add(entry.guid)
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
            if entry.guid not in taken:
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


def match_edits(fresh: Sequence[Post], gone: Sequence[Post]) -> dict[str, str]:
    """Id of a fresh post → id of the gone post it is an edit of, one to one.

    Closest pairs first (ties by input order and id), among pairs of one channel whose
    word sets have Jaccard >= POST_SIMILARITY; prefix filtering finds every such pair
    without comparing all of them.
    """
    bags = {id(post): set(words(normalize(post.text))) for post in (*fresh, *gone)}
    counts: Counter[str] = Counter()
    for bag in bags.values():
        counts.update(bag)
    rank = token_ranks(counts)
    index: dict[tuple[str, str], list[Post]] = defaultdict(list)
    for old in gone:
        for token in rarest_prefix(bags[id(old)], rank, POST_SIMILARITY):
            index[(old.channel, token)].append(old)
    pairs = []
    for order, new in enumerate(fresh):
        bag = bags[id(new)]
        candidates = {
            id(old): old
            for token in rarest_prefix(bag, rank, POST_SIMILARITY)
            for old in index.get((new.channel, token), ())
        }
        for old in candidates.values():
            union = len(bag | bags[id(old)])
            score = len(bag & bags[id(old)]) / union if union else 0.0
            if score >= POST_SIMILARITY:
                pairs.append((-score, order, old.id, new.id))
    out: dict[str, str] = {}
    taken: set[str] = set()
    for _, _, old_id, new_id in sorted(pairs):
        if new_id not in out and old_id not in taken:
            out[new_id] = old_id
            taken.add(old_id)
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


class Ledger(SQLiteFile):
    """The issued cards in the cache's SQLite file; open with `with Ledger(path) as ledger:`."""

    error = LedgerError
    what = "ledger"
    schema = (
        "CREATE TABLE IF NOT EXISTS issued ("
        " post_id TEXT NOT NULL, guid TEXT NOT NULL, kind TEXT NOT NULL,"
        " question TEXT NOT NULL, answers TEXT NOT NULL, digest TEXT NOT NULL,"
        " changed INTEGER NOT NULL, PRIMARY KEY (post_id, guid))",
        # The posts cards were issued for, to recognise one whose id an edit changed.
        "CREATE TABLE IF NOT EXISTS posts ("
        " post_id TEXT PRIMARY KEY, channel TEXT NOT NULL, text TEXT NOT NULL)",
    )

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self._edits: dict[str, str] = {}  # new post id → the id it had, found by earlier()

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

    def earlier(self, posts: Mapping[str, Post]) -> list[Entry]:
        """The cards issued so far for these posts; for a post with none, those of the
        post gone from the inputs that it is an edit of, as if issued for it."""
        out = self.entries(posts)
        issued = {row[0] for row in self._db.execute("SELECT DISTINCT post_id FROM issued")}
        fresh = [post for post in posts.values() if post.id not in issued]
        gone = issued - posts.keys()
        self._edits = {}
        if fresh and gone:
            rows = self._db.execute("SELECT post_id, channel, text FROM posts ORDER BY post_id")
            vanished = [Post(id=i, channel=c, text=t) for i, c, t in rows if i in gone]
            self._edits = match_edits(fresh, vanished)
        for new_id, old_id in sorted(self._edits.items()):
            out += [dataclasses.replace(e, post_id=new_id) for e in self.entries([old_id])]
        return out

    def remember(self, entries: Iterable[Entry], posts: Iterable[Post] = ()) -> None:
        """Record the cards a written package holds and their posts, in one transaction."""
        entries = list(entries)
        with_cards = {entry.post_id for entry in entries}
        try:
            with self._db:
                self._db.execute("BEGIN")
                # The cards of an edited post now live under its new id.
                moved = [(old,) for new, old in self._edits.items() if new in with_cards]
                self._db.executemany("DELETE FROM issued WHERE post_id = ?", moved)
                self._db.executemany("DELETE FROM posts WHERE post_id = ?", moved)
                self._db.executemany(
                    "INSERT OR REPLACE INTO posts (post_id, channel, text) VALUES (?, ?, ?)",
                    [(p.id, p.channel, p.text) for p in posts if p.id in with_cards],
                )
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
