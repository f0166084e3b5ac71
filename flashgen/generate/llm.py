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
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from flashgen.cache import Cache, CachedResponse, cache_key
from flashgen.client import ChatReply, ChatRequest, Message, ModelClient, open_client
from flashgen.errors import (
    FlashgenError,
    GenerationError,
    LLMError,
    ModeRejected,
    RequestFailed,
)
from flashgen.generate.contract import (
    CardsResponse,
    ContractError,
    parse_response,
    response_schema,
)
from flashgen.generate.offline import hashtags
from flashgen.generate.prompts import Prompts
from flashgen.models import Card, Post, ReadOptions
from flashgen.settings import MODES, ConcreteMode, GeneratorConfig

Progress = Callable[[int, int], None]
OnCards = Callable[[list[Card]], None]


def request_key(request: ChatRequest, post: Post) -> str:
    """The cache key: the post, the rendered prompt, the model, the mode, the sampling."""
    return cache_key({"post": post.text, **request.body(), "mode": request.mode})


class InvalidCard(BaseModel):
    """A card the model wrote that is not a well-formed Card, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    post_id: str
    question: str
    reason: str


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


def cards_from_response(
    post: Post, response: CardsResponse
) -> tuple[list[Card], list[InvalidCard]]:
    """The model's cards as Cards; one that fails Card's rules is kept aside with the reason."""
    tags = hashtags(post.text)
    cards: list[Card] = []
    invalid: list[InvalidCard] = []
    for item in response.cards:
        try:
            cards.append(
                Card(
                    kind=item.kind,
                    question=item.question,
                    answer=item.answer,
                    source_quote=item.source_quote,
                    post_id=post.id,
                    topic=response.topic,
                    tags=tags,
                )
            )
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            reason = str(error["msg"]).removeprefix("Value error, ")
            invalid.append(InvalidCard(post_id=post.id, question=item.question, reason=reason))
    return cards, invalid


class RequestBuilder:
    """Renders the prompt templates into requests, memoising the per-run system prompts."""

    def __init__(self, config: GeneratorConfig, prompts: Prompts | None = None) -> None:
        self.config = config
        self.prompts = prompts or Prompts(config.prompts)
        self._system: dict[str, str] = {}

    def system(self, mode: ConcreteMode) -> str:
        if mode not in self._system:
            schema = None
            if mode != "json_schema":
                schema = json.dumps(response_schema(), ensure_ascii=False)
            self._system[mode] = self.prompts.render(
                "system.j2",
                language=self.config.language,
                schema=schema,
                mode=mode,
                topics=list(self.config.topics),
            )
        return self._system[mode]

    def request(self, post: Post, mode: ConcreteMode, turns: Sequence[Message] = ()) -> ChatRequest:
        messages = (
            {"role": "system", "content": self.system(mode)},
            {
                "role": "user",
                "content": self.prompts.render("post.j2", post=post, language=self.config.language),
            },
            *turns,
        )
        return ChatRequest(
            model=self.config.model,
            messages=messages,
            mode=mode,
            temperature=self.config.temperature,
            max_tokens=self.config.max_tokens,
            schema=None if mode == "prompt" else response_schema(),
        )

    def reask(self, error: str, attempt: int, attempts: int) -> str:
        return self.prompts.render("reask.j2", error=error, attempt=attempt, attempts=attempts)


def _mode_setting(config: GeneratorConfig) -> str:
    return f"mode {config.base_url or 'openai'} {config.model}"


def first_mode(config: GeneratorConfig) -> ConcreteMode:
    """The mode a run starts with: the configured one; for `auto`, the one that worked last
    time with this server and model (remembered in the cache), else json_schema."""
    if config.structured_output != "auto":
        return config.structured_output
    if config.cache is not None and config.cache.is_file():
        with Cache(config.cache) as cache:
            remembered = cache.setting(_mode_setting(config))
        for mode in MODES:
            if mode == remembered:
                return mode
    return MODES[0]


def check_reply(reply: ChatReply, max_tokens: int) -> CardsResponse:
    """The contract object in a reply; a ContractError for a refusal, a cut-off or bad JSON."""
    if reply.refusal:
        raise ContractError(f"the model refused: {reply.refusal}")
    if reply.finish_reason == "content_filter":
        raise ContractError("the reply was stopped by the content filter")
    if reply.finish_reason == "length":
        raise ContractError(
            f"the reply was cut off at the limit of {max_tokens} tokens; "
            "write fewer and shorter key facts and cards"
        )
    return parse_response(reply.content)


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
    ) -> None:
        self.config = config
        self.backend = backend
        self.cache = cache
        self.builder = builder or RequestBuilder(config)
        self._candidates: list[ConcreteMode] = (
            list(MODES) if config.structured_output == "auto" else [first_mode(config)]
        )
        # `auto` starts where it settled last time with this server and model, so a server
        # that rejects json_schema is not asked (and retried) again on every build.
        self._mode_setting = _mode_setting(config)
        remembered = cache.setting(self._mode_setting) if cache is not None else None
        if config.structured_output == "auto" and remembered in MODES:
            self._candidates = list(MODES[MODES.index(remembered) :])
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
        semaphore = asyncio.Semaphore(self.config.concurrency)
        done = 0

        async def one(post: Post) -> tuple[Post, CardsResponse | PostFailure]:
            async with semaphore:
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
                    if on_cards is not None:
                        on_cards(cards)
                done += 1
                if progress:
                    progress(done, len(posts))
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
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
        return out

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
                value = CachedResponse(
                    content=reply.content,
                    tokens_in=tokens_in,
                    tokens_out=tokens_out,
                    model=request.model,
                    mode=request.mode,
                    post_id=post.id,
                )
                self.cache.put(self._opening(post, first.mode)[1], value, reply.raw)
            return response
        raise GenerationError(post.id, attempts, "; ".join(reason.splitlines())[:400], raw)


def generate_llm(
    posts: Sequence[Post],
    config: GeneratorConfig,
    *,
    client: ModelClient | None = None,
    progress: Progress | None = None,
    on_cards: OnCards | None = None,
) -> LLMRun:
    """Cards for the posts from the model behind `client` (by default one for `config`'s
    server), through the cache; `on_cards` sees each post's cards as they are made.

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
            generator = LLMGenerator(config, chat, cache, builder)
            return await generator.run(posts, progress, on_cards)
        finally:
            await chat.aclose()

    try:
        run = asyncio.run(main())
    finally:
        if cache is not None:
            cache.close()
        if client is None:
            chat.close()
    # What the server saw: the client's own retries of 429, 5xx and timeouts included.
    run.requests = chat.chat_requests - sent
    return run


def find_post(posts: Iterable[Post], post_id: str) -> Post:
    """The post with this id, or the only one whose id starts with it."""
    found = list(posts)
    exact = [post for post in found if post.id == post_id]
    matches = exact or [post for post in found if post.id.startswith(post_id)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise FlashgenError(f"no post with id {post_id!r} (`flashgen posts` lists the ids)")
    raise FlashgenError(f"{len(matches)} posts have ids starting with {post_id!r}; give more")


def preview_request(
    inputs: Iterable[str | Path],
    post_id: str,
    config: GeneratorConfig,
    read: ReadOptions | None = None,
) -> ChatRequest:
    """The first request that `build` would send for one post, for review."""
    from flashgen.sources import read_posts

    post = find_post(read_posts(inputs, read), post_id)
    return RequestBuilder(config).request(post, first_mode(config))
