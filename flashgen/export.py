"""Export: decks of cards as Anki packages, with identities that survive rebuilds.

Note types have fixed ids, deck ids come from deck names and note GUIDs from the post
and the card's identity (or, through flashgen.ledger, from the earlier card it replaces),
so re-importing a rebuilt package updates notes instead of adding duplicates. Each note's
`mod` is when its content last changed, so Anki updates exactly the changed notes. The
package is written to a temporary file and renamed into place, and with a fixed timestamp
the same input gives the same bytes.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import os
import re
import shutil
import sqlite3
import tempfile
import time
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import genanki

from flashgen.errors import ExportError
from flashgen.files import atomic_file
from flashgen.ledger import Entry, Issue
from flashgen.models import CLOZE_RE, Card, Post, card_identity, cloze_deletions
from flashgen.text import (
    LIST_MARKER,
    normalize,
    readable,
    safe_link,
    split_sentences,
    without_pictographs,
    words,
)

# Fixed for good: Anki matches note types by id, and changing fields under one id makes
# every earlier import conflict.
BASIC_MODEL_ID = 1_718_203_901
CLOZE_MODEL_ID = 1_718_203_902

CSS = """\
.card { font-family: -apple-system, "Segoe UI", Roboto, Arial, sans-serif; font-size: 20px;
  line-height: 1.45; text-align: left; color: #1d1d1f; background: #fdfdfd;
  max-width: 40em; margin: 0 auto; padding: 0 .5em; }
