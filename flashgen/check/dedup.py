"""Duplicates across a whole build: exact, one identity, and near where question AND answer
are close.

Closeness comes from the server's embeddings when it offers them (SemDedup-style cosine),
else from character shingles. Deliberate redundancy — one fact asked from both
directions — has a different question and a different answer, so it is kept. Of the cards
that are one fact, the one kept is the one its evidence backs best (a model that pairs an
answer with the wrong entity of its sentence writes the other), then the one with less to
recall.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from flashgen.check.rules import CardText, CheckConfig, card_text
from flashgen.models import Card, card_identity
from flashgen.text import (
    anchor_weights,
    join_answers,
    normalize,
    number_values,
    plain,
    rarest_prefix,
    shingles,
    token_ranks,
    words,
)

Embedder = Callable[[list[str]], list[list[float]]]

# Two cards of one sentence and one answer ask different facts only when each is about
# words of its own there, and the sentence backs each about as well: «Kafka хранит
# сообщения 168 часов, и сегмент лога закрывается через 168 часов» makes two cards; of
# «CHYT (ClickHouse over YT), SPYT (Spark over YT)» only one of CHYT and SPYT is
# «ClickHouse over YT», and it is the one next to it.
WEAKER_SUPPORT = 0.7
# Support scores closer than this are a tie, settled by the effort of recall.
SUPPORT_TIE = 0.05


# Entries of one block of the similarity matrix (8 bytes each): the search's memory bound.
_BLOCK_ENTRIES = 2_000_000


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(x * x for x in b))
    return sum(x * y for x, y in zip(a, b, strict=True)) / norms if norms else 0.0


def embedded_texts(features: _Features) -> tuple[str, str]:
    """What is embedded of a card: its question and its answer."""
    return features.prompt, join_answers(features.answers)


def _embedding_neighbours(
    questions: Sequence[Sequence[float]],
    answers: Sequence[Sequence[float]],
    kinds: Sequence[str],
    threshold: float,
) -> list[list[int]]:
    """For each card, the earlier cards of its kind whose question and answer embeddings
    both reach the cosine threshold.

    Vectorised (numpy) over unit vectors, a block of rows at a time: every pair is
    compared, but as a matrix product, not one Python dot product per pair, and only the
    pairs that are near come back.
    """
    import numpy as np  # only a build whose server embeds needs it

    def units(vectors: Sequence[Sequence[float]]) -> Any:
        matrix = np.asarray(vectors, dtype=np.float64)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix / np.where(norms == 0, 1.0, norms)

    q, a = units(questions), units(answers)
    codes = np.unique(np.asarray(kinds), return_inverse=True)[1]
    count = len(kinds)
    out: list[list[int]] = [[] for _ in range(count)]
    rows_per_block = max(1, _BLOCK_ENTRIES // max(count, 1))
    for start in range(0, count, rows_per_block):
        stop = min(count, start + rows_per_block)
        near = (q[start:stop] @ q[:stop].T) >= threshold
        near &= (a[start:stop] @ a[:stop].T) >= threshold
        near &= codes[start:stop, None] == codes[None, :stop]
        near &= np.arange(stop)[None, :] < np.arange(start, stop)[:, None]  # earlier only
        for row, col in zip(*(x.tolist() for x in np.nonzero(near)), strict=True):
            out[start + row].append(col)
    return out


def _answer(text: CardText) -> str:
    return join_answers(text.answers)


def _jaccard(a: Collection[str], b: Collection[str]) -> float:
    """Jaccard similarity of two collections of distinct tokens (sets or tuples)."""
    if not a and not b:
        return 1.0
    shared = len(set(a).intersection(b))
    return shared / (len(a) + len(b) - shared)


@dataclass(slots=True)
class _Features:
    """What the near-duplicate test compares, computed once per card.

    The tokens (shingles, words, items, numbers) only the search by text needs, and only
    for cards that are not an earlier card's exact twin: `tokenize` makes them then, and
    `release` lets them go.
    """

    kind: str
    effort: int  # words to recall; fewer is better (C4)
    identity: bytes  # a digest of card_identity: a build holds one per card
    exact: bytes  # a digest of the card's exact form: kind, question and answer, plain
    prompt: str
    quote: str
    answers: tuple[str, ...]
    # The round trip's reader found this card's answer (flashgen.check.roundtrip).
    verified: bool = False
    tokenized: bool = False
    # Tuples of distinct interned tokens, not sets: a set's table is four times the size,
    # and a large build holds these for every card it keeps until the search is done.
    prompt_shingles: tuple[str, ...] = ()
    prompt_words: tuple[str, ...] = ()
    items: tuple[str, ...] = ()
    answer_shingles: tuple[str, ...] = ()
    answer_words: tuple[str, ...] = ()
    numbers: frozenset[float] = frozenset()
    weighed: float | None = None

    # Only cards that meet a twin need these: weighed then (and memoised by text), not
    # for every card, and not kept.
    @property
    def anchors(self) -> dict[str, float]:
        """The evidence's words the question names (text.anchor_weights)."""
        return anchor_weights(self.prompt, self.quote, self.answers)

    @property
    def support(self) -> float:
        """How well the evidence backs question and answer together (text.support)."""
        # Kept, one number: a kept card of a repetitive channel meets a twin again and
        # again, and was weighed anew each time its text had left the memo.
        if self.weighed is None:
            self.weighed = sum(self.anchors.values())
        return self.weighed

    def tokenize(self) -> _Features:
        if not self.tokenized:
            answer = join_answers(self.answers)
            self.prompt_shingles = tuple(shingles(self.prompt))
            self.prompt_words = tuple({sys.intern(w) for w in words(normalize(self.prompt))})
            self.items = tuple({plain(x) for x in self.answers})
            self.answer_shingles = tuple(shingles(answer))
            self.answer_words = tuple({sys.intern(w) for w in words(normalize(answer))})
            self.numbers = frozenset(number_values(answer))
            self.tokenized = True
        return self

    def release(self) -> None:
        """Drop what only the search needs, once the card is out of it (a duplicate)."""
        self.prompt_shingles = self.prompt_words = self.answer_shingles = ()
        self.answer_words = self.items = ()
        self.numbers = frozenset()
        self.tokenized = False

    @classmethod
    def of(cls, card: Card, text: CardText) -> _Features:
        exact = f"{card.kind}\n{plain(text.prompt)}\n{plain(_answer(text))}"
        return cls(
            kind=card.kind,
            effort=sum(len(words(x)) for x in text.answers),
            identity=_digest(card_identity(card)),
            exact=_digest(exact),
            prompt=text.prompt,
            quote=card.source_quote,
            answers=text.answers,
        )


