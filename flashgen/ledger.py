"""The ledger: which notes a build issued, so the next build keeps their GUIDs and dates.

Anki matches notes by GUID and, by default, updates one only when the incoming note's
`mod` is newer than its own. So a card the model rewords, or a card of an edited post,
must keep the GUID its note already has; a note's `mod` must move forward exactly when
its content changes; and no two cards may ever hold one GUID, or one note's import
overwrites the other's. The ledger remembers every card issued (GUID, post, question,
answers, a digest of the note's content and when that content last changed) in its own
SQLite file, `.flashgen/ledger.sqlite`: it is not a cache, and clearing the response
cache never touches it. When it is lost, the package of the last build holds enough to
re-seed it (flashgen.export.packaged_notes).
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import genanki
from pydantic import BaseModel, ConfigDict

from flashgen.cache import SQLiteFile, is_damaged, move_aside
from flashgen.check.rules import card_text
from flashgen.clean import is_variant
from flashgen.errors import LedgerDamaged, LedgerError
from flashgen.files import atomic_file
from flashgen.models import Card, Post
from flashgen.text import (
    anchor_weights,
    join_answers,
    line_key,
    normalize,
    rarest_prefix,
    similarity,
    token_ranks,
    words,
)

# How close a regenerated card must be to an earlier card of its post to be the same fact:
# what is recalled nearly the same, and the question about the same thing. Answers are
# short and must agree; questions a model rewords freely (a Russian rewording shares
# ~0.3 of its 3-gram shingles, an unrelated question of the same post ~0.0-0.2), and the
# answer already narrows the choice to the cards of one post.
ANSWER_SIMILARITY = 0.8
QUESTION_SIMILARITY = 0.25
# A post whose id is its text (pasted) and that has no cards issued yet is an edit of a
# post gone from the inputs only when it comes from the same file and channel and keeps
# most of that post's own lines (by length). Lines that several posts of the file share
# are a template's, and no evidence: two job ads of one template are two posts. Candidates
# are first narrowed to posts sharing this share of their words (Jaccard).
POST_SIMILARITY = 0.5
KEPT_LINES = 0.5
# A line is kept when it is there again, with a span added or cut (clean.is_variant), or
# reworded this little (a typo, a word changed).
LINE_SIMILARITY = 0.75


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
class Decision:
    """A reviewer's decision on one card: accept, reject, or edit with the user's text
    (None where the user kept the card's own)."""

    decision: str  # "accept" | "reject" | "edit"
    question: str | None = None
    answer: str | None = None
    extra: str | None = None
    decided: int = 0  # when, in seconds


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


def _closeness(card: Card, entry: Entry) -> float | None:
    """How alike a new card and an earlier one of its post are, or None when not the same."""
    if card.kind != entry.kind:
        return None
    answers = similarity(join_answers(card.answers), join_answers(entry.answers), containment=True)
    if answers < ANSWER_SIMILARITY:
        return None
    question = similarity(card.question, entry.question)
    if question < QUESTION_SIMILARITY:
        return None
    return answers + question


def own_guids(cards: Sequence[tuple[Card, str]]) -> list[str]:
    """A GUID for each card (card, GUID of its identity) that no other card of them holds.

    Two cards of one identity (one sentence, one answer) that the duplicate search kept
    are two facts: each gets its identity's GUID mixed with the words of the sentence its
    question names (what tells them apart, and what a rewording mostly keeps), then with
    its question. The result depends on the set of cards, not on their order.
    """
    groups: dict[str, list[int]] = defaultdict(list)
    for index, (_, guid) in enumerate(cards):
        groups[guid].append(index)
    out = [guid for _, guid in cards]
    used = set(groups)
    for guid, members in groups.items():
        if len(members) == 1:
            continue
        ranked = sorted(members, key=lambda i: cards[i][0].model_dump_json())
        for index in ranked:
            card = cards[index][0]
            text = card_text(card)
            named = "|".join(sorted(anchor_weights(text.prompt, card.source_quote, text.answers)))
            candidate = str(genanki.guid_for(guid, named))
            if candidate in used:
                candidate = str(genanki.guid_for(guid, named, normalize(card.question)))
            n = 1
            while candidate in used:  # the same card twice: still two notes, never one GUID
                n += 1
                candidate = str(genanki.guid_for(guid, named, normalize(card.question), n))
            used.add(candidate)
            out[index] = candidate
    return out


def reconcile(
    cards: Sequence[tuple[Card, str, str]],
    earlier: Iterable[Entry],
    timestamp: int,
    generated: Iterable[str],
) -> Reconciled:
    """GUIDs and mod times for `cards` (card, GUID from its identity, content digest).

    A card keeps the GUID of an earlier card of its post that it matches exactly, else of
    the closest earlier card that is the same fact, else gets a GUID of its own; no GUID
    goes to two cards. Its `mod` stays when its content is unchanged and moves to
    `timestamp` (or just past the last change) when it changed. Earlier cards of the posts
    in `generated` that no card took are stale.
    """
    by_post: dict[str, list[Entry]] = {}
    for entry in earlier:
        by_post.setdefault(entry.post_id, []).append(entry)
    own = own_guids([(card, guid) for card, guid, _ in cards])
    out = Reconciled()
    # Claimed GUIDs: a GUID goes to one card of the build, even when the entries of an
    # edited post's predecessor are offered to it (see Ledger.earlier).
    taken: set[str] = set()
    chosen: dict[int, Entry] = {}
    # Exact identities first, so a fuzzy match never takes a GUID a card owns outright.
    for index, (card, _, _) in enumerate(cards):
        for entry in by_post.get(card.post_id, ()):
            if entry.guid == own[index] and entry.guid not in taken:
                chosen[index] = entry
                taken.add(entry.guid)
                break
    pairs = []
    for index, (card, _, _) in enumerate(cards):
        if index in chosen:
            continue
        for order, entry in enumerate(by_post.get(card.post_id, ())):
            score = _closeness(card, entry)
            if score is not None and entry.guid not in taken:
                pairs.append((-score, index, order, entry))
    # Closest pairs first; index and order break ties, so the result is reproducible.
    for _, index, _, entry in sorted(pairs, key=lambda p: p[:3]):
        if index not in chosen and entry.guid not in taken:
            chosen[index] = entry
            taken.add(entry.guid)
    issued: set[str] = set()
    for index, (card, _, digest) in enumerate(cards):
        match = chosen.get(index)
        if match is None:
            mod = timestamp
            guid = own[index]
            n = 1
            while guid in taken or guid in issued:  # another card took it from the ledger
                n += 1
                guid = str(genanki.guid_for(own[index], n))
        else:
            guid = match.guid
            # Anki updates a note only when the incoming one is newer than its own.
            mod = match.changed if match.digest == digest else max(timestamp, match.changed + 1)
        issued.add(guid)
        out.issues[card] = Issue(guid=guid, mod=mod)
        out.entries.append(
            Entry(
                post_id=card.post_id,
                guid=guid,
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


def _lines(text: str) -> list[str]:
    return [key for key in (line_key(line).casefold() for line in text.split("\n")) if key]


def _kept_share(old: list[str], new: list[str], template: set[str]) -> float:
    """The share (by length) of the old post's own lines that the new post keeps."""
    own = [line for line in old if line not in template]
    total = sum(map(len, own))
    if not total:
        return 0.0
    exact = set(new)
    kept = sum(
        len(line)
        for line in own
        if line in exact
        or any(
            is_variant(line, other) or similarity(line, other) >= LINE_SIMILARITY for other in new
        )
    )
    return kept / total


def match_edits(
    fresh: Sequence[Post],
    gone: Sequence[Post],
    now: Sequence[Post] = (),
    before: Sequence[Post] = (),
) -> dict[str, str]:
    """Id of a fresh post → id of the gone post it is an edit of, one to one.

    Only posts whose id is their text (those with a `source`) can be edits, and only of a
    post of the same file and channel whose own lines they mostly keep (KEPT_LINES). A
    line that two posts of one file share, among the inputs `now` (the fresh included) or
    among the posts remembered `before` (the gone included), is a template's — a heading,
    a signature, a field name — and no evidence. Closest pairs first (ties by input order
    and id); prefix filtering on words finds the candidates without comparing every pair.
    """
    fresh = [post for post in fresh if post.source is not None]
    gone = [post for post in gone if post.source is not None]
    if not fresh or not gone:
        return {}
    lines = {id(post): _lines(post.text) for post in (*fresh, *gone)}
    template: dict[str | None, set[str]] = defaultdict(set)
    for side in ((*fresh, *now), (*gone, *before)):
        seen: Counter[tuple[str | None, str]] = Counter()
        for post in {p.id: p for p in side if p.source is not None}.values():
            seen.update((post.source, line) for line in set(_lines(post.text)))
        for (source, line), count in seen.items():
            if count > 1:
                template[source].add(line)
    bags = {id(post): set(words(normalize(post.text))) for post in (*fresh, *gone)}
    counts: Counter[str] = Counter()
    for bag in bags.values():
        counts.update(bag)
    rank = token_ranks(counts)
    index: dict[tuple[str | None, str, str], list[Post]] = defaultdict(list)
    for old in gone:
        for token in rarest_prefix(bags[id(old)], rank, POST_SIMILARITY):
            index[(old.source, old.channel, token)].append(old)
    pairs = []
    for order, new in enumerate(fresh):
        bag = bags[id(new)]
        candidates = {
            id(old): old
            for token in rarest_prefix(bag, rank, POST_SIMILARITY)
            for old in index.get((new.source, new.channel, token), ())
        }
        for old in candidates.values():
            union = len(bag | bags[id(old)])
            if not union or len(bag & bags[id(old)]) / union < POST_SIMILARITY:
                continue
            kept = _kept_share(lines[id(old)], lines[id(new)], template[new.source])
            if kept >= KEPT_LINES:
                pairs.append((-kept, order, old.id, new.id))
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
    if not stale:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise LedgerError(f"{path}: cannot remove ({exc.strerror or exc})") from exc
        return None
    with atomic_file(path, LedgerError, "stale cards") as out:
        for card in stale:
            out.write((card.model_dump_json() + "\n").encode("utf-8"))
    return path


class Ledger(SQLiteFile):
    """The issued cards in their own SQLite file; open with `with Ledger(path) as ledger:`."""

    error = LedgerError
    what = "ledger"
    schema = (
        # One row per GUID: a GUID names one card, whichever post it lives under now.
        "CREATE TABLE IF NOT EXISTS issued ("
        " guid TEXT PRIMARY KEY, post_id TEXT NOT NULL, kind TEXT NOT NULL,"
        " question TEXT NOT NULL, answers TEXT NOT NULL, digest TEXT NOT NULL,"
        " changed INTEGER NOT NULL)",
        "CREATE INDEX IF NOT EXISTS issued_post ON issued (post_id)",
        # The posts cards were issued for, to recognise one whose id an edit changed.
        "CREATE TABLE IF NOT EXISTS posts ("
        " post_id TEXT PRIMARY KEY, channel TEXT NOT NULL, source TEXT, text TEXT NOT NULL)",
        # What the user decided in `flashgen review`, by GUID: a card's identity outlives
        # its wording, so a decision holds whatever the model writes next time.
        "CREATE TABLE IF NOT EXISTS decisions ("
        " guid TEXT PRIMARY KEY, decision TEXT NOT NULL, question TEXT, answer TEXT,"
        " extra TEXT, decided INTEGER NOT NULL)",
    )

    def __init__(self, path: str | Path) -> None:
        try:
            super().__init__(path)
        except LedgerError as exc:
            if is_damaged(exc):
                raise LedgerDamaged(
                    f"{self.path}: the ledger is damaged ({exc.__cause__})"
                ) from exc.__cause__
            raise
        self._edits: dict[str, str] = {}  # new post id → the id it had, found by earlier()

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        try:
            return self._read(sql, args)
        except LedgerError as exc:
            # A locked or unreadable file is not a damaged one; a malformed page is.
            if not is_damaged(exc):
                raise
            raise LedgerDamaged(f"{self.path}: the ledger is damaged ({exc.__cause__})") from exc

    def __len__(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM issued")[0][0])

    def check(self) -> None:
        """Read the whole file once: a damaged page shows now, not halfway through a build."""
        try:
            super().check()
        except LedgerError as exc:
            if not is_damaged(exc):
                raise
            raise LedgerDamaged(str(exc)) from exc.__cause__

    def entries(self, post_ids: Iterable[str]) -> list[Entry]:
        """Every card issued so far for these posts, in a stable order."""
        out: list[Entry] = []
        for post_id in sorted(set(post_ids)):
            rows = self._query(
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
        issued = {row[0] for row in self._query("SELECT DISTINCT post_id FROM issued")}
        fresh = [post for post in posts.values() if post.id not in issued and post.source]
        gone = issued - posts.keys()
        self._edits = {}
        if fresh and gone:
            rows = self._query(
                "SELECT post_id, channel, source, text FROM posts"
                " WHERE source IS NOT NULL ORDER BY post_id"
            )
            remembered = [Post(id=i, channel=c, source=src, text=t) for i, c, src, t in rows]
            vanished = [post for post in remembered if post.id in gone]
            self._edits = match_edits(fresh, vanished, list(posts.values()), remembered)
        for new_id, old_id in sorted(self._edits.items()):
            out += [dataclasses.replace(e, post_id=new_id) for e in self.entries([old_id])]
        return out

    def decisions(self) -> dict[str, Decision]:
        """Every decision the user made in a review, by GUID."""
        rows = self._query(
            "SELECT guid, decision, question, answer, extra, decided FROM decisions ORDER BY guid"
        )
        return {row[0]: Decision(*row[1:]) for row in rows}

    def decide(self, guid: str, decision: Decision) -> None:
        """Record one decision at once; «accept» keeps the card as generated."""
        try:
            with self._db:
                self._db.execute(
                    "INSERT OR REPLACE INTO decisions (guid, decision, question, answer, extra,"
                    " decided) VALUES (?, ?, ?, ?, ?, ?)",
                    (guid, *dataclasses.astuple(decision)),
                )
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot write the ledger ({exc})") from exc

    def remember(self, entries: Iterable[Entry], posts: Iterable[Post] = ()) -> None:
        """Record the cards a written package holds and their posts, in one transaction."""
        entries = list(entries)
        with_cards = {entry.post_id for entry in entries}
        moved = [(new, old) for new, old in self._edits.items() if new in with_cards]
        self._write(entries, [p for p in posts if p.id in with_cards], moved)

    def seed(self, entries: Iterable[Entry], posts: Iterable[Post] = ()) -> None:
        """Fill the ledger from what an earlier ledger or package remembers."""
        self._write(list(entries), list(posts), [])

    def _write(self, entries: list[Entry], posts: list[Post], moved: list[tuple[str, str]]) -> None:
        try:
            with self._db:
                self._db.execute("BEGIN")
                # The cards of an edited post now live under its new id, those no card
                # took as well: they stay known (stale), and an edit undone finds them.
                self._db.executemany("UPDATE issued SET post_id = ? WHERE post_id = ?", moved)
                self._db.executemany(
                    "DELETE FROM posts WHERE post_id = ?", [(old,) for _, old in moved]
                )
                self._db.executemany(
                    "INSERT OR REPLACE INTO posts (post_id, channel, source, text)"
                    " VALUES (?, ?, ?, ?)",
                    [(p.id, p.channel, p.source, p.text) for p in posts],
                )
                self._db.executemany(
                    "INSERT OR REPLACE INTO issued (guid, post_id, kind, question, answers,"
                    " digest, changed) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            e.guid,
                            e.post_id,
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


def legacy_entries(cache: Path) -> tuple[list[Entry], list[Post]]:
    """What the ledger of earlier versions, a table of the response cache, remembers; the
    file is only read."""
    if not cache.is_file():
        return [], []
    try:
        db = sqlite3.connect(f"{cache.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = db.execute(
                "SELECT post_id, guid, kind, question, answers, digest, changed FROM issued"
            ).fetchall()
            posts = db.execute("SELECT post_id, channel, text FROM posts").fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return [], []  # no such table, or not a cache of ours: nothing to carry over
    # One card per GUID: that ledger could hold a GUID twice (a twin card, an edited post).
    entries = {
        guid: Entry(post, guid, kind, question, tuple(json.loads(answers)), digest, changed)
        for post, guid, kind, question, answers, digest, changed in sorted(rows)
    }
    return list(entries.values()), [Post(id=i, channel=c, text=t) for i, c, t in posts]


def _forget_legacy(cache: Path) -> None:
    """Drop an earlier version's ledger tables from the cache, once carried over."""
    try:
        db = sqlite3.connect(cache)
        try:
            with db:
                db.execute("DROP TABLE IF EXISTS issued")
                db.execute("DROP TABLE IF EXISTS posts")
        finally:
            db.close()
    except sqlite3.Error:
        pass  # a cache that cannot be written keeps them; the ledger now has them


def _aside(path: Path) -> Path:
    """A free name beside `path` to keep a damaged file under."""
    n = 0
    while True:
        n += 1
        target = path.with_name(f"{path.name}.damaged" + (f".{n}" if n > 1 else ""))
        if not target.exists():
            return target


Seeder = Callable[[], tuple[list[Entry], list[Post], str]]


def open_ledger(
    path: str | Path, *, legacy: Path | None = None, packages: Seeder | None = None
) -> tuple[Ledger, str | None]:
    """The ledger at `path`, and a one-line notice when it had to be rebuilt.

    A ledger that is missing or empty is filled from an earlier version's ledger in the
    response cache (`legacy`), else from the packages of the last build (`packages`: what
    they hold, and where). A damaged one is kept aside and re-seeded from the packages;
    with no package to re-seed from, it is an error, never an empty ledger.
    """
    path = Path(path)
    opened: Ledger | None = None
    try:
        opened = book = Ledger(path)
        book.check()
    except LedgerDamaged as exc:
        if opened is not None:
            opened.close()
        entries, posts, where = packages() if packages is not None else ([], [], "")
        if not entries:
            raise LedgerDamaged(
                f"{exc}, and no package of an earlier build is in the output folder to re-seed "
                "it from; nothing was written: restore the file, or move it aside to start "
                "afresh (every card then becomes a new note)"
            ) from exc
        aside = _aside(path)
        move_aside(path, aside, LedgerError, "ledger")
        book = Ledger(path)
        book.seed(entries, posts)
        return book, (
            f"the ledger {path} was damaged; kept it as {aside.name} and re-seeded it "
            f"with {len(entries)} notes from {where}"
        )
    if len(book):
        return book, None
    entries, posts = legacy_entries(legacy) if legacy is not None else ([], [])
    if entries and legacy is not None:
        book.seed(entries, posts)
        # Moved, not copied: a later lost ledger is re-seeded from the packages, which are
        # newer than these rows.
        _forget_legacy(legacy)
        return book, f"moved the ledger of {len(entries)} issued notes from {legacy} to {path}"
    if packages is not None:
        entries, posts, where = packages()
        if entries:
            book.seed(entries, posts)
            return book, (
                f"the ledger {path} was missing; re-seeded it with {len(entries)} notes "
                f"from {where}"
            )
    return book, None
