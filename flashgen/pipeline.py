"""The whole path: inputs → posts → cards → checked cards → decks → package."""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from flashgen import memo
from flashgen.cache import Cache
from flashgen.check import (
    Checker,
    Rejection,
    Verdict,
    check_card_fields,
    load_card_fields,
    write_report,
)
from flashgen.check.embed import Prefetch, make_embedder
from flashgen.client import ChatRequest, ModelClient, open_client
from flashgen.errors import ConfigError, EmbeddingError, ExportError, FlashgenError
from flashgen.evaluate import EvalReport, evaluate, load_gold
from flashgen.export import (
    default_timestamp,
    export_decks,
    export_split,
    note_digest,
    note_guid,
    packaged_notes,
)
from flashgen.files import folder_lock
from flashgen.generate import generate_llm, generate_offline_all
from flashgen.generate.modes import first_mode
from flashgen.generate.prompts import RequestBuilder
from flashgen.generate.sections import split_long_posts
from flashgen.generate.topics import consolidate_with_llm
from flashgen.generate.verify import verify_cards
from flashgen.group import (
    DEFAULT_MAX_TOPICS,
    ROOT_DECK,
    TopicMapper,
    assign_topics,
    group_by_topic,
)
from flashgen.ledger import open_ledger, reconcile, write_stale
from flashgen.models import (
    BuildResult,
    Card,
    Generation,
    Post,
    ReadOptions,
    Verification,
    anki_cards,
)
from flashgen.review import DATA_NAME, PAGE_NAME, apply_decisions, review_data, write_review
from flashgen.settings import DEFAULT_CACHE, OFFLINE_NOTICE, CheckConfig, GeneratorConfig, Topic
from flashgen.sources import read_posts

PACKAGE_NAME = "flashgen.apkg"
# A build this big is announced before it starts: it takes a while, and with a model, money.
LARGE_POSTS = 5000
LARGE_CHARS = 10_000_000
REPORT_NAME = "flashgen.rejected.jsonl"
STALE_NAME = "flashgen.stale.jsonl"


@dataclass
class Run:
    """Posts, the cards made from them and the checks' verdict: what build and eval share."""

    posts: list[Post]
    generated: list[Card]
    accepted: list[Card]
    rejected: list[Rejection]
    generation: Generation
    notices: list[str]  # one-line notes for the user, from every stage

    def rejections(self) -> dict[str, int]:
        """Why cards were rejected, reason → count: not well-formed, then by the checks."""
        counts = Counter(self.generation.invalid)
        counts.update(reason for r in self.rejected for reason in r.reasons)
        return dict(counts)


@contextlib.contextmanager
def model_client(
    generator: GeneratorConfig | None, client: ModelClient | None = None
) -> Iterator[ModelClient | None]:
    """The client to ask: None when the generator is offline, else `client`, else one
    opened for the generator's server and closed afterwards."""
    if generator is None or not generator.uses_llm():
        yield None
    elif client is not None:
        yield client
    else:
        opened = open_client(generator)
        try:
            yield opened
        finally:
            if opened is not None:
                opened.close()


def run(
    inputs: Iterable[str | Path],
    *,
    generator: GeneratorConfig | None = None,
    client: ModelClient | None = None,
    progress: Callable[[int, int], None] | None = None,
    read: ReadOptions | None = None,
    checks: CheckConfig | None = None,
    taxonomy: Sequence[Topic] | None = None,
    notify: Callable[[str], None] | None = None,
    workers: int | None = 1,
) -> Run:
    """Read the inputs, generate cards and check them; nothing is written but the cache.

    Cards come from the model behind `client` (by default one for the generator's
    server) when the generator asks a model, else from the offline rules, made in
    `workers` processes for a large build (None: every usable core; one by default,
    since worker processes re-import the caller's main module, which a script must
    guard with `if __name__ == "__main__"`)."""
    _check_verify(generator)
    posts = read_posts(inputs, read)
    checks = checks or CheckConfig()
    generator = with_taxonomy(generator, taxonomy)
    size = sum(len(post.text) for post in posts)
    if notify is not None and (len(posts) >= LARGE_POSTS or size >= LARGE_CHARS):
        asks = "a request per post to the model" if generator and generator.uses_llm() else ""
        notify(
            f"a large build: {len(posts)} posts, {size / 1e6:.1f} M characters"
            + (f"; {asks}, and the model's tokens are paid for" if asks else "")
        )
    with model_client(generator, client) as chat:
        return _run(posts, generator, chat, progress, checks, workers)