.cloze { font-weight: bold; color: #0a58ca; }
.extra { margin-top: 1em; }
.source { margin-top: 1.2em; font-size: 14px; color: #6c757d; }
.source a { color: inherit; }
.quote { margin: .8em 0 0; padding: .3em .8em; border-left: 3px solid #ced4da;
  font-size: 15px; color: #495057; }
.nightMode .card, .night_mode .card, .card.nightMode { color: #e6e6e6; background: #1e1e1e; }
.nightMode .cloze, .night_mode .cloze { color: #6ea8fe; }
.nightMode .source, .night_mode .source { color: #adb5bd; }
.nightMode .quote, .night_mode .quote { color: #ced4da; border-left-color: #495057; }
"""

_SOURCE_AND_QUOTE = (
    '{{#Source}}<div class="source">{{Source}}</div>{{/Source}}'
    '{{#Quote}}<blockquote class="quote">{{Quote}}</blockquote>{{/Quote}}'
)

BASIC_MODEL = genanki.Model(
    BASIC_MODEL_ID,
    "Flashgen Basic",
    fields=[{"name": "Question"}, {"name": "Answer"}, {"name": "Source"}, {"name": "Quote"}],
    templates=[
        {
            "name": "Card 1",
            "qfmt": "{{Question}}",
            "afmt": '{{FrontSide}}<hr id="answer">{{Answer}}' + _SOURCE_AND_QUOTE,
        }
    ],
    css=CSS,
)

CLOZE_MODEL = genanki.Model(
    CLOZE_MODEL_ID,
    "Flashgen Cloze",
    fields=[{"name": "Text"}, {"name": "Extra"}, {"name": "Source"}, {"name": "Quote"}],
    templates=[
        {
            "name": "Cloze",
            "qfmt": "{{cloze:Text}}",
            "afmt": '{{cloze:Text}}{{#Extra}}<div class="extra">{{Extra}}</div>{{/Extra}}'
            + _SOURCE_AND_QUOTE,
        }
    ],
    css=CSS,
    model_type=genanki.Model.CLOZE,
)


def deck_id(name: str) -> int:
    """A deck id derived from the deck's name, in the range genanki recommends."""
    digest = hashlib.sha256(name.encode()).digest()
    return (1 << 30) + int.from_bytes(digest[:8], "big") % (1 << 30)


def note_guid(card: Card) -> str:
    return str(genanki.guid_for(card.post_id, card_identity(card)))


def tag_of(label: str) -> str:
    """An Anki tag from any label: Unicode kept, whitespace runs become `_`."""
    return re.sub(r"\s+", "_", unicodedata.normalize("NFC", label).strip())


def field_html(text: str) -> str:
    """Text from a post or a model as an HTML field: escaped, line breaks kept, control
    characters dropped (a model may write Anki's field separator too)."""
    return html.escape(readable(text)).replace("\n", "<br>")


def cloze_html(text: str) -> str:
    """A cloze text as HTML: the text, answers and hints escaped, the `{{cN::…}}` marks kept."""

    def deletion(match: re.Match[str]) -> str:
        hint = f"::{field_html(match.group(3))}" if match.group(3) else ""
        return f"{{{{c{match.group(1)}::{field_html(match.group(2))}{hint}}}}}"

    out, pos = [], 0
    for match in CLOZE_RE.finditer(text):
        out.append(field_html(text[pos : match.start()]))
        out.append(deletion(match))
        pos = match.end()
    out.append(field_html(text[pos:]))
    return "".join(out)


def source_html(post: Post | None) -> str:
    """Where the card came from: channel, date and a link to the post when known."""
    if post is None:
        return ""
    channel = html.escape(post.channel)
    url = safe_link(post.url)
    if url:
        channel = f'<a href="{html.escape(url, quote=True)}">{channel}</a>'
    return f"{channel} · {html.escape(post.date[:10])}" if post.date else channel


class StampedNote(genanki.Note):
    """A note with its own `mod` and `data`.

    genanki stamps every note with the package's timestamp, but Anki updates a note on
    import only when its `mod` is newer, so the time must be the last change of this
    note's content (see flashgen.ledger). `data`, a column Anki leaves unused, holds what
    the ledger needs to be re-seeded from this package: the note's post, and for a post
    whose id is its text, its file and text once.
    """

    def __init__(self, *args: Any, mod: int | None = None, data: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mod = mod
        self.data = data

    def write_to_db(self, cursor: Any, timestamp: float, deck_id: int, id_gen: Any) -> None:
        super().write_to_db(cursor, timestamp if self.mod is None else self.mod, deck_id, id_gen)
        if self.data:
            # This note is the newest row (genanki's ids only grow); by the primary key,
            # not by guid, which has no index: a scan per note made export quadratic.
            cursor.execute(
                "UPDATE notes SET data = ? WHERE id = (SELECT max(id) FROM notes)", (self.data,)
            )


def note_tags(card: Card, post: Post | None) -> list[str]:
    """The card's own tags, then `topic::…` and `channel::…` (hierarchical in Anki)."""
    tags = [tag_of(tag) for tag in card.tags]
    tags.append(f"topic::{tag_of(card.topic)}")
    if post is not None:
        tags.append(f"channel::{tag_of(post.channel)}")
    return sorted({tag for tag in tags if tag})


_LIST_MARKER_RE = re.compile(rf"^\s*{LIST_MARKER}\s*")


def shown_quote(card: Card) -> str:
    """The Quote a note shows: for a cloze, what its quote says beyond the cloze's own
    text — the sentences beside it, with «…» where the cloze's sentence stood — since the
    back already prints the sentence in full; for a basic card, its quote."""
    if card.kind != "cloze":
        return card.source_quote
    shown = normalize(without_pictographs(CLOZE_RE.sub(lambda m: m.group(2), card.question)))
    parts: list[str | None] = []
    for line in card.source_quote.split("\n"):
        for sentence in split_sentences(line):
            # A list item is told whatever its bullet: the front numbers its items anew.
            told = normalize(_LIST_MARKER_RE.sub("", without_pictographs(sentence)))
            # A short sentence that only happens to stand inside the front («А не X.») is
            # still its own.
            if told in shown and (len(words(told)) >= 4 or told == shown):
                if not parts or parts[-1] is not None:
                    parts.append(None)  # the place of what the front shows
            else:
                parts.append(sentence)
    if all(part is None for part in parts):
        return ""
    return " ".join("…" if part is None else part for part in parts)


def _note_parts(card: Card, post: Post | None) -> tuple[genanki.Model, list[str], list[str]]:
    """What a card's note shows: its note type, fields and tags."""
    if card.kind == "cloze":
        model, first, second = CLOZE_MODEL, cloze_html(card.question), field_html(card.answer)
    else:
        model, first, second = BASIC_MODEL, field_html(card.question), field_html(card.answer)
    fields = [first, second, source_html(post), field_html(shown_quote(card))]
    return model, fields, note_tags(card, post)


def card_note(card: Card, post: Post | None, issue: Issue | None = None) -> StampedNote:
    """The card as a note; `issue` gives the GUID and mod the ledger chose."""
    model, fields, tags = _note_parts(card, post)
    return StampedNote(
        model=model,
        fields=fields,
        guid=issue.guid if issue else note_guid(card),
        tags=tags,
        mod=issue.mod if issue else None,
    )


def _digest(model_id: int, fields: list[str], tags: list[str]) -> str:
    blob = json.dumps([model_id, fields, tags], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def note_digest(card: Card, post: Post | None) -> str:
    """A digest of everything a note shows (note type, fields, tags), to tell a changed note."""
    model, fields, tags = _note_parts(card, post)
    return _digest(model.model_id, fields, tags)


def _field_text(field: str) -> str:
    """A field back as the text it was made from (field_html and cloze_html undone)."""
    return html.unescape(field.replace("<br>", "\n"))


def _read_notes(path: Path) -> list[tuple[str, int, int, str, str, str]]:
    """(guid, note type id, mod, fields, tags, data) of every note in an .apkg."""
    with tempfile.TemporaryDirectory(prefix="flashgen-") as tmp:
        with zipfile.ZipFile(path) as archive:
            archive.extract("collection.anki2", tmp)
        conn = sqlite3.connect(Path(tmp) / "collection.anki2")
        try:
            return conn.execute("SELECT guid, mid, mod, flds, tags, data FROM notes").fetchall()
        finally:
            conn.close()


def _post_of(quote: str, channel: str | None, posts: Mapping[str, Post]) -> str | None:
    """The one post that holds a note's quote (for packages written before notes kept
    their post id), or None when none or several do."""
    wanted = normalize(quote)
    found = [
        post.id
        for post in posts.values()
        if wanted in normalize(post.text) and channel in (None, tag_of(post.channel))
    ]
    return found[0] if len(found) == 1 else None


def packaged_notes(out_dir: Path, posts: Mapping[str, Post]) -> tuple[list[Entry], list[Post], str]:
    """What the packages flashgen wrote into `out_dir` hold for the ledger: an entry per
    note, the posts described in them, and which packages they were.

    A file that is not a readable package of flashgen's notes is passed over: this only
    recovers what can be recovered.
    """
    entries: dict[str, Entry] = {}
    described: dict[str, Post] = {}
    used: list[str] = []
    for path in sorted(out_dir.glob("*.apkg")) if out_dir.is_dir() else []:
        try:
            rows = _read_notes(path)
        except (OSError, KeyError, zipfile.BadZipFile, sqlite3.Error):
            continue
        before = len(entries)
        for guid, model_id, mod, flds, tags, data in rows:
            fields = flds.split("\x1f")
            if model_id not in (BASIC_MODEL_ID, CLOZE_MODEL_ID) or len(fields) != 4:
                continue
            try:
                meta = json.loads(data) if data else {}
            except json.JSONDecodeError:
                meta = {}
            tag_list = tags.split()
            channel = next(
                (t.removeprefix("channel::") for t in tag_list if t.startswith("channel::")), None
            )
            post_id = meta.get("post") or _post_of(_field_text(fields[3]), channel, posts)
            if not isinstance(post_id, str):
                continue
            question = _field_text(fields[0])
            if model_id == CLOZE_MODEL_ID:
                kind, answers = "cloze", tuple(a for _, a in cloze_deletions(question))
            else:
                kind, answers = "basic", (_field_text(fields[1]),)
            digest = _digest(model_id, fields, tag_list)
            entries[guid] = Entry(post_id, guid, kind, question, answers, digest, int(mod))
            if all(isinstance(meta.get(k), str) for k in ("text", "channel", "source")):
                described[post_id] = Post(
                    id=post_id, channel=meta["channel"], source=meta["source"], text=meta["text"]
                )
        if len(entries) > before:
            used.append(str(path))
    return list(entries.values()), list(described.values()), ", ".join(used)


def _note_data(post_id: str, post: Post | None, described: set[str]) -> str:
    data: dict[str, str] = {"post": post_id}
    if post is not None and post.source is not None and post_id not in described:
        described.add(post_id)
        data.update(channel=post.channel, source=post.source, text=post.text)
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def build_decks(
    decks: Mapping[str, Iterable[Card]],
    posts: Mapping[str, Post],
    root: str,
    issues: Mapping[Card, Issue] | None = None,
) -> list[genanki.Deck]:
    """The decks as genanki objects; two notes with one GUID are refused, since importing
    them would make one overwrite the other."""
    out = [genanki.Deck(deck_id(root), root)]
    guids: set[str] = set()
    described: set[str] = set()
    for name, cards in decks.items():
        deck = genanki.Deck(deck_id(name), name)
        for card in cards:
            post = posts.get(card.post_id)
            note = card_note(card, post, (issues or {}).get(card))
            if note.guid in guids:
                raise ExportError(f"two notes would share the GUID {note.guid}: {card.question!r}")
            guids.add(note.guid)
            note.data = _note_data(card.post_id, post, described)
            deck.add_note(note)
        out.append(deck)
    return out


def slug(name: str) -> str:
    """A file name from a topic: letters and digits of any script kept, spaces become `-`."""
    text = unicodedata.normalize("NFC", name)
    kept = "".join(ch for ch in text if ch.isalnum() or ch in " -_")
    return re.sub(r"[\s_-]+", "-", kept).strip("-") or "deck"


def default_timestamp() -> float:
    """SOURCE_DATE_EPOCH when set (reproducible builds), else now."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not epoch:
        return time.time()
    try:
        return float(int(epoch))
    except ValueError as exc:
        raise ExportError(f"SOURCE_DATE_EPOCH must be whole seconds, got {epoch!r}") from exc


def write_package(decks: list[genanki.Deck], path: Path, timestamp: float) -> None:
    """Write an .apkg atomically: a crash leaves the previous file, never half of a new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="flashgen-") as tmp:
        db_path = Path(tmp) / "collection.anki2"
        conn = sqlite3.connect(db_path)
        try:
            genanki.Package(decks).write_to_db(
                conn.cursor(), timestamp, itertools.count(int(timestamp * 1000))
            )
            conn.commit()
        finally:
            conn.close()
        # Fixed zip metadata: the same notes and timestamp give the same bytes.
        date_time = time.gmtime(max(timestamp, 315532800))[:6]
        with (
            atomic_file(path, ExportError, "package") as raw,
            zipfile.ZipFile(raw, "w") as archive,
        ):
            for name, source in (("collection.anki2", db_path), ("media", None)):
                info = zipfile.ZipInfo(name, date_time=date_time)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                if source is None:
                    archive.writestr(info, b"{}")
                    continue
                # Streamed: a large deck's collection is not read into memory whole.
                with source.open("rb") as data, archive.open(info, "w") as member:
                    shutil.copyfileobj(data, member, 1 << 20)


def export_decks(
    decks: Mapping[str, Iterable[Card]],
    posts: Mapping[str, Post],
    path: Path,
    *,
    root: str,
    timestamp: float | None = None,
    issues: Mapping[Card, Issue] | None = None,
) -> Path:
    """Write the decks into one package at `path`; `issues` are the ledger's GUIDs and mods."""
    stamp = default_timestamp() if timestamp is None else timestamp
    try:
        write_package(build_decks(decks, posts, root, issues), path, stamp)
    except OSError as exc:
        raise ExportError(f"{path}: cannot write the package ({exc.strerror or exc})") from exc
    return path


def export_split(
    decks: Mapping[str, Iterable[Card]],
    posts: Mapping[str, Post],
    out_dir: Path,
    *,
    root: str,
    timestamp: float | None = None,
    issues: Mapping[Card, Issue] | None = None,
) -> list[Path]:
    """One package per deck, `<slug of the topic>.apkg`; deck names stay as in one package,
    so importing them all gives the same tree."""
    stamp = default_timestamp() if timestamp is None else timestamp
    paths: list[Path] = []
    used: set[str] = set()
    for name, cards in decks.items():
        base = slug(name.removeprefix(f"{root}::"))
        stem, n = base, 1
        while stem.casefold() in used:  # two topics that differ only in punctuation or case
            n += 1
            stem = f"{base}-{n}"
        used.add(stem.casefold())
        paths.append(
            export_decks(
                {name: cards},
                posts,
                out_dir / f"{stem}.apkg",
                root=root,
                timestamp=stamp,
                issues=issues,
            )
        )
    return paths
