"""The round trip's conversation: a post and its cards' questions to the reader model.

One request per post, with the post and the questions of its cards that passed the
rules, never their answers (flashgen.check.roundtrip says what is asked and whether the
answers agree). The reader is the generator's model unless a judge model is set; the
request goes through the cache like every other, and its requests, tokens and cost are
counted apart from generation. A failed request, a refused mode or a reply that breaks
the contract costs the post its round trip, not its cards: they keep the rules' verdict.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from flashgen.cache import Cache
from flashgen.check.roundtrip import Finding, disagreement, questions
from flashgen.client import ModelClient
from flashgen.errors import LLMError, ModeRejected, RequestFailed
from flashgen.generate.contract import ContractError, RoundTripResponse, checked_reply, parse_reply
from flashgen.generate.llm import request_key, store
from flashgen.generate.modes import candidate_modes, mode_setting
from flashgen.generate.prompts import RequestBuilder
from flashgen.models import Card, Post, Verification
from flashgen.settings import ConcreteMode, GeneratorConfig

Findings = dict[int, Finding | None]  # id(card) → why it disagrees, or None: it agrees


class RoundTrip:
    """Asks the reader the questions of each post's cards, through the cache.

    `modes` gives the structured-output modes to try, best first: a build passes the
    generator's settled mode, so the round trip never probes a server again."""

    def __init__(
        self,
        config: GeneratorConfig,
        backend: ModelClient,
        cache: Cache | None,
        builder: RequestBuilder,
        modes: Callable[[], Sequence[ConcreteMode]],
    ) -> None:
        self.config = config
        self.backend = backend
        self.cache = cache
        self.builder = builder
        self._modes = modes
        self._refused: set[ConcreteMode] = set()
        self.stats = Verification(model=config.judge_model or config.model)

    async def check(self, post: Post, cards: Sequence[Card]) -> Findings:
        """Each card's verdict, by id(card): a card the reader contradicts gets its
        finding, one it agrees with on every question None; a card the reader skipped,
        or all of them when the request failed, is left out."""
        asked = [(card, q, answer) for card in cards for q, answer in questions(card)]
        asked = [(card, q, answer) for card, q, answer in asked if q and answer]
        if not asked:
            return {}
        try:
            reply = await self._answers(post, [q for _, q, _ in asked])
        except (LLMError, ContractError) as exc:
            reason = exc.reason if isinstance(exc, RequestFailed) else str(exc)
            self.stats.failures[post.id] = " ".join(reason.split())[:200]
            return {}
        by_number = {answer.number: answer for answer in reply.answers}
        found: Findings = {}
        skipped: set[int] = set()
        for number, (card, _, expected) in enumerate(asked, 1):
            answer = by_number.get(number)
            if answer is None:
                skipped.add(id(card))
                continue
            problem = disagreement(expected, answer.found, answer.answer)
            if found.get(id(card)) is None:  # a cloze's first disagreeing question speaks
                found[id(card)] = problem
        # A card agrees only when the reader answered every question it asks.
        for card_id in skipped:
            if found.get(card_id) is None:
                found.pop(card_id, None)
        verdicts = list(found.values())
        self.stats.refuted += sum(v is not None for v in verdicts)
        self.stats.confirmed += sum(v is None for v in verdicts)
        return found

    def finished(self) -> Verification:
        """The figures so far, with their cost."""
        stats = self.stats
        stats.cost = self.config.cost(stats.tokens_in, stats.tokens_out, stats.model)
        return stats

    async def _answers(self, post: Post, asked: list[str]) -> RoundTripResponse:
        modes = [mode for mode in self._modes() if mode not in self._refused]
        if self.cache is not None:
            for mode in modes:
                hit = self.cache.get(request_key(self.builder.verify(post, asked, mode), post))
                if hit is None:
                    continue
                try:
                    response = parse_reply(hit.content, RoundTripResponse)
                except ContractError:
                    continue  # stored by an older contract: ask again
                self.stats.cache_hits += 1
                return response
        for mode in modes:
            request = self.builder.verify(post, asked, mode)
            self.stats.requests += 1
            try:
                reply = await self.backend.complete(request)
            except ModeRejected:
                self._refused.add(mode)
                continue
            self.stats.tokens_in += reply.tokens_in
            self.stats.tokens_out += reply.tokens_out
            response = checked_reply(reply, request.max_tokens, RoundTripResponse)
            if self.cache is not None:
                store(self.cache, request_key(request, post), request, reply, post)
            return response
        raise RequestFailed("the server refused every structured-output mode for the round trip")


def verify_cards(
    groups: Sequence[tuple[Post, Sequence[Card]]],
    config: GeneratorConfig,
    client: ModelClient,
) -> tuple[Findings, Verification]:
    """The round trip for cards made elsewhere (`flashgen check`), post by post, at most
    `config.concurrency` requests at once."""
    builder = RequestBuilder(config)  # bad templates fail before any request
    cache = Cache(config.cache) if config.cache is not None else None
    try:
        remembered = cache.setting(mode_setting(config)) if cache is not None else None
        modes = candidate_modes(config, remembered)
        trip = RoundTrip(config, client, cache, builder, lambda: modes)

        async def main() -> list[Findings]:
            slots = asyncio.Semaphore(config.concurrency)

            async def one(post: Post, cards: Sequence[Card]) -> Findings:
                async with slots:
                    return await trip.check(post, cards)

            try:
                return await asyncio.gather(*(one(post, cards) for post, cards in groups))
            finally:
                await client.aclose()

        with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
            results = runner.run(main())
    finally:
        if cache is not None:
            cache.close()
    found: Findings = {}
    for result in results:
        found.update(result)
    return found, trip.finished()