def _run(
    posts: list[Post],
    generator: GeneratorConfig | None,
    client: ModelClient | None,
    progress: Callable[[int, int], None] | None,
    checks: CheckConfig,
    workers: int | None = 1,
) -> Run:
    checker = Checker(posts, checks)
    notices: list[str] = []
    if client is not None and generator is not None and generator.cache is not None:
        # Vetted here, before the embeddings probe opens it in its thread: a damaged cache
        # is set aside once, and said so once.
        with Cache(generator.cache) as cache:
            notices += cache.notices
    probe = None
    if client is not None and generator is not None:
        # Whether the server embeds, and the embeddings of the cards that pass, are asked
        # while it writes the cards, not after.
        probe = Prefetch(client, *_embedding_model(generator, checks), generator.cache)
        checker.feed = probe.feed

    def checked(made: list[Card]) -> list[Card]:
        checker.add(made)
        return checker.survivors(made)

    # Each post's cards are checked, and go through the round trip, while the model
    # answers the others.
    cards, generation, findings = _generate(
        posts, generator, client, progress, checked, notices, workers
    )
    checker.judge(findings)
    if generation.verification is not None and generation.verification.notice():
        notices.append(str(generation.verification.notice()))
    embed = None
    if probe is not None:
        embed, notice = probe.result()
        if notice:
            notices.append(notice)
    try:
        accepted, rejected = checker.finish(cards, embed)
    except EmbeddingError as exc:
        # The server stopped embedding after it had begun: the build goes on without.
        notices.append(f"{exc}; near-duplicates found by shingles instead")
        accepted, rejected = checker.finish(cards, None)
    return Run(posts, cards, accepted, rejected, generation, notices)


def with_taxonomy(
    generator: GeneratorConfig | None, taxonomy: Sequence[Topic] | None = None
) -> GeneratorConfig | None:
    """The generator told the user's topic names ([[topics]] in flashgen.toml), if any, so
    the prompt asks the model to choose among them."""
    if generator is None or not taxonomy:
        return generator
    return generator.model_copy(update={"topics": tuple(t.name for t in taxonomy)})


def _check_verify(generator: GeneratorConfig | None) -> None:
    """`--verify on` without a model to ask is an error, not a silent skip."""
    if generator is not None and generator.verify == "on" and not generator.uses_llm():
        raise ConfigError(
            "--verify on needs a model to ask: set --base-url (OPENAI_BASE_URL) for a local "
            "server, or OPENAI_API_KEY"
        )


def _topic_mapper(
    generator: GeneratorConfig | None, client: ModelClient | None, notices: list[str]
) -> TopicMapper | None:
    """The one extra LLM call that merges the model's topic labels into decks."""
    if generator is None or client is None:
        return None

    def mapper(counts: Sequence[tuple[str, int]], max_topics: int) -> dict[str, str] | None:
        mapping, notice = consolidate_with_llm(counts, client, generator, max_topics)
        if notice:
            notices.append(notice)
        elif mapping is not None:
            notices.append(
                f"{len(counts)} topic labels merged by the model into "
                f"{len(set(mapping.values()))} decks"
            )
        return mapping

    return mapper


