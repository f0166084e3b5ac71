"""Review before import: the page a build writes, the decisions a reviewer makes on it,
and the small local server that keeps them.

A build writes `DIR/flashgen.html`, one self-contained page (no network), and
`DIR/flashgen.review.json`, the same cards as data. `flashgen review` serves the page from
127.0.0.1 with a random token; the page's keys and buttons post decisions to `/api/`,
which go straight into the ledger, keyed by the card's GUID. Every later build applies
them (`apply_decisions`): a rejected card is not exported again however the model rewords
it, an edited one is exported with the user's text.

Text from posts and models reaches the page only as JSON data, which the page's script
turns into text nodes: nothing a post holds is ever parsed as HTML.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hmac
import html
import io
import json
import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote

from pydantic import ValidationError

from flashgen.check import Rejection
from flashgen.errors import ExportError, FlashgenError, InputError
from flashgen.export import note_digest, shown_quote
from flashgen.files import atomic_file
from flashgen.ledger import Decision, Entry, Issue, Ledger, Reconciled, StaleCard
from flashgen.models import Card, Post
from flashgen.text import safe_link

PAGE_NAME = "flashgen.html"
DATA_NAME = "flashgen.review.json"
BY_YOU = "rejected-by-you"
DECISIONS = ("accept", "reject", "edit")
MAX_BODY = 64 * 1024  # a decision is a few lines of text


# --- decisions in a build ---------------------------------------------------------------


@dataclass
class Decided:
    """A build's cards after the reviewer's decisions."""

    cards: list[Card]  # to export, edited ones with the user's text
    issues: dict[Card, Issue]
    rejected: list[tuple[Rejection, str]]  # rejected by the reviewer, with their GUIDs
    edited: int
    decisions: dict[str, str]  # GUID → decision, for the page
    # GUID → the card as generated, for an edited one: the page shows both.
    originals: dict[str, Card] = dataclasses.field(default_factory=dict)
    notices: list[str] = dataclasses.field(default_factory=list)


def apply_decisions(
    cards: Sequence[Card],
    plan: Reconciled,
    decisions: Mapping[str, Decision],
    posts: Mapping[str, Post],
    earlier: Iterable[Entry],
    timestamp: int,
) -> Decided:
    """The cards to export once the reviewer's decisions are applied to `plan`.

    A rejected card leaves the package (its ledger entry stays, so a reworded card of the
    same fact still finds its GUID and stays rejected). An edited card is exported under
    its GUID with the user's text; its note's `mod` moves only when that text changes,
    as the ledger then remembers the edited note's digest.
    """
    before = {entry.guid: entry for entry in earlier}
    entries = {entry.guid: index for index, entry in enumerate(plan.entries)}
    out = Decided(cards=[], issues={}, rejected=[], edited=0, decisions={})
    # An edit must not make a card the same as another: two notes would share a GUID.
    taken = set(cards)
    for card in cards:
        issue = plan.issues[card]
        decision = decisions.get(issue.guid)
        if decision is not None:
            out.decisions[issue.guid] = decision.decision
        if decision is None or decision.decision == "accept":
            out.cards.append(card)
            out.issues[card] = issue
            continue
        if decision.decision == "reject":
            out.rejected.append((Rejection(card=card, reasons=(BY_YOU,)), issue.guid))
            continue
        edited = edited_card(card, decision)
        if edited != card and edited in taken:
            out.notices.append(
                f"your edit of card {issue.guid} would make it another card of the build, "
                "so it keeps the generated text"
            )
            out.cards.append(card)
            out.issues[card] = issue
            continue
        taken.add(edited)
        out.originals[issue.guid] = card
        digest = note_digest(edited, posts.get(card.post_id))
        last = before.get(issue.guid)
        if last is not None and last.digest == digest:
            mod = last.changed
        else:
            mod = max(timestamp, last.changed + 1) if last is not None else issue.mod
        out.cards.append(edited)
        out.issues[edited] = Issue(guid=issue.guid, mod=mod)
        out.edited += 1
        index = entries.get(issue.guid)
        if index is not None:
            # The model's wording stays the entry's, so its next rewording matches; the
            # digest and date are the edited note's.
            plan.entries[index] = dataclasses.replace(
                plan.entries[index], digest=digest, changed=mod
            )
    return out


def edited_card(card: Card, decision: Decision) -> Card:
    """The card with the user's text: question; for a cloze, Extra; else the answer."""
    update: dict[str, str] = {}
    if decision.question is not None:
        update["question"] = decision.question
    if card.kind == "cloze" and decision.extra is not None:
        update["answer"] = decision.extra
    if card.kind == "basic" and decision.answer is not None:
        update["answer"] = decision.answer
    return Card.model_validate({**card.model_dump(), **update})


# --- the page ---------------------------------------------------------------------------