def one_fact(a: _Features, b: _Features) -> bool:
    """Whether two cards of one identity (one sentence, one answer) ask one fact: one of
    them names nothing of the sentence the other does not, or what it names of its own
    stands far from the answer (another clause) while the other's stands next to it."""
    own_a = max((w for t, w in a.anchors.items() if t not in b.anchors), default=0.0)
    own_b = max((w for t, w in b.anchors.items() if t not in a.anchors), default=0.0)
    return min(own_a, own_b) < WEAKER_SUPPORT * max(own_a, own_b) or not (own_a and own_b)


def better(a: _Features, b: _Features) -> bool:
    """Whether card a should be kept rather than b, its duplicate: the round trip's reader
    agrees with it and not with b, or the evidence backs it better, or as well and it asks
    less to recall."""
    if a.verified != b.verified:
        return a.verified
    if abs(a.support - b.support) > SUPPORT_TIE:
        return a.support > b.support
    return a.effort < b.effort


def _near_by_text(a: _Features, b: _Features, config: CheckConfig) -> bool:
    a, b = a.tokenize(), b.tokenize()
    question = max(
        _jaccard(a.prompt_shingles, b.prompt_shingles), _jaccard(a.prompt_words, b.prompt_words)
    )
    if question < config.near_question_similarity:
        return False
    if len(a.items) > 1 or len(b.items) > 1:
        # Cloze notes with several deletions are the same only if they ask the same set.
        return _jaccard(a.items, b.items) >= config.near_answer_similarity
    # «шесть» and "6" are one answer.
    if a.numbers and a.numbers == b.numbers:
        return True
    chars = _jaccard(a.answer_shingles, b.answer_shingles)
    smaller = min(len(a.answer_words), len(b.answer_words))
    shared = len(set(a.answer_words).intersection(b.answer_words))
    contained = shared / smaller if smaller else chars
    return max(chars, contained) >= config.near_answer_similarity