def build(
    inputs: Iterable[str | Path],
    out_dir: str | Path = "decks",
    *,
    root: str = ROOT_DECK,
    timestamp: float | None = None,
    generator: GeneratorConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
    read: ReadOptions | None = None,
    checks: CheckConfig | None = None,
    taxonomy: Sequence[Topic] | None = None,
    max_topics: int = DEFAULT_MAX_TOPICS,
    split: bool = False,
    ledger: str | Path | None = None,
    client: ModelClient | None = None,
    notify: Callable[[str], None] | None = None,
    workers: int | None = 1,
) -> BuildResult:
    """Read the inputs, generate and check cards, and write one package into `out_dir` (or
    one per topic with `split`), with the rejected and the stale cards listed beside it.

    Every input is read and every card made before anything is written, so bad input
    leaves the user's folder as it was. Notes keep the GUIDs and dates the ledger (by
    default `generator.ledger`; none without a generator) remembers for their cards.
    Cards come from `client` as in `run`.
    """
    if not root.strip(": \t"):
        raise ExportError(f"the root deck needs a name, got {root!r}")
    inputs = list(inputs)
    topics = taxonomy or ()
    out = Path(out_dir)
    ledger_path = ledger if ledger is not None else generator.ledger if generator else None
    # What the build reads besides its inputs, and so what the memo must find unchanged.
    cache = generator.cache if generator else None
    state = [Path(p) for p in (ledger_path, cache) if p is not None]
    key = _memo_key(inputs, generator, read, checks, topics, root, timestamp, max_topics, split)
    if key is not None and (out / memo.MEMO_NAME).exists():  # the lock would make the folder
        with folder_lock(out):
            earlier = memo.recall(out, key, state)
        if earlier is not None:
            return memo.replayed(earlier)
    with model_client(generator, client) as chat:
        result = run(
            inputs,
            generator=generator,
            client=chat,
            progress=progress,
            read=read,
            checks=checks,
            taxonomy=topics,
            notify=notify,
            workers=workers,
        )
        notices = result.notices
        posts = {post.id: post for post in result.posts}
        cards = assign_topics(
            result.accepted,
            posts,
            taxonomy=topics,
            from_model=result.generation.generator == "llm",
            max_topics=max_topics,
            mapper=_topic_mapper(generator, chat, notices),
        )
    decks = group_by_topic(cards, root)
    stamp = int(default_timestamp() if timestamp is None else timestamp)
    with contextlib.ExitStack() as stack:
        # One build writes a folder at a time: the ledger is read, and everything written,
        # under the lock, so a second build sees what the first one issued.
        stack.enter_context(folder_lock(out))
        book = None
        if ledger_path is not None:
            book, notice = open_ledger(
                ledger_path,
                # Earlier versions kept the ledger in the response cache.
                legacy=(generator.cache if generator else None) or DEFAULT_CACHE,
                packages=lambda: packaged_notes(out, posts),
            )
            stack.enter_context(book)
            if notice:
                notices.append(notice)
        notes = [
            (card, note_guid(card), note_digest(card, posts.get(card.post_id))) for card in cards
        ]
        # A post that got no answer made no cards this time; its cards are not stale.
        generated = set(posts) - set(result.generation.failures)
        issued = book.earlier(posts) if book else []
        plan = reconcile(notes, issued, stamp, generated)
        # The reviewer's decisions (flashgen review), by GUID: applied from the ledger,
        # with no request to the model.
        decided = apply_decisions(
            cards, plan, book.decisions() if book else {}, posts, issued, stamp
        )
        notices += decided.notices
        if decided.rejected or decided.edited:
            notices.append(
                f"your review: {len(decided.rejected)} cards rejected, {decided.edited} edited"
            )
        cards = decided.cards
        decks = group_by_topic(cards, root)
        if split:
            paths = export_split(
                decks, posts, out, root=root, timestamp=stamp, issues=decided.issues
            )
        else:
            paths = [
                export_decks(
                    decks,
                    posts,
                    out / PACKAGE_NAME,
                    root=root,
                    timestamp=stamp,
                    issues=decided.issues,
                )
            ]
        # Written every build, so they never describe an older build.
        by_you = [rejection for rejection, _ in decided.rejected]
        rejected_path = write_report([*by_you, *result.rejected], out / REPORT_NAME)
        stale_path = write_stale(plan.stale, out / STALE_NAME)
        data = review_data(
            decided, result.rejected, plan.stale, result.generation.failures, posts, decks,
            ledger=str(Path(ledger_path).resolve()) if ledger_path is not None else None,
            built=stamp,
        )  # fmt: skip
        write_review(out, data)
        # Remembered only once everything is written, so a failed write changes no dates.
        if book is not None:
            book.remember(plan.entries, posts.values())
        path = out if split else paths[0]
        made = {card.post_id for card in result.generated}
        empty = [
            p.id
            for p in result.posts
            if p.id not in made and p.id not in result.generation.failures
        ]
        if not result.accepted:
            # Still written, so the output path is predictable; but say that it is empty.
            notices.append(f"no card passed the checks, so {path} holds no notes")
        built = BuildResult(
            posts=len(result.posts),
            notes=len(cards),
            empty_posts=empty,
            cards=sum(anki_cards(card) for card in cards),
            rejected=len(result.rejected) + sum(result.generation.invalid.values()),
            decks=list(decks),
            path=str(path),
            report=str(rejected_path),
            generation=result.generation,
            rejections=result.rejections(),
            notices=notices,
            packages=[str(p) for p in paths],
            stale=len(plan.stale),
            stale_report=str(stale_path) if stale_path else None,
        )
        if key is not None:
            # Under the lock, so the files it describes are this build's.
            # The review page too: a build that finds it gone writes it again.
            pages = [out / PAGE_NAME, out / DATA_NAME]
            memo.remember(out, key, built, [*state, *pages], cached=cache is not None)
    return built


