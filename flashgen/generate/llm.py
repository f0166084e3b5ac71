"""The LLM generator: cards for posts from any OpenAI-compatible chat-completions server.

The server sits behind the one model client (flashgen.client), so tests can script one in
memory. Each post is one conversation: the rendered prompt, and when the reply breaks the
contract, the error sent back for a bounded number of re-asks. The structured-output mode
is settled by the first request that the server accepts (`auto` falls back from
`json_schema` to `json_object` with the schema to the schema in the prompt) and kept for
the rest of the run. Answers that pass the contract are cached as they arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from flashgen.cache import SCHEMA_VERSION, Cache, CachedResponse
from flashgen.client import ChatReply, ChatRequest, Message, ModelClient, open_client
from flashgen.errors import (
    GenerationError,
    LLMError,
    ModeRejected,
    RequestFailed,
)
from flashgen.generate.contract import (
    CardsResponse,
    ContractError,
    InvalidCard,
    cards_from_response,
    check_reply,
    parse_response,
    response_schema,
)
from flashgen.generate.modes import candidate_modes, mode_setting
from flashgen.generate.prompts import RequestBuilder
from flashgen.models import Card, Post, Verification
from flashgen.settings import MODES, ConcreteMode, GeneratorConfig

if TYPE_CHECKING:
    from flashgen.generate.verify import RoundTrip

Progress = Callable[[int, int], None]
# Sees each post's cards as they are made; returns the ones the round trip should ask
# about (those that passed the rules), or None for all of them.
OnCards = Callable[[list[Card]], list[Card] | None]


def request_key(request: ChatRequest, post: Post) -> str:
    """The cache key: the post, the rendered prompt, the model, the mode, the sampling.

    The digest `cache_key` gives for {"post": …, **request.body(), "mode": …}, built from
    pieces: the schema and the system prompt, the same for every post, are serialised
    once per run instead of once per post and mode (a third of a cold build's own work).
    """
    fields = {
        "max_tokens": _json(request.max_tokens),
        "messages": "["
        + ",".join(
            f'{{"content":{_json_text(m["content"])},"role":{_json(m["role"])}}}'
            for m in request.messages
        )
        + "]",
        "mode": _json(request.mode),
        "model": _json(request.model),
        "post": _json(post.text),
        "temperature": _json(request.temperature),
        "v": _json(SCHEMA_VERSION),
    }
    if request.schema is None or request.schema is response_schema():
        response_format = _format_json(
            request.mode, request.schema_name, request.schema is not None
        )
    else:
        given = request.response_format()
        response_format = None if given is None else _json(given)
    if response_format is not None:
        fields["response_format"] = response_format
    blob = "{" + ",".join(f"{_json(k)}:{fields[k]}" for k in sorted(fields)) + "}"
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def store(
    cache: Cache,
    key: str,
    request: ChatRequest,
    reply: ChatReply,
    post: Post,
    tokens: tuple[int, int] | None = None,
) -> None:
    """Keep a reply that passed its contract under `key`, with what it cost (`tokens`, in
    and out, when a conversation took more than this reply)."""
    tokens_in, tokens_out = tokens or (reply.tokens_in, reply.tokens_out)
    value = CachedResponse(
        content=reply.content,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        model=request.model,
        mode=request.mode,
        post_id=post.id,
    )
    cache.put(key, value, reply.raw)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@functools.lru_cache(maxsize=64)
def _json_text(text: str) -> str:
    """A message's content as JSON; the system prompts repeat, so they are done once."""
    return _json(text)


@functools.lru_cache(maxsize=16)
def _format_json(mode: str, name: str, with_schema: bool) -> str | None:
    """The response_format of a request as JSON, which depends only on these and the schema."""
    request = ChatRequest(
        model="",
        messages=(),
        mode=mode,  # type: ignore[arg-type]
        temperature=0,
        max_tokens=1,
        schema=response_schema() if with_schema else None,
        schema_name=name,
    )
    response_format = request.response_format()
    return None if response_format is None else _json(response_format)


class PostFailure(BaseModel):
    """A post that got no cards because its requests failed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    post_id: str
    reason: str
    attempts: int = 0


class LLMRun(BaseModel):
    """What one LLM run made, and what it cost."""

    model_config = ConfigDict(extra="forbid")

    cards: list[Card] = []
    invalid: list[InvalidCard] = []
    failures: list[PostFailure] = []
    requests: int = 0  # chat requests the server received, retries included
    cache_hits: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float | None = None
    mode: str | None = None
    notices: list[str] = []
    # The round trip, when it ran: id(card) of the cards `on_cards` returned → why the
    # reader disagrees, or None when it agrees; and what it took.
    roundtrip: dict[int, tuple[str, str] | None] = {}
    verification: Verification | None = None


class _Slots:
    """A semaphore whose urgent takers go first.

    A post's round trip takes the next free slot before the posts still waiting for
    their cards, so verification keeps pace with generation instead of trailing it
    after the last answer; in flight there are never more than `count` requests.
    """

    def __init__(self, count: int) -> None:
        self._free = count
        self._waiting: tuple[deque[asyncio.Future[None]], ...] = (deque(), deque())

    @contextlib.asynccontextmanager
    async def take(self, *, urgent: bool = False) -> AsyncIterator[None]:
        if self._free > 0 and not any(self._waiting):
            self._free -= 1
        else:
            queue = self._waiting[0 if urgent else 1]
            future = asyncio.get_running_loop().create_future()
            queue.append(future)
            try:
                await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():
                    self._give()  # handed a slot just as it was cancelled: pass it on
                elif future in queue:
                    queue.remove(future)
                raise
        try:
            yield
        finally:
            self._give()

    def _give(self) -> None:
        for queue in self._waiting:
            while queue:
                future = queue.popleft()
                if not future.done():  # a cancelled taker may not have left yet
                    future.set_result(None)
                    return
        self._free += 1


@dataclass
class _Stats:
    cache_hits: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    notices: list[str] = field(default_factory=list)


class LLMGenerator:
    """Cards for many posts over one backend, concurrently, through the cache."""

    def __init__(
        self,
        config: GeneratorConfig,
        backend: ModelClient,
        cache: Cache | None = None,
        builder: RequestBuilder | None = None,
        *,
        verify: bool = False,
    ) -> None:
        self.config = config
        self.backend = backend
        self.cache = cache
        self.builder = builder or RequestBuilder(config)
        self.roundtrip: RoundTrip | None = None
        if verify:
            from flashgen.generate.verify import RoundTrip  # it builds on this module

            self.roundtrip = RoundTrip(config, backend, cache, self.builder, self.modes)
        self._mode_setting = mode_setting(config)
        remembered = cache.setting(self._mode_setting) if cache is not None else None
        self._candidates = candidate_modes(config, remembered)
        self._mode: ConcreteMode | None = None  # settled by the first accepted request
        self._stats = _Stats()
        self._fatal: LLMError | None = None
        self._openings: dict[tuple[str, ConcreteMode], tuple[ChatRequest, str]] = {}

    async def run(
        self,
        posts: Sequence[Post],
        progress: Progress | None = None,
        on_cards: OnCards | None = None,
    ) -> LLMRun:
        """Cards for every post; a post whose requests fail is reported, the rest go on.

        `on_cards` sees each post's cards as its answer arrives. It runs after the next
        request has gone out, so work done there overlaps the wait for the answers.
        """
        out = LLMRun()
        slots = _Slots(self.config.concurrency)
        done = 0
        checking: list[asyncio.Task[None]] = []

        async def one(post: Post) -> tuple[Post, CardsResponse | PostFailure]:
            async with slots.take():
                try:
                    return await settle(post)
                finally:
                    for mode in MODES:
                        self._openings.pop((post.id, mode), None)

        async def settle(post: Post) -> tuple[Post, CardsResponse | PostFailure]:
            # Looked up here, not before queueing: a thousand lookups up front would
            # hold back the first requests.
            cached = self._from_cache(post)
            if cached is not None:
                return post, cached
            if self._fatal is not None:
                raise self._fatal  # the build is stopping: send nothing more
            try:
                return post, await self._converse(post)
            except GenerationError as exc:
                return post, PostFailure(post_id=post.id, reason=exc.reason, attempts=exc.attempts)
            except RequestFailed as exc:
                if exc.connection and self._mode is None:
                    self._fatal = LLMError(f"the model server cannot be used: {exc.reason}")
                    raise self._fatal from exc
                return post, PostFailure(post_id=post.id, reason=exc.reason, attempts=1)
            except LLMError as exc:
                self._fatal = exc
                raise

        async def verify(post: Post, cards: list[Card]) -> None:
            assert self.roundtrip is not None
            async with slots.take(urgent=True):
                out.roundtrip.update(await self.roundtrip.check(post, cards))

        tasks = [asyncio.create_task(one(post)) for post in posts]
        results: dict[str, PostFailure | tuple[list[Card], list[InvalidCard]]] = {}
        try:
            if progress:
                progress(0, len(posts))
            for next_done in asyncio.as_completed(tasks):
                post, result = await next_done
                if isinstance(result, PostFailure):
                    results[post.id] = result
                else:
                    cards, invalid = cards_from_response(post, result)
                    results[post.id] = cards, invalid
                    asked = on_cards(cards) if on_cards is not None else None
                    asked = cards if asked is None else asked
                    if self.roundtrip is not None and asked:
                        checking.append(asyncio.create_task(verify(post, asked)))
                done += 1
                if progress:
                    progress(done, len(posts))
            await asyncio.gather(*checking)
        except BaseException:
            for task in [*tasks, *checking]:
                task.cancel()
            await asyncio.gather(*tasks, *checking, return_exceptions=True)
            raise
        for post in posts:  # input order, whatever order the answers came in
            made = results[post.id]
            if isinstance(made, PostFailure):
                out.failures.append(made)
            else:
                out.cards.extend(made[0])
                out.invalid.extend(made[1])
        stats = self._stats
        out.cache_hits = stats.cache_hits
        out.tokens_in, out.tokens_out = stats.tokens_in, stats.tokens_out
        out.cost = self.config.cost(stats.tokens_in, stats.tokens_out)
        out.mode, out.notices = self._mode, stats.notices
        if self.roundtrip is not None:
            out.verification = self.roundtrip.finished()
        return out

    def modes(self) -> list[ConcreteMode]:
        """The structured-output modes to ask in: the settled one, else the candidates."""
        return [self._mode] if self._mode else list(self._candidates)

    def _opening(self, post: Post, mode: ConcreteMode) -> tuple[ChatRequest, str]:
        """A post's first request in a mode and its cache key, made once: the lookup, the
        send and the store all need them, and rendering and hashing a long prompt is the
        most work this side does per request."""
        key = (post.id, mode)
        if key not in self._openings:
            request = self.builder.request(post, mode)
            self._openings[key] = request, request_key(request, post)
        return self._openings[key]

    def _from_cache(self, post: Post) -> CardsResponse | None:
        if self.cache is None:
            return None
        modes = [self._mode] if self._mode else self._candidates
        for mode in modes:
            hit = self.cache.get(self._opening(post, mode)[1])
            if hit is None:
                continue
            try:
                response = parse_response(hit.content)
            except ContractError:
                continue  # stored by an older contract: ask again
            self._stats.cache_hits += 1
            return response
        return None

    async def _send(self, post: Post, turns: list[Message]) -> tuple[ChatRequest, ChatReply]:
        """One request; until a mode is settled, a rejected mode gives way to the next one.

        Requests do not wait for the mode to settle: the first ones go out together in the
        first candidate mode, which costs a few rejected requests, once per server (the
        mode is remembered in the cache), instead of one round trip of latency per build.
        """
        while True:
            mode = self._mode or self._candidates[0]
            if turns:
                request = self.builder.request(post, mode, turns)
            else:
                request = self._opening(post, mode)[0]
            try:
                reply = await self._complete(request)
            except ModeRejected as exc:
                if mode != (self._mode or self._candidates[0]):
                    continue  # another request already moved on from this mode
                if self._mode is not None or len(self._candidates) == 1:
                    raise
                self._candidates.pop(0)
                self._stats.notices.append(
                    f"the server rejected structured output {mode} ({exc.reason}); "
                    f"using {self._candidates[0]}"
                )
                continue
            if self._mode is None:
                self._mode = mode
                if self.cache is not None and self.config.structured_output == "auto":
                    self.cache.remember(self._mode_setting, mode)
            return request, reply

    async def _complete(self, request: ChatRequest) -> ChatReply:
        reply = await self.backend.complete(request)
        self._stats.tokens_in += reply.tokens_in
        self._stats.tokens_out += reply.tokens_out
        return reply

    async def _converse(self, post: Post) -> CardsResponse:
        """The bounded re-ask loop: send, check, and on a broken reply say why and ask again."""
        attempts = 1 + self.config.reasks
        turns: list[Message] = []
        tokens_in = tokens_out = 0
        first: ChatRequest | None = None
        reason, raw = "", ""
        for attempt in range(1, attempts + 1):
            request, reply = await self._send(post, turns)
            first = first or request
            tokens_in, tokens_out = tokens_in + reply.tokens_in, tokens_out + reply.tokens_out
            try:
                response = check_reply(reply, request.max_tokens)
            except ContractError as exc:
                reason, raw = str(exc), reply.content
                turns += [
                    {"role": "assistant", "content": reply.content},
                    {"role": "user", "content": self.builder.reask(reason, attempt + 1, attempts)},
                ]
                continue
            if self.cache is not None:
                key = self._opening(post, first.mode)[1]
                store(self.cache, key, request, reply, post, (tokens_in, tokens_out))
            return response
        raise GenerationError(post.id, attempts, "; ".join(reason.splitlines())[:400], raw)


def generate_llm(
    posts: Sequence[Post],
    config: GeneratorConfig,
    *,
    client: ModelClient | None = None,
    progress: Progress | None = None,
    on_cards: OnCards | None = None,
    verify: bool = False,
) -> LLMRun:
    """Cards for the posts from the model behind `client` (by default one for `config`'s
    server), through the cache; `on_cards` sees each post's cards as they are made. With
    `verify`, the cards it returns go through the round trip as they come.

    The client's event-loop side is closed at the end (`aclose`); its other calls stay
    open for the caller, who owns it."""
    builder = RequestBuilder(config)  # bad templates fail before any request
    chat = client if client is not None else open_client(config)
    if chat is None:
        raise LLMError("the generator is offline: no model to ask")
    cache = Cache(config.cache) if config.cache is not None else None
    sent = chat.chat_requests

    async def main() -> LLMRun:
        try:
            generator = LLMGenerator(config, chat, cache, builder, verify=verify)
            return await generator.run(posts, progress, on_cards)
        finally:
            await chat.aclose()

    try:
        # A loop of its own, never made the thread's current one: asyncio.run would reset
        # a loop the caller had set.
        with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
            run = runner.run(main())
        if cache is not None:
            run.notices[:0] = cache.notices
    finally:
        if cache is not None:
            cache.close()
        if client is None:
            chat.close()
    # What the server saw: the client's own retries of 429, 5xx and timeouts included;
    # the round trip's requests are counted apart.
    run.requests = chat.chat_requests - sent
    if run.verification is not None:
        run.requests -= run.verification.requests
    return run