def review_data(
    decided: Decided,
    checks_rejected: Sequence[Rejection],
    stale: Sequence[StaleCard],
    failures: Mapping[str, str],
    posts: Mapping[str, Post],
    decks: Mapping[str, Sequence[Card]],
    *,
    ledger: str | None,
    built: int,
) -> dict[str, Any]:
    """What the page shows and `/api/cards` returns: every card of the build, its "cards"
    an iterator to be written once."""

    def entries() -> Iterator[dict[str, Any]]:
        deck_of = {id(card): name for name, members in decks.items() for card in members}
        for card in decided.cards:
            guid = decided.issues[card].guid
            # An edited card is listed as generated, the user's text beside it, so that
            # accepting it again shows what the next build will export.
            original = decided.originals.get(guid, card)
            entry = _card_entry(original, posts, status="exported", guid=guid)
            entry["deck"] = deck_of.get(id(card), "")
            entry["decision"] = decided.decisions.get(guid)
            if original is not card:
                entry["edited"] = {
                    "question": card.question,
                    "answer": None if card.kind == "cloze" else card.answer,
                    "extra": card.answer if card.kind == "cloze" else None,
                }
            yield entry
        for rejection, guid in decided.rejected:
            # Its GUID stays on the page, so the rejection can be undone.
            yield (
                _card_entry(
                    rejection.card, posts, status="rejected", reasons=list(rejection.reasons)
                )
                | {"guid": guid, "decision": "reject"}
            )
        for rejection in checks_rejected:
            yield (
                _card_entry(
                    rejection.card, posts, status="rejected", reasons=list(rejection.reasons)
                )
            )
        for old in stale:
            post = posts.get(old.post_id)
            yield (
                {
                    "guid": old.guid,
                    "status": "stale",
                    "kind": old.kind,
                    "question": old.question,
                    "answer": " | ".join(old.answers) if old.kind == "cloze" else old.answers[0],
                    "extra": "",
                    "quote": "",
                    "reasons": ["stale"],
                    "deck": "",
                    "decision": None,
                    **_post_fields(post, old.post_id),
                }
            )

    failed = [
        {"post_id": post_id, "reason": reason, **_post_fields(posts.get(post_id), post_id)}
        for post_id, reason in sorted(failures.items())
    ]
    return {
        "version": 1,
        "built": built,
        "ledger": ledger,
        "decks": {name: len(members) for name, members in decks.items()},
        # Made as they are written (write_review): a large build's entries are never all
        # held at once.
        "cards": entries(),
        "failed": failed,
    }


def _card_entry(
    card: Card,
    posts: Mapping[str, Post],
    *,
    status: str,
    guid: str | None = None,
    reasons: list[str] | None = None,
) -> dict[str, Any]:
    cloze = card.kind == "cloze"
    return {
        "guid": guid,
        "status": status,
        "kind": card.kind,
        "question": card.question,
        "answer": "" if cloze else card.answer,
        "extra": card.answer if cloze else "",
        "quote": shown_quote(card),
        "reasons": reasons or [],
        "deck": card.topic,
        **_post_fields(posts.get(card.post_id), card.post_id),
    }


def _post_fields(post: Post | None, post_id: str) -> dict[str, Any]:
    return {
        "post_id": post_id,
        "channel": post.channel if post else "",
        "date": post.date[:10] if post and post.date else "",
        # Only http(s) links become links on the page.
        "url": safe_web_link(post.url) if post else None,
    }


def safe_web_link(url: str | None) -> str | None:
    """An http(s) URL, else None: the page links nothing else (no javascript:, no tg:)."""
    link = safe_link(url)
    return link if link and re.match(r"https?://", link, re.IGNORECASE) else None


class _JsonSink:
    """One JSON document being written: to the data file as it is, or into the page's
    <script type="application/json"> with <, > and & as JSON escapes (only "</" could end
    that element early; the escapes keep the data the same and the element whole)."""

    def __init__(self, handle: BinaryIO, *, page: bool) -> None:
        self.handle, self.page, self.first = handle, page, True

    def write(self, text: str) -> None:
        if self.page:
            text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        self.handle.write(text.encode("utf-8"))

    def member(self, key: str) -> None:
        self.write(("{" if self.first else ", ") + _dumps(key) + ": ")
        self.first = False


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _write_data(data: Mapping[str, Any], sinks: Sequence[_JsonSink]) -> None:
    """`data` as one JSON object to each sink, keys sorted, its cards one entry at a time
    (and one per line), so the entries are made, written and let go one by one. The page
    leaves out the ledger's path: that is the server's business, not the page's (which
    may be shared)."""
    for key in sorted(data):
        targets = [sink for sink in sinks if not (sink.page and key == "ledger")]
        for sink in targets:
            sink.member(key)
        if key != "cards":
            text = _dumps(data[key])
            for sink in targets:
                sink.write(text)
            continue
        separator = "[\n"
        for entry in data[key]:
            text = separator + _dumps(entry)
            separator = ",\n"
            for sink in targets:
                sink.write(text)
        for sink in targets:
            sink.write("[]" if separator == "[\n" else "\n]")
    for sink in sinks:
        sink.write("{}" if sink.first else "}")