def _memo_key(
    inputs: Sequence[str | Path],
    generator: GeneratorConfig | None,
    read: ReadOptions | None,
    checks: CheckConfig | None,
    topics: Sequence[Topic],
    root: str,
    timestamp: float | None,
    max_topics: int,
    split: bool,
) -> str | None:
    """The memo's key for this build, or None when an input cannot be read (the build
    itself then says what is wrong with it)."""
    settings = {
        "generator": generator.model_dump(mode="json") if generator else None,
        # The key itself is never dumped, but whether there is one decides the generator.
        "llm": bool(generator and generator.uses_llm()),
        "verifies": bool(generator and generator.verifies()),
        "read": (read or ReadOptions()).model_dump(mode="json"),
        "checks": (checks or CheckConfig()).model_dump(mode="json"),
        "topics": [t.model_dump(mode="json") for t in topics],
        "root": root,
        # Unset, the stamp is now: a rebuild of the same notes may as well keep the last.
        "timestamp": timestamp if timestamp is not None else os.environ.get("SOURCE_DATE_EPOCH"),
        "max_topics": max_topics,
        "split": split,
    }
    try:
        return memo.fingerprint(inputs, settings, generator.prompts if generator else None)
    except (OSError, FlashgenError):
        return None


def evaluate_inputs(
    inputs: Iterable[str | Path],
    gold: str | Path,
    *,
    generator: GeneratorConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
    read: ReadOptions | None = None,
    checks: CheckConfig | None = None,
    taxonomy: Sequence[Topic] | None = None,
    client: ModelClient | None = None,
) -> EvalReport:
    """Build the cards (the cache makes a repeat cheap) and score them against gold facts."""
    facts = load_gold(gold)
    result = run(
        inputs,
        generator=generator,
        client=client,
        progress=progress,
        read=read,
        checks=checks,
        taxonomy=taxonomy,
    )
    return evaluate(result.posts, result.generated, result.accepted, facts)


def _embedding_model(generator: GeneratorConfig, checks: CheckConfig) -> tuple[str, str]:
    """(model, where): the model that embeds, and the server it is asked at."""
    return checks.embedding_model or generator.model, generator.base_url or "api.openai.com"


class CheckReport(BaseModel):
    """What `check_file` found: a verdict per card, and the round trip's figures when it ran."""

    model_config = ConfigDict(extra="forbid")

    verdicts: list[Verdict]
    verification: Verification | None = None
    notices: list[str] = []