# A posting becomes a set when it grows past this: membership is tested on it.
_SHORT_POSTING = 8

# A posting: the kept cards filed under one key. Most keys are one card's, so a lone card
# is its index alone (a list of one costs twice the int), a few a short list, many a set.
_Posting = int | list[int] | set[int]


def _members(posting: _Posting) -> Collection[int]:
    return (posting,) if isinstance(posting, int) else posting


class _TextIndex:
    """Kept cards by blocking keys: a near pair by text shares a question key and an answer
    key, so a card is tested only against kept cards that share both.

    Keys are prefix-filtered, tokens rarest first in one order for the whole build: two
    sets that must overlap in o tokens share one of the first n - o + 1 tokens of each
    (the question's shingles and words), and two of the first n - o + 2 (answers, filed
    by those pairs: far fewer kept cards share a pair of an answer's rare tokens than one
    of them). Answers: shingles by Jaccard; several items by Jaccard, which alone decides
    for them; the number set whole («шесть» = 6); and words by containment, where only the
    smaller answer's prefix is sure to meet the other's tokens: a kept card is filed under
    all of its words (and pairs) and its prefix, a new one looks up its prefix among the
    former and all of its own among the latter.

    A key is the hash of its tag and tokens, not a string made of them: a large build
    files millions, and a hash is a third of the string. Two keys that share a hash only
    make a candidate more, which the test itself then turns down: the verdicts are those
    of string keys.
    """

    def __init__(self, features: Sequence[_Features], config: CheckConfig) -> None:
        counts: list[Counter[str]] = [Counter() for _ in range(5)]
        seen: set[bytes] = set()
        for f in features:
            for count, tokens in zip(counts, self._token_sets(f.tokenize()), strict=True):
                count.update(tokens)
            if f.exact in seen:
                # An exact twin of an earlier card: the search drops it by that form, and
                # makes its tokens again only in the rare case it is the better card.
                f.release()
            seen.add(f.exact)
        self._ranks = [token_ranks(count) for count in counts]
        self._sketches = _Sketches(len(features))
        self._question_t = config.near_question_similarity
        self._answer_t = config.near_answer_similarity
        self._questions: dict[int, _Posting] = {}
        self._answers: dict[int, _Posting] = {}

    @staticmethod
    def _token_sets(f: _Features) -> tuple[Collection[str], ...]:
        return f.prompt_shingles, f.prompt_words, f.answer_shingles, f.answer_words, f.items

    def _prefix(self, tokens: Collection[str], which: int, threshold: float) -> list[str]:
        return rarest_prefix(tokens, self._ranks[which], threshold)

    @staticmethod
    def _pairs(ordered: Sequence[str], tag: str) -> set[int]:
        return {hash((tag, a, b)) for a, b in itertools.combinations(ordered, 2)}

    @staticmethod
    def _singles(tokens: Iterable[str], tag: str) -> set[int]:
        return {hash((tag, x)) for x in tokens}

    def _by_pairs(self, tokens: Collection[str], which: int, tag: str) -> set[int]:
        """Keys for Jaccard >= t: pairs of the (n - o + 2)-prefix. A set so small that one
        shared token could do (o = 1) has its tokens as well as all its pairs: a partner
        that needs two shares two, and one that needs one shares a token."""
        rank, t = self._ranks[which], self._answer_t
        if math.ceil(t * len(tokens)) >= 2:
            return self._pairs(rarest_prefix(tokens, rank, t, extra=1), tag)
        ordered = sorted(tokens, key=rank.__getitem__)
        return self._singles(rarest_prefix(tokens, rank, t), tag) | self._pairs(ordered, tag)

    def _keys(self, f: _Features) -> tuple[set[int], set[int], set[int]]:
        """(question keys, answer keys to file under, answer keys to look up)."""
        t = self._answer_t
        question = {hash(("k", f.kind))} if not f.prompt_shingles else set()
        question |= self._singles(self._prefix(f.prompt_shingles, 0, self._question_t), "s")
        question |= self._singles(self._prefix(f.prompt_words, 1, self._question_t), "w")
        # Several items are near only by the Jaccard of their items; a single item meets
        # several only when half of them is enough.
        keys = self._by_pairs(f.items, 4, "i") if len(f.items) > 1 or t <= 0.5 else set()
        if len(f.items) > 1:
            return question, keys, keys
        keys |= self._by_pairs(f.answer_shingles, 2, "a")
        if f.numbers:
            keys.add(hash(("#", *sorted(f.numbers))))
        ordered = sorted(f.answer_words, key=self._ranks[3].__getitem__)
        need = math.ceil(t * len(ordered))
        own = rarest_prefix(ordered, self._ranks[3], t, extra=1 if need >= 2 else 0)
        own_keys = self._pairs(own, "c2") if need >= 2 else self._singles(own, "c1")
        every = self._singles(ordered, "c1") | self._pairs(ordered, "c2")
        filed = keys | every | {hash(("p", k)) for k in own_keys}
        looked = keys | own_keys | {hash(("p", k)) for k in every}
        return question, filed, looked

    # A card's keys are made again when it is removed (rarely: a better card took its
    # place) rather than kept for every card.
    def add(self, i: int, f: _Features) -> None:
        question, filed, _ = self._keys(f.tokenize())
        self._sketches.put(i, f)
        for postings, keys in ((self._questions, question), (self._answers, filed)):
            for key in keys:
                posting = postings.get(key)
                if posting is None:
                    postings[key] = i
                elif isinstance(posting, int):
                    postings[key] = [posting, i]
                elif isinstance(posting, set):
                    posting.add(i)
                elif len(posting) >= _SHORT_POSTING:
                    postings[key] = {*posting, i}
                else:
                    posting.append(i)

    def remove(self, i: int, f: _Features) -> None:
        question, filed, _ = self._keys(f.tokenize())
        for postings, keys in ((self._questions, question), (self._answers, filed)):
            for key in keys:
                posting = postings[key]
                if isinstance(posting, int):
                    del postings[key]
                elif isinstance(posting, set):
                    posting.discard(i)
                else:
                    posting.remove(i)

    def candidates(self, f: _Features) -> set[int]:
        """Kept cards that share a question key and an answer key with this card.

        Each side's postings are merged and the two intersected as sets (in C): one side
        is often huge (every card of a channel shares its usual words), and testing its
        members one posting at a time in Python was most of a repetitive export's search.
        """
        question, _, looked = self._keys(f.tokenize())
        postings = [
            [p for p in (self._questions.get(k) for k in question) if p is not None],
            [p for p in (self._answers.get(k) for k in looked) if p is not None],
        ]
        # A side whose postings hold many times the cards of the other narrows nothing
        # the sketches below do not: merging it would cost more than it saves.
        sizes = [sum(len(_members(p)) for p in side) for side in postings]
        small = 0 if sizes[0] <= sizes[1] else 1
        found: set[int] = set().union(*map(_members, postings[small]))
        if sizes[1 - small] <= _MERGE_RATIO * sizes[small]:
            found &= set().union(*map(_members, postings[1 - small]))
        return found

    def plausible(self, f: _Features, ordered: Sequence[int]) -> Iterator[int]:
        """The candidates, in the order given, whose question similarity with f's can
        reach the threshold (_Sketches.may_be_near)."""
        return self._sketches.may_be_near(f, ordered, self._question_t)