def _template() -> tuple[str, str]:
    template = resources.files("flashgen").joinpath("review.html").read_text(encoding="utf-8")
    head, _, tail = template.partition("/*DATA*/{}")
    return head, tail


def page_html(data: Mapping[str, Any]) -> str:
    """The page, with `data` embedded as JSON that no text inside can close early."""
    head, tail = _template()
    buffer = io.BytesIO()
    _write_data(data, [_JsonSink(buffer, page=True)])
    return head + buffer.getvalue().decode("utf-8") + tail


def write_review(out: Path, data: Mapping[str, Any]) -> Path:
    """DIR/flashgen.review.json (what `flashgen review` serves) and DIR/flashgen.html,
    written side by side in one pass over the cards."""
    head, tail = _template()
    with (
        atomic_file(out / DATA_NAME, ExportError, "review data") as raw,
        atomic_file(out / PAGE_NAME, ExportError, "review page") as page,
    ):
        page.write(head.encode("utf-8"))
        _write_data(data, [_JsonSink(raw, page=False), _JsonSink(page, page=True)])
        page.write(tail.encode("utf-8"))
    return out / PAGE_NAME


# --- the server -------------------------------------------------------------------------


def load_review(out: Path) -> dict[str, Any]:
    path = out / DATA_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(out, "no build to review here (run `flashgen build` first)") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(path, f"cannot be read ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("cards"), list):
        raise InputError(path, "not review data written by flashgen build")
    return data


class ReviewServer(ThreadingHTTPServer):
    """The page and its API for one build folder, on 127.0.0.1."""

    daemon_threads = True

    def __init__(self, out: Path, port: int = 0, token: str | None = None) -> None:
        self.out = out
        self._data = load_review(out)
        self._seen = self._stamp()
        if not self._data.get("ledger"):
            raise InputError(out, "its build kept no ledger, so decisions have nowhere to go")
        self.token = token or secrets.token_urlsafe(24)
        super().__init__(("127.0.0.1", port), _Handler)

    def _stamp(self) -> tuple[int, int] | None:
        try:
            info = (self.out / DATA_NAME).stat()
        except OSError:
            return None
        return info.st_mtime_ns, info.st_size

    @property
    def data(self) -> dict[str, Any]:
        """The last build's review data: a build made while serving is served next."""
        stamp = self._stamp()
        if stamp is not None and stamp != self._seen:
            # Half written by a build right now: the last one read stands.
            with contextlib.suppress(InputError):
                self._data, self._seen = load_review(self.out), stamp
        return self._data

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/?token={self.token}"

    def cards(self) -> dict[str, Any]:
        """The build's cards with the decisions recorded since."""
        data = json.loads(json.dumps(self.data))
        with Ledger(data["ledger"]) as book:
            decisions = book.decisions()
        for card in data["cards"]:
            decision = decisions.get(card.get("guid") or "")
            if decision is not None:
                card["decision"] = decision.decision
                card["edited"] = (
                    {
                        "question": decision.question,
                        "answer": decision.answer,
                        "extra": decision.extra,
                    }
                    if decision.decision == "edit"
                    else None
                )
        return data

    def decide(self, guid: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Record one decision; the card as the page then shows it. Raises ValueError
        with what is wrong for a bad request, KeyError for an unknown GUID."""
        card = next((c for c in self.data["cards"] if c.get("guid") == guid), None)
        if card is None:
            raise KeyError(guid)
        decision = body.get("decision")
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {', '.join(DECISIONS)}")
        fields: dict[str, str | None] = {}
        for name in ("question", "answer", "extra"):
            value = body.get(name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{name} must be a string")
            fields[name] = value
        if decision == "edit":
            # The edit must make a card a build can export.
            try:
                trial = Decision("edit", fields["question"], fields["answer"], fields["extra"])
                edited_card(_as_card(card), trial)
            except ValidationError as exc:
                raise ValueError(exc.errors()[0]["msg"]) from exc
        else:
            fields = {"question": None, "answer": None, "extra": None}
        record = Decision(
            decision,
            question=fields["question"],
            answer=fields["answer"],
            extra=fields["extra"],
            decided=int(time.time()),
        )
        with Ledger(self.data["ledger"]) as book:
            book.decide(guid, record)
        return {**card, "decision": decision, "edited": fields if decision == "edit" else None}


def _as_card(entry: Mapping[str, Any]) -> Card:
    cloze = entry["kind"] == "cloze"
    return Card(
        kind=entry["kind"],
        question=entry["question"],
        answer=entry["extra"] if cloze else entry["answer"],
        source_quote=entry["quote"] or entry["question"],
        post_id=entry["post_id"] or "review",
        topic=entry["deck"] or "review",
    )


class _Handler(BaseHTTPRequestHandler):
    server: ReviewServer
    server_version = "flashgen-review"
    timeout = 10  # a client that sends less than it announced is dropped, not waited on

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the terminal shows the URL, not a line per request

    # A page on another site must not drive this one: its requests name another Host
    # (DNS rebinding) or carry another Origin.
    def _local(self) -> bool:
        port = self.server.server_address[1]
        hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
        if self.headers.get("Host") not in hosts:
            return False
        origin = self.headers.get("Origin")
        return origin is None or origin in {f"http://{host}" for host in hosts}

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        given = header[7:] if header.startswith("Bearer ") else ""
        return hmac.compare_digest(given.encode(), self.server.token.encode())

    def _send(self, status: HTTPStatus, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        # The page needs nothing from the network, and its own script only.
        self.send_header(
            "Content-Security-Policy",
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
            "connect-src 'self'; img-src data:; form-action 'none'; frame-ancestors 'none'",
        )
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: HTTPStatus, value: Any) -> None:
        self._send(status, json.dumps(value, ensure_ascii=False).encode(), "application/json")

    def _error(self, status: HTTPStatus, message: str) -> None:
        self._json(status, {"error": message})

    def do_GET(self) -> None:
        self._guarded(self._get)

    def do_POST(self) -> None:
        self._guarded(self._post)

    def _guarded(self, handle: Callable[[], None]) -> None:
        """The answer to a request the ledger cannot take now is 503, not a dropped
        connection and a traceback on the terminal."""
        try:
            handle()
        except FlashgenError as exc:
            self._error(HTTPStatus.SERVICE_UNAVAILABLE, str(exc))

    def _get(self) -> None:
        if not self._local():
            return self._error(HTTPStatus.FORBIDDEN, "requests come from this machine's page only")
        path, _, query = self.path.partition("?")
        if path in ("/", "/index.html"):
            token = dict(p.partition("=")[::2] for p in query.split("&")).get("token", "")
            if not hmac.compare_digest(token.encode(), self.server.token.encode()):
                return self._send(
                    HTTPStatus.UNAUTHORIZED,
                    html.escape("Open the address flashgen review printed.").encode(),
                    "text/plain; charset=utf-8",
                )
            body = page_html(self.server.cards() | {"served": True}).encode("utf-8")
            return self._send(HTTPStatus.OK, body, "text/html; charset=utf-8")
        if path == "/api/cards":
            if not self._authorised():
                return self._error(HTTPStatus.UNAUTHORIZED, "a token is needed")
            return self._json(HTTPStatus.OK, self.server.cards())
        return self._error(HTTPStatus.NOT_FOUND, "no such page")

    def _post(self) -> None:
        if not self._local():
            return self._error(HTTPStatus.FORBIDDEN, "requests come from this machine's page only")
        if not self._authorised():
            return self._error(HTTPStatus.UNAUTHORIZED, "a token is needed")
        # GUIDs hold punctuation (genanki's base91); the page sends them percent-encoded.
        match = re.fullmatch(r"/api/cards/([^?#]+)", self.path)
        if match is None:
            return self._error(HTTPStatus.NOT_FOUND, "no such card")
        if not self.headers.get("Content-Type", "").startswith("application/json"):
            return self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send JSON")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            return self._error(HTTPStatus.BAD_REQUEST, "Content-Length is not a length")
        if length > MAX_BODY:
            return self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "a decision is short")
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(body, dict):
                raise ValueError("send a JSON object")
            guid = unquote(match.group(1))
            return self._json(HTTPStatus.OK, self.server.decide(guid, body))
        except KeyError:
            return self._error(HTTPStatus.NOT_FOUND, "no card of the last build has that GUID")
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            return self._error(HTTPStatus.BAD_REQUEST, str(exc) or "not a decision")


def redirect_page(url: str) -> str:
    """A page that sends the browser on to `url` (the review's address with its token)."""
    target = html.escape(url, quote=True)
    return (
        f'<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url={target}">'
        f'<title>flashgen review</title><a href="{target}">flashgen review</a>'
    )


def serve(
    out: Path,
    port: int = 0,
    *,
    ready: Callable[[ReviewServer], None] | None = None,
) -> None:
    """Serve the review of the build in `out` until interrupted."""
    server = ReviewServer(out, port)
    try:
        if ready is not None:
            ready(server)
        server.serve_forever()
    finally:
        server.server_close()
