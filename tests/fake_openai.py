"""A small OpenAI chat-completions server on 127.0.0.1, for tests and the benchmark.

It speaks real HTTP, so the real `openai` client talks to it (respx cannot intercept
openai 3.x). Scripted replies (status codes, headers, broken or truncated content) are
served first; otherwise it answers with a valid card for the post in the request. Each
request is answered `latency` seconds after it arrived, in its own thread, so concurrent
requests overlap.

A round-trip request (its message holds <questions>) is answered by a `Reader`, as a
careful model would: from the answers a test gave it, else from the cards this server
wrote itself; scripted faults for it come from `enqueue_verify`. Such requests are kept
apart, in `verify_requests`, so `count` stays the number of card requests.

`/v1/embeddings` answers only when enabled (`embeddings=True`, or the attribute), else 404
like a server without it. Its vectors are deterministic (hashed character trigrams, so
near texts are close), or scripted per text in `vectors`.

Run it alone for the benchmark: `python tests/fake_openai.py --latency 0.2` prints the
base URL on stdout and serves until stdin closes.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import base64
import json
import math
import re
import sys
import threading
import time
import zlib
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from flashgen.client import ChatReply, ChatRequest
from flashgen.errors import ModeRejected, RequestFailed

# What llama-cpp-python's server answers to response_format type json_schema.
LLAMA_CPP_REJECTION = (
    "1 validation error: {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
    "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema'}"
)
_POST_RE = re.compile(r"<post>\n?(.*?)\n?</post>", re.DOTALL)
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)?")
EMBEDDING_DIMS = 64


@dataclass
class Reply:
    """One scripted answer: a status, and content (None = a valid answer for the post)."""

    status: int = 200
    content: str | None = None
    finish_reason: str = "stop"
    refusal: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    error: str = "scripted error"
    # Faults of the transport: a body sent as this raw text (a proxy's HTML page, a cut-off
    # JSON), with this content type; and seconds between 16-byte pieces of the body.
    raw: str | None = None
    content_type: str = "application/json"
    trickle: float = 0.0
    drop: bool = False  # hang up without answering, as a reset or a dying proxy does


def post_text(body: dict[str, Any]) -> str:
    """The post inside the request's first user message, between <post> tags."""
    for message in body.get("messages", []):
        if message.get("role") == "user":
            match = _POST_RE.search(message.get("content", ""))
            if match:
                return match.group(1)
    return ""


_QUESTIONS_RE = re.compile(r"<questions>\n?(.*?)\n?</questions>", re.DOTALL)
_NUMBERED_RE = re.compile(r"^(\d+)\. (.*)$", re.MULTILINE)


def is_roundtrip(body: dict[str, Any]) -> bool:
    """Whether a chat request is the round trip's: its user message lists <questions>."""
    return any(
        m.get("role") == "user" and "<questions>" in m.get("content", "")
        for m in body.get("messages", [])
    )


class Reader:
    """Answers the round trip's questions as a careful model would.

    `answers` maps a question, as asked, to the post's answer (None: not in the post);
    a question it does not hold gets the answer of the card this server wrote with that
    question for that post, and any other is not in the post.
    """

    def __init__(self) -> None:
        self.answers: dict[str, str | None] = {}
        self._wrote: dict[tuple[str, str], str] = {}  # (post, question) → answer
        self._lock = threading.Lock()

    def wrote(self, content: str, post: str) -> None:
        """Remember the cards of one card reply for a post (any content that parses)."""
        from flashgen.check.roundtrip import questions
        from flashgen.models import Card

        try:
            cards = json.loads(content).get("cards", [])
        except (ValueError, AttributeError):
            return
        for item in cards if isinstance(cards, list) else []:
            try:
                card = Card(post_id="p", topic="t", **item)
            except (TypeError, ValueError):
                continue
            with self._lock:
                for question, answer in questions(card):
                    self._wrote[post, question] = answer

    def reply(self, body: dict[str, Any]) -> str:
        asked: list[tuple[int, str]] = []
        for message in body.get("messages", []):
            found = _QUESTIONS_RE.search(message.get("content", ""))
            if message.get("role") == "user" and found:
                asked = [(int(n), q.strip()) for n, q in _NUMBERED_RE.findall(found.group(1))]
        answers = []
        post = post_text(body)
        with self._lock:
            for number, question in asked:
                answer = self.answers.get(question, self._wrote.get((post, question)))
                answers.append(
                    {"number": number, "found": answer is not None, "answer": answer or ""}
                )
        return json.dumps({"answers": answers}, ensure_ascii=False)