# The larger side of a candidate search is merged only when at most this many times the
# smaller (see _TextIndex.candidates).
_MERGE_RATIO = 8
# Candidates fewer than this are tested one by one: a sketch bound would cost more.
_FEW_CANDIDATES = 24
# Candidates bounded at once: the first block, and the largest the blocks grow to.
_FIRST_BLOCK, _LAST_BLOCK = 64, 4096
# Buckets of a question's sketch, for its shingles and for its words.
_SHINGLE_BUCKETS, _WORD_BUCKETS = 128, 32


class _Sketches:
    """Each kept card's question as counts of its tokens per hash bucket: an upper bound
    on the question similarity of a card and many candidates at once, as array work.

    Two questions share at most min(a, b) of the tokens of a bucket where they count a
    and b, so the sum of those minima bounds their intersection, and with it their
    Jaccard similarity, from above: a candidate the bound rules out (by shingles and by
    words alike) is one the test would turn down, and the verdicts stay the test's. It
    is what keeps a channel fast where hundreds of cards share one answer and their
    questions share only common words: the test runs only where the bound allows.
    """

    def __init__(self, count: int) -> None:
        import numpy as np

        self._np = np
        width = _SHINGLE_BUCKETS + _WORD_BUCKETS
        self._rows = np.zeros((count, width), dtype=np.uint8)
        self._sizes = np.zeros((count, 2), dtype=np.int32)

    def _row(self, f: _Features) -> tuple[Any, tuple[int, int]]:
        np = self._np
        buckets = [hash(token) % _SHINGLE_BUCKETS for token in f.prompt_shingles]
        buckets += [_SHINGLE_BUCKETS + hash(token) % _WORD_BUCKETS for token in f.prompt_words]
        row = np.bincount(buckets, minlength=_SHINGLE_BUCKETS + _WORD_BUCKETS)
        return row, (len(f.prompt_shingles), len(f.prompt_words))

    def put(self, i: int, f: _Features) -> None:
        row, self._sizes[i] = self._row(f)
        # A kept card's count past a byte's range is stored as the range's top: against a
        # count b within it, min(255, b) = b is still at least what the two share.
        self._rows[i] = row.clip(max=255)

    def may_be_near(self, f: _Features, ordered: Sequence[int], threshold: float) -> Iterator[int]:
        """The candidates, in the order given, whose question similarity with f's can reach
        the threshold: bounded a block at a time, the blocks growing, since the caller
        stops at the first near one and on a repetitive channel that one comes early."""
        if len(ordered) < _FEW_CANDIDATES:
            yield from ordered
            return
        np = self._np
        row, (shingles_n, words_n) = self._row(f)
        if row.max() > 255:  # a question tens of thousands of characters long: no bound
            yield from ordered
            return
        start, block = 0, _FIRST_BLOCK
        while start < len(ordered):
            ids = np.asarray(ordered[start : start + block], dtype=np.int64)
            start, block = start + block, min(2 * block, _LAST_BLOCK)
            shared = np.minimum(self._rows[ids], row)
            keep = np.zeros(len(ids), dtype=bool)
            for part, size, column in (
                (slice(0, _SHINGLE_BUCKETS), shingles_n, 0),
                (slice(_SHINGLE_BUCKETS, None), words_n, 1),
            ):
                most = shared[:, part].sum(axis=1, dtype=np.int64)
                union = self._sizes[ids, column] + size - most
                # Empty against empty is 1.0 in the test (_jaccard).
                keep |= np.where(union > 0, most / np.maximum(union, 1), 1.0) >= threshold
            yield from ids[keep].tolist()