def check_file(
    inputs: Iterable[str | Path],
    cards: str | Path,
    *,
    read: ReadOptions | None = None,
    generator: GeneratorConfig | None = None,
    checks: CheckConfig | None = None,
    client: ModelClient | None = None,
) -> CheckReport:
    """Verdicts on cards written elsewhere (a JSON array), checked against their posts;
    when the generator asks a model, through the round trip, and near-duplicates by the
    server's embeddings."""
    _check_verify(generator)
    fields = load_card_fields(cards)
    posts = read_posts(inputs, read)
    checks = checks or CheckConfig()
    report = CheckReport(verdicts=[])
    with model_client(generator, client) as chat:
        embed = None
        roundtrip = None
        if chat is not None and generator is not None:
            embed, _ = make_embedder(chat, *_embedding_model(generator, checks), generator.cache)
            if generator.verifies():
                asked, told = chat, generator

                def roundtrip(
                    groups: Sequence[tuple[Post, Sequence[Card]]],
                ) -> dict[int, tuple[str, str] | None]:
                    found, report.verification = verify_cards(groups, told, asked)
                    return found

        report.verdicts = check_card_fields(posts, fields, checks, embed, roundtrip)
    if report.verification is not None and report.verification.notice():
        report.notices.append(str(report.verification.notice()))
    return report


def _generate(
    posts: Sequence[Post],
    generator: GeneratorConfig | None,
    client: ModelClient | None,
    progress: Callable[[int, int], None] | None,
    on_cards: Callable[[list[Card]], list[Card]],
    notices: list[str],
    workers: int | None = 1,
) -> tuple[list[Card], Generation, dict[int, tuple[str, str] | None]]:
    """Cards from the model when there is a client, else from the offline generator; and
    the round trip's findings on them (by id(card)) when it ran."""
    if generator is None or client is None:
        if generator is not None and generator.generator == "auto":
            notices.append(OFFLINE_NOTICE)
        limit = (generator or GeneratorConfig()).max_offline_cards
        cards: list[Card] = []
        done = 0
        # Each run of posts is checked here while the workers make the next one's cards.
        for batch in generate_offline_all(posts, limit, workers):
            for made in batch:
                post = posts[done]
                done += 1
                if len(made) >= limit:
                    notices.append(
                        f"post {post.id}: kept its best {limit} offline cards "
                        "(max_offline_cards in flashgen.toml)"
                    )
                on_cards(made)
                cards += made
                if progress is not None:
                    progress(done, len(posts))
        return cards, Generation(), {}
    # A long post goes in sections, each its own request; its cards come back under it.
    sections, owner = split_long_posts(posts, generator.section_chars)
    mapped: dict[int, Card] = {}

    def under_post(card: Card) -> Card:
        if card.post_id not in owner:
            return card
        if id(card) not in mapped:
            mapped[id(card)] = card.model_copy(update={"post_id": owner[card.post_id]})
        return mapped[id(card)]

    def relay(made: list[Card]) -> list[Card]:
        return on_cards([under_post(card) for card in made])

    run = generate_llm(
        sections,
        generator,
        client=client,
        progress=progress,
        on_cards=relay,
        verify=generator.verifies(),
    )
    if owner:
        notices.append(
            f"{len(set(owner.values()))} long posts sent in {len(owner)} sections of at most "
            f"{generator.section_chars} characters"
        )
    notices.extend(run.notices)
    failures: dict[str, str] = {}
    for failure in run.failures:
        reason = failure.reason + (
            f" (gave up after {failure.attempts} attempts)" if failure.attempts > 1 else ""
        )
        post_id = owner.get(failure.post_id, failure.post_id)
        if failure.post_id in owner:
            reason = f"section {failure.post_id.rsplit('§', 1)[1]}: {reason}"
        failures[post_id] = "; ".join(filter(None, (failures.get(post_id), reason)))
    generation = Generation(
        generator="llm",
        mode=run.mode,
        requests=run.requests,
        cache_hits=run.cache_hits,
        failures=failures,
        tokens_in=run.tokens_in,
        tokens_out=run.tokens_out,
        cost=run.cost,
        # A card the model wrote that is not a well-formed Card is rejected like any other.
        invalid=dict(Counter(f"invalid-card ({card.reason})" for card in run.invalid)),
        verification=run.verification,
    )
    return [under_post(card) for card in run.cards], generation, run.roundtrip


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
    taxonomy: Sequence[Topic] | None = None,
) -> ChatRequest:
    """The first request that `build` would send for one post, for review; nothing is sent."""
    post = find_post(read_posts(inputs, read), post_id)
    told = with_taxonomy(config, taxonomy) or config
    return RequestBuilder(told).request(post, first_mode(told))