def good_answer(text: str) -> dict[str, Any]:
    """A contract-valid answer: one cloze card over the first number (or last word) of the
    post's first sentence, quoted verbatim."""
    first = text.strip().split("\n", 1)[0]
    sentence = re.split(r"(?<=[.!?])\s", first, maxsplit=1)[0].strip() or "Пустой пост."
    number = _NUMBER_RE.search(sentence)
    if number:
        start, end = number.span()
    else:
        words = list(re.finditer(r"\w{3,}", sentence)) or list(re.finditer(r"\w+", sentence))
        start, end = words[-1].span() if words else (0, len(sentence))
    question = f"{sentence[:start]}{{{{c1::{sentence[start:end]}}}}}{sentence[end:]}"
    return {
        "topic": "Тестовая тема",
        "key_facts": [sentence],
        "cards": [{"kind": "cloze", "question": question, "answer": "", "source_quote": sentence}],
    }


def trigram_vector(text: str, dims: int = EMBEDDING_DIMS) -> list[float]:
    """A unit bag of the text's character trigrams, hashed into `dims` buckets."""
    padded = f"  {' '.join(text.lower().split())} "
    vector = [0.0] * dims
    for i in range(len(padded) - 2):
        vector[zlib.crc32(padded[i : i + 3].encode("utf-8")) % dims] += 1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the benchmark opens many connections at once

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up on a request (cancelled, timed out) is not a server error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeOpenAI:
    """The server; use as a context manager, or start() and stop()."""

    def __init__(
        self, *, latency: float = 0.0, reject_json_schema: bool = False, embeddings: bool = False
    ) -> None:
        self.latency = latency
        self.reject_json_schema = reject_json_schema
        self.embeddings = embeddings  # whether /v1/embeddings exists; else it answers 404
        self.vectors: dict[str, list[float]] = {}  # scripted embeddings, by exact input text
        self.requests: list[dict[str, Any]] = []
        self.verify_requests: list[dict[str, Any]] = []  # the round trip's, kept apart
        self.reader = Reader()
        self._verify_queue: deque[Reply] = deque()
        self.embedding_requests: list[dict[str, Any]] = []  # 404s included
        self.headers: list[dict[str, str]] = []
        self._queue: deque[Reply] = deque()
        self._by_post: list[tuple[str, deque[Reply], bool]] = []
        self._lock = threading.Lock()
        # Requests past the first `hold_after` wait until `release` is set: a test can
        # know that requests are in flight, whatever the machine's speed.
        self.hold_after: int | None = None
        self.hold_posts: list[str] = []  # and so do those whose post holds one of these
        self.proxied = 0  # requests that came as to a proxy (an absolute URL)
        self.held = 0
        self.release = threading.Event()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL to give the client."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    @property
    def count(self) -> int:
        """Chat-completion requests received so far."""
        with self._lock:
            return len(self.requests)

    @property
    def embedding_count(self) -> int:
        """Embedding requests received so far, answered or not."""
        with self._lock:
            return len(self.embedding_requests)

    def enqueue(self, *replies: Reply) -> None:
        """Replies for the next requests, whatever their post, in order."""
        with self._lock:
            self._queue.extend(replies)

    def enqueue_verify(self, *replies: Reply) -> None:
        """Replies for the next round-trip requests, in order (content None: the reader's)."""
        with self._lock:
            self._verify_queue.extend(replies)

    @property
    def verify_count(self) -> int:
        """Round-trip requests received so far."""
        with self._lock:
            return len(self.verify_requests)

    def on(self, text: str, *replies: Reply, repeat: bool = False) -> None:
        """Replies for requests whose post contains `text`; with repeat, the last one forever."""
        with self._lock:
            self._by_post.append((text, deque(replies), repeat))

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.verify_requests.clear()
            self.headers.clear()
            self.embedding_requests.clear()

    def _next_reply(self, body: dict[str, Any]) -> Reply:
        text = post_text(body)
        with self._lock:
            if is_roundtrip(body):
                self.verify_requests.append(body)
                reply = self._verify_queue.popleft() if self._verify_queue else Reply()
                if reply.content is None and reply.status == 200 and reply.raw is None:
                    reply = Reply(content=self.reader.reply(body))
                return reply
            self.requests.append(body)
            for match, replies, repeat in self._by_post:
                if match in text and replies:
                    return replies[0] if repeat and len(replies) == 1 else replies.popleft()
            if self._queue:
                return self._queue.popleft()
        return Reply()

    def answer(
        self, body: dict[str, Any], arrived: float | None = None
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """Status, headers and JSON body for one request, `latency` seconds after it
        `arrived` (time.monotonic()): the server's own work is inside the latency, as in a
        real server's figure, not added to it."""
        arrived = time.monotonic() if arrived is None else arrived
        reply = self._next_reply(body)
        with self._lock:
            # Only card requests are held: the round trip's go on past them.
            hold = self.hold_after is not None and len(self.requests) > self.hold_after
            hold = hold or any(text in post_text(body) for text in self.hold_posts)
            hold = hold and not is_roundtrip(body)
            self.held += hold
        if hold:
            self.release.wait(timeout=60)
        answer = self._answer(body, reply)
        if self.latency:
            time.sleep(max(0.0, arrived + self.latency - time.monotonic()))
        return answer

    def _answer(
        self, body: dict[str, Any], reply: Reply
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        response_format = body.get("response_format") or {}
        if self.reject_json_schema and response_format.get("type") == "json_schema":
            return 500, {}, {"error": {"message": LLAMA_CPP_REJECTION, "type": "internal"}}
        if reply.status != 200:
            return reply.status, reply.headers, {"error": {"message": reply.error, "type": "x"}}
        headers = {**reply.headers, "Content-Type": reply.content_type}
        if reply.drop:
            return 0, {}, {}
        if reply.trickle:
            headers["X-Trickle"] = str(reply.trickle)
        if reply.raw is not None:
            headers["X-Raw"] = "1"
            return 200, headers, {"raw": reply.raw}
        content = reply.content
        if content is None:
            content = json.dumps(good_answer(post_text(body)), ensure_ascii=False)
        if not is_roundtrip(body):
            self.reader.wrote(content, post_text(body))
        prompt = sum(len(m.get("content", "")) for m in body.get("messages", []))
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if reply.refusal is not None:
            message = {"role": "assistant", "content": None, "refusal": reply.refusal}
        return (
            200,
            headers,
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": body.get("model", "fake"),
                "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason}],
                "usage": {
                    "prompt_tokens": prompt // 4,
                    "completion_tokens": len(content) // 4,
                    "total_tokens": prompt // 4 + len(content) // 4,
                },
            },
        )

    def embed(self, body: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
        """Status, headers and JSON body for one /v1/embeddings request."""
        with self._lock:
            self.embedding_requests.append(body)
            enabled, scripted = self.embeddings, dict(self.vectors)
        if not enabled:
            # As OpenAI does, the error names the model asked for.
            message = f"no route /v1/embeddings for model {body.get('model')}"
            return 404, {}, {"error": {"message": message, "type": "x"}}
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else texts
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            return 400, {}, {"error": {"message": "input must be text", "type": "x"}}
        data = []
        for i, text in enumerate(texts):
            vector: Any = scripted.get(text) or trigram_vector(text)
            if body.get("encoding_format") == "base64":
                vector = base64.b64encode(array.array("f", vector).tobytes()).decode("ascii")
            data.append({"object": "embedding", "index": i, "embedding": vector})
        tokens = sum(len(t) for t in texts) // 4
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return (
            200,
            {},
            {"object": "list", "data": data, "model": body.get("model", "fake"), "usage": usage},
        )

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Without it, Nagle and delayed ACKs add ~40 ms to every keep-alive response.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, headers: dict[str, str], body: dict[str, Any]) -> None:
                if status == 0:  # drop the connection, send nothing
                    self.close_connection = True
                    return
                headers = dict(headers)
                raw = headers.pop("X-Raw", None)
                trickle = float(headers.pop("X-Trickle", 0) or 0)
                text = body["raw"] if raw else json.dumps(body, ensure_ascii=False)
                data = text.encode("utf-8")
                self.send_response(status)
                headers.setdefault("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if not trickle:
                    self.wfile.write(data)
                    return
                for start in range(0, len(data), 16):
                    self.wfile.write(data[start : start + 16])
                    self.wfile.flush()
                    time.sleep(trickle)

            def _route(self) -> str:
                # As a proxy is asked, the path may be a whole URL: its path is the route.
                path = urlsplit(self.path).path if "://" in self.path else self.path
                if "://" in self.path:
                    with fake._lock:
                        fake.proxied += 1
                return path.rstrip("/")

            def do_GET(self) -> None:
                if self._route() == "/v1/models":
                    self._send(200, {}, {"object": "list", "data": [{"id": "fake"}]})
                else:
                    self._send(404, {}, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                arrived = time.monotonic()
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self._route() == "/v1/embeddings":
                    self._send(*fake.embed(json.loads(raw)))
                    return
                if self._route() != "/v1/chat/completions":
                    self._send(404, {}, {"error": {"message": f"no route {self.path}"}})
                    return
                body = json.loads(raw)
                with fake._lock:
                    fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                self._send(*fake.answer(body, arrived))

        return Handler

    def start(self) -> FakeOpenAI:
        # A short poll, so stopping the server does not wait half a second per test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class FakeBackend:
    """An in-memory ModelClient: scripted replies or errors first, then good answers.

    `history` holds every chat request; `reject` names modes it refuses, as
    llama-cpp-python refuses json_schema. It embeds with `trigram_vector` when
    `embeddings` is set, else it has no embeddings, as most chat servers.
    """

    def __init__(
        self, *, reject: tuple[str, ...] = (), delay: float = 0.0, embeddings: bool = False
    ) -> None:
        self.history: list[ChatRequest] = []
        self.verify_history: list[ChatRequest] = []  # the round trip's, kept apart
        self.reader = Reader()
        self.embeddings = embeddings
        self.embedded: list[list[str]] = []
        self.chat_requests = 0
        self.embedding_requests = 0
        self.reject = set(reject)
        self.delay = delay
        self.in_flight = self.max_in_flight = 0
        self.closed = False
        self._queue: deque[ChatReply | Exception] = deque()
        self._by_post: list[tuple[str, deque[ChatReply | Exception]]] = []

    def enqueue(self, *items: ChatReply | Exception) -> None:
        self._queue.extend(items)

    def on(self, text: str, *items: ChatReply | Exception) -> None:
        self._by_post.append((text, deque(items)))

    async def complete(self, request: ChatRequest) -> ChatReply:
        self.chat_requests += 1
        if is_roundtrip(request.body()):
            self.verify_history.append(request)
            if request.mode in self.reject:
                raise ModeRejected(f"HTTP 500: {LLAMA_CPP_REJECTION}")
            return ChatReply(content=self.reader.reply(request.body()), tokens_in=50, tokens_out=10)
        self.history.append(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            if request.mode in self.reject:
                raise ModeRejected(f"HTTP 500: {LLAMA_CPP_REJECTION}")
            text = post_text(request.body())
            item: ChatReply | Exception | None = None
            for match, items in self._by_post:
                if match in text and items:
                    item = items.popleft()
                    break
            if item is None and self._queue:
                item = self._queue.popleft()
            if isinstance(item, Exception):
                raise item
            if item is not None:
                self.reader.wrote(item.content, text)
                return item
            content = json.dumps(good_answer(text), ensure_ascii=False)
            self.reader.wrote(content, text)
            return ChatReply(content=content, tokens_in=100, tokens_out=20)
        finally:
            self.in_flight -= 1

    def chat(self, request: ChatRequest) -> ChatReply:
        return asyncio.run(self.complete(request))

    def embed(self, model: str, texts: Sequence[str]) -> list[list[float]]:
        self.embedding_requests += 1
        self.embedded.append(list(texts))
        if not self.embeddings:
            raise RequestFailed("not found (HTTP 404)")
        return [trigram_vector(text) for text in texts]

    async def aclose(self) -> None:
        self.closed = True

    def close(self) -> None:
        self.closed = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument("--reject-json-schema", action="store_true")
    parser.add_argument("--embeddings", action="store_true", help="serve /v1/embeddings")
    args = parser.parse_args()
    with FakeOpenAI(
        latency=args.latency, reject_json_schema=args.reject_json_schema, embeddings=args.embeddings
    ) as fake:
        print(fake.url, flush=True)
        sys.stdin.read()  # serve until the parent closes our stdin or ends us


if __name__ == "__main__":
    main()