Prepared = _Features


def prepare(card: Card, text: CardText | None = None) -> Prepared:
    """What find_duplicates needs of one card, computed apart so a build can do it for each
    card as the model's answers arrive, while it waits for the rest."""
    return _Features.of(card, text or card_text(card))


def _digest(text: str) -> bytes:
    # 128 bits: no two of a build's texts share one, at a tenth of the text's memory.
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def find_duplicates(
    cards: Sequence[Card],
    config: CheckConfig,
    embed: Embedder | None = None,
    prepared: Sequence[Prepared] | None = None,
    *,
    exhaustive: bool = False,
) -> dict[int, tuple[str, int]]:
    """Index of each duplicate card → (reason, index of the card kept in its place).

    Each card is compared only with the cards kept so far: with shingles, only those whose
    question and answer can both reach their thresholds (blocking keys keep a large build
    fast); with embeddings, every kept card of the same kind. `prepared` holds what
    `prepare` gives for each card, when it was computed earlier. `exhaustive` compares
    every kept card instead, one pair at a time: the reference the tests hold the indexed
    search to.
    """
    # The list is the search's own, to release duplicates' features from as it goes.
    features = list(prepared) if prepared is not None else [prepare(card) for card in cards]
    del prepared
    neighbours: list[list[int]] | None = None
    index: _TextIndex | None = None
    flat: list[list[float]] = []
    if embed is not None and cards:
        pairs = [embedded_texts(f) for f in features]
        flat = embed([q for q, _ in pairs] + [a for _, a in pairs])
        kinds = [f.kind for f in features]
        if not exhaustive:
            neighbours = _embedding_neighbours(
                flat[: len(cards)], flat[len(cards) :], kinds, config.embedding_similarity
            )
    elif not exhaustive:
        index = _TextIndex(features, config)

    def near(i: int, k: int) -> bool:
        """The test itself, for one pair (the exhaustive reference)."""
        if features[i].kind != features[k].kind:
            return False
        if not flat:
            return _near_by_text(features[i], features[k], config)
        count, threshold = len(cards), config.embedding_similarity
        return all(
            _cosine(flat[offset + i], flat[offset + k]) >= threshold for offset in (0, count)
        )

    def near_kept(i: int) -> int | None:
        """The first kept card (in input order) near card i, but not of its identity: a
        card of its identity that is not one fact with it is another fact, however alike
        the wording (one sentence, one answer): the evidence has spoken.

        Candidates are tested in input order and the first near one ends the search: on a
        channel that repeats itself most cards are near an early one, and testing the rest
        of its candidates would change nothing.
        """
        mine = features[i].identity
        found: Iterable[int]
        if exhaustive:
            found = sorted(slot_of, key=slot_of.__getitem__)
        elif neighbours is not None:
            found = sorted((k for k in neighbours[i] if k in slot_of), key=slot_of.__getitem__)
        else:
            assert index is not None
            ordered = sorted(index.candidates(features[i]), key=slot_of.__getitem__)
            found = index.plausible(features[i], ordered)
        for k in found:
            if features[k].identity == mine or features[k].kind != features[i].kind:
                continue
            if neighbours is not None or near(i, k):
                return k
        return None

    exact: dict[bytes, int] = {}  # exact form → the kept card of that form
    same_identity: dict[bytes, set[int]] = defaultdict(set)  # identity → its kept cards
    slot_of: dict[int, int] = {}  # kept card → its place in input order
    dropped: dict[int, tuple[str, int]] = {}
    # The other way round, so a card that takes another's place takes over its exact
    # forms and its duplicates without a walk over all of them.
    forms_of: dict[int, list[bytes]] = defaultdict(list)
    duplicates_of: dict[int, list[int]] = defaultdict(list)

    def keep(i: int, slot: int) -> None:
        slot_of[i] = slot
        if features[i].exact not in exact:
            exact[features[i].exact] = i
            forms_of[i].append(features[i].exact)
        same_identity[features[i].identity].add(i)
        if index is not None:
            index.add(i, features[i])

    def forget(i: int) -> int:
        same_identity[features[i].identity].discard(i)
        if index is not None:
            index.remove(i, features[i])
        return slot_of.pop(i)

    def drop(i: int, reason: str, keeper: int) -> None:
        dropped[i] = (reason, keeper)
        duplicates_of[keeper].append(i)
        features[i].release()

    def first(found: Iterable[int]) -> int | None:
        return min(found, key=slot_of.__getitem__, default=None)

    for i in range(len(cards)):
        reason = "duplicate"
        twin = exact.get(features[i].exact)
        if twin is None:
            twin = first(
                k for k in same_identity[features[i].identity] if one_fact(features[i], features[k])
            )
        if twin is None:
            reason = "near-duplicate"
            twin = near_kept(i)
        if twin is None:
            keep(i, i)
        elif better(features[i], features[twin]):
            # The newcomer is the better card: it takes the earlier one's place, and what
            # was a duplicate of that one is now a duplicate of this one.
            keep(i, forget(twin))
            for form in forms_of.pop(twin, ()):
                exact[form] = i
                forms_of[i].append(form)
            for j in duplicates_of.pop(twin, ()):
                dropped[j] = (dropped[j][0], i)
                duplicates_of[i].append(j)
            drop(twin, reason, i)
        else:
            drop(i, reason, twin)
    return dropped
