"""The offline generator: one card per fact, from the sentences a learner would study.

No model, deterministic. A post is read as a heading (its title: each card's Extra, and
the subject «(Llama 3.1) …» prefixed to a card that does not name it), lists, and
sentences. Noise gives no card: link previews, signatures, hashtag and attribution lines,
and sentences that are not facts (first person, announcements, anecdotes, hypotheticals,
greetings and calls to act, a pronoun for a subject, questions, code). Each list becomes
one ordered cloze of its items' names, whatever its bullets; each remaining sentence gives
its single best card — an enumeration, a definition as a question («Что такое X?»), its
best number, or the term the rest of it determines — scored by how much of a fact it is.
A post keeps its best cards up to `card_budget`, never two for one answer, and each card's
Quote holds the sentences around it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
import multiprocessing
import os
import re
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Literal

from flashgen.check.rules import PostView, card_reasons
from flashgen.clean import URL_RE
from flashgen.models import CLOZE_RE, Card, Post, cloze_deletions, cloze_problem
from flashgen.settings import CheckConfig
from flashgen.text import (
    CLOSING_NUMBER_RE,
    CYRILLIC_RE,
    FUNCTION_WORDS,
    KEYCAP_RE,
    LATIN_TERM_RE,
    LATIN_TOKEN,
    LIST_JOIN_RE,
    LIST_MARKER,
    NUMBER_SPAN_RE,
    NUMBER_WORD_RE,
    PICTOGRAPH_RE,
    QUESTION_WORDS,
    channel_name,
    hashtags,
    names_channel,
    normalize,
    number_values,
    split_sentences,
    without_pictographs,
)

MIN_WORDS, MAX_WORDS = 4, 35
# The gates' default thresholds: a build with its own still checks every card it exports.
_GATES = CheckConfig()
MAX_LIST_ITEM_WORDS = 10
MAX_HEAD_WORDS = 5

DEFINITION_RU_RE = re.compile(r"^(?P<x>.{2,80}?)\s+[—–-]\s+это\s+(?P<y>.+?)[.!]?$")
DEFINITION_EN_RE = re.compile(
    # "If your CV is a …", "When the queue is a …": a condition, not a name, opens those.
    r"^(?!(?i:if|when|whenever|where|which|who|whose|what|how|why|while|because|since|"
    r"although|though|unless|once|as|so|but|and|or|here|there|this|that|it)\b)"
    # A name opens with a capital unless an article stands before it ("The memtable is").
    r"(?:(?:A|An|The)\s+|(?=[A-Z]))"
    r"(?P<x>[A-Za-z][^,;]{1,60}?)\s+(?:is|are)\s+(?P<y>(?:a|an|the)\s.+?)[.!]?$"
)
INLINE_ITEM_RE = re.compile(r"(?:(?<=\s)|(?<=^)|(?<=:))\(?(?P<n>\d)\)\s+")
QUOTED_RE = re.compile(r"[«\"]([^«»\"]{2,80})[»\"]")
HEAD_RE = re.compile(r"^(?P<head>.+?)(?:\s+[—–-]\s+|:\s+)(?P<rest>.+)$")
# Sentences about the channel itself, its readers or ads are not worth learning (C9).
NOISE_SENTENCE_RE = re.compile(
    r"\b(?:наш\w* канал\w*|на канал\w*|в канале|канала|подпис(?:ывайтесь|итесь|аться)|"
    r"подписчик(?:ов|ам|и)? (?:канала|на канале)|читающих|реклам\w*|промокод\w*|"
    r"subscribe (?:to|for)|subscribers of|our channel|this channel|sponsored)\b",
    re.IGNORECASE,
)
# Code: brackets and assignments, keywords, or a line that is one string literal.
# "FROM golang:1.22 AS build", "SELECT id FROM t": a Dockerfile's or SQL's keyword.
_CODE_KEYWORD_RE = re.compile(
    r"^\s*(?:FROM|RUN|COPY|CMD|ENTRYPOINT|WORKDIR|ENV|EXPOSE|ARG|SELECT|INSERT|UPDATE|"
    r"DELETE|CREATE|ALTER|DROP|WITH)\s+\S"
)
_CODE_LINE_RE = re.compile(
    r"[=(){}\[\];]|^\s*(?:def|class|return|import|from)\b|^\s*[\"'].*[\"'],?\s*$|"
    + _CODE_KEYWORD_RE.pattern
)
_STOP_LATIN = frozenset(
    {"a", "an", "the", "and", "or", "of", "in", "on", "to", "is", "are", "it", "ps", "et", "al"}
    # «Случайный лес vs градиентный бустинг»: a comparison's word names nothing.
    | {"vs", "via", "aka"}
)


@dataclass(frozen=True)
class _Span:
    start: int
    end: int


def _is_code(line: str) -> bool:
    """Whether a line is code: code's characters and no Russian, unless it reads as an
    English sentence ("the default is p = 0.5 (see model.eval()).")."""
    # «SELECT NULL = NULL;   -- NULL, а не TRUE»: a comment may be in any language.
    line = re.sub(r"\s(?:--|#|//)\s.*$", "", line) if _CODE_KEYWORD_RE.match(line) else line
    if CYRILLIC_RE.search(line) or not _CODE_LINE_RE.search(line):
        return False
    # "assumes `random_page_cost = 4.0` against …": Markdown's inline code is set in prose.
    outside = re.sub(r"`[^`]+`", " ", line)
    if outside != line and not _CODE_LINE_RE.search(outside):
        return False
    prose = sum(1 for word in line.split() if re.fullmatch(r"[A-Za-z]+(?:'[a-z]+)?[,.;:!?]?", word))
    return not (prose >= 5 and prose >= 0.4 * len(line.split()) and line.rstrip()[-1:] in ".!?:;")


def _words(text: str) -> int:
    return len(text.split())


def _masked(sentence: str) -> str:
    """The sentence with URLs, handles, hashtags and keycap bullets blanked, so no fact is
    found inside them."""
    masked = URL_RE.sub(lambda m: " " * len(m.group(0)), sentence)
    masked = KEYCAP_RE.sub(lambda m: " " * len(m.group(0)), masked)
    # "(Yao et al., 2022)", «(Liu et al., 2023)»: a citation names its paper, no fact.
    masked = _CITATION_RE.sub(lambda m: " " * len(m.group(0)), masked)
    return re.sub(r"[@#]\w+", lambda m: " " * len(m.group(0)), masked)


_CITATION_RE = re.compile(
    r"\((?:[A-ZА-ЯЁ][\w'’-]+(?:\s+(?:et al\.?|и др\.?|and\s+[A-ZА-ЯЁ][\w'’-]+|и\s+[А-ЯЁ][\w-]+))?"
    r",?\s+)(?:19|20)\d\d[a-z]?\)"
)


def _number_spans(sentence: str) -> list[_Span]:
    masked = _masked(sentence)
    spans = []
    # «(по умолчанию 5)»: a figure a parenthesis closes on, where that parenthesis opened.
    closing = [
        m
        for m in CLOSING_NUMBER_RE.finditer(masked)
        if masked.rfind("(", 0, m.start()) > masked.rfind(")", 0, m.start())
    ]
    for match in [*NUMBER_SPAN_RE.finditer(masked), *closing]:
        before = masked[: match.start()].rstrip()
        # A bare number after a capitalised Latin name is its version (LLaMA 2, ArchDays 2024).
        bare = re.fullmatch(r"\d+(?:[.,]\d+)*", match.group(0))
        # The last token only: a $-anchored search is retried at every position of a long
        # Latin run.
        last = before.rsplit(None, 1)[-1] if before.strip() else ""
        name = re.fullmatch(LATIN_TOKEN, last)
        # «Моржовый оператор появился в Python 3.8», "was added in JDK 21": the version a
        # thing came in is a fact where the sentence says so first; not in an aside («(появилась
        # в Redis 4.0)», «…, он появился в Python 3.9») or an opener ("Since Kafka 3.0, …").
        since = _SINCE_VERSION_RE.search(before) and not re.search(r"[,;(]", before)
        # «RFC 9114», "PEP 572": a document's number is what names it, a figure to recall.
        document = last.upper() in _NUMBERED_DOCUMENTS
        if (
            bare
            and name
            and not last.islower()
            and masked[match.start() - 1] == " "
            and not (since or document)
        ):
            continue
        spans.append(_Span(match.start(), match.end()))
    for match in NUMBER_WORD_RE.finditer(masked):
        spans.append(_Span(match.start(), match.end()))
    # «(по умолчанию 10.5)»: the figure a parenthesis closes on, not the «10» left of it.
    spans = [
        span
        for span in dict.fromkeys(spans)
        if not any(o != span and o.start <= span.start and span.end <= o.end for o in spans)
    ]
    return _merged(sentence, spans, _thousands)


_NUMBERED_DOCUMENTS = frozenset({"RFC", "PEP", "JEP", "KIP", "ISO", "FLIP", "SPIP", "BIP", "EIP"})
_SINCE_VERSION_RE = re.compile(
    r"(?<!\w)(?:(?:появил\w*|добавил\w*|добавлен\w*|ввели|введ[её]н\w*|вышел|вышл\w*)\s+во?"
    r"|introduced in|added in|new in|arrived in|landed in|shipped in|released in)\s+\S+$",
    re.IGNORECASE,
)


def _thousands(head: str, gap: str, tail: str) -> bool:
    """«50 257», «10 000»: groups of three digits after a space are one number."""
    return bool(
        re.fullmatch(r"\d{1,3}", head)
        and gap in (" ", "\u00a0", "\u202f")
        and re.match(r"\d{3}(?!\d)", tail)
    )


def _one_name(head: str, gap: str, tail: str) -> bool:
    """«S3 + Trino», «Kafka/Flink», «Chandy–Lamport»: names joined by a plus, a slash or a
    dash are one answer."""
    return re.fullmatch(r"\s?[+/]\s?|[–—]", gap) is not None


def _merged(
    sentence: str, spans: list[_Span], joins: Callable[[str, str, str], bool]
) -> list[_Span]:
    """Spans in order, each merged into the one before it when `joins` says so of the
    two texts and what stands between them."""
    out: list[_Span] = []
    for span in sorted(spans, key=lambda s: s.start):
        if out:
            last = out[-1]
            head, tail = sentence[last.start : last.end], sentence[span.start : span.end]
            if joins(head, sentence[last.end : span.start], tail):
                out[-1] = _Span(last.start, span.end)
                continue
        out.append(span)
    return out


def _term_spans(sentence: str, allowed_common: set[str], common: set[str]) -> list[_Span]:
    """Terms worth recalling: quoted titles, and Latin-script names in a Russian sentence
    (acronyms and mixed-case names in an English one). A term that names what the whole
    post is about is deleted only where it first appears; elsewhere it is the cue."""
    masked = _masked(sentence)
    # A quoted name or title; a single quoted lowercase word ("до") is emphasis, not a name.
    spans = [
        _Span(m.start(1), m.end(1))
        for m in QUOTED_RE.finditer(masked)
        if _words(m.group(1)) <= MAX_HEAD_WORDS + 1
        # A title or a name («Attention Is All You Need»); «на всякий случай» in quotes is
        # an idiom, set off, not named.
        and (m.group(1)[:1].isupper() or re.search(r"[A-Za-z]", m.group(1)))
    ]
    quoted = list(spans)
    cyrillic = bool(CYRILLIC_RE.search(sentence))
    if not cyrillic:
        # "The capacity factor limits…", "; a counting Bloom filter replaces…": a name of
        # two or three words a clause opens with and says what it does.
        spans += [_Span(*m.span("subject")) for m in _DOING_SUBJECT_RE.finditer(masked)]
        # "a structure called the memtable", "also called a gating network", "use the
        # client credentials flow.": a name in lower case that the words before it
        # announce (the last only where it ends the sentence).
        spans += [
            _Span(m.start(group), m.end(group))
            for m in _ANNOUNCED_RE.finditer(masked)
            for group in ("name", "kind_name", "described", "defined")
            if m.group(group)
            and not (group == "described" and _OPENING_PHRASE_RE.match(masked[: m.end(group)]))
        ]
    else:
        # «поправка Бонферрони», «теорема Эккарта–Янга»: a Russian name is a capitalised
        # word mid-sentence after the kind of thing it names.
        spans += [_Span(m.start("name"), m.end("name")) for m in _NAMED_KIND_RE.finditer(masked)]
        spans += [
            _Span(*m.span("name"))
            for m in _EXPLAINED_RU_RE.finditer(masked)
            if not _PREPOSITION_BEFORE_RE.search(masked, 0, m.start())
        ]
    for match in LATIN_TERM_RE.finditer(masked):
        term = match.group(0)
        if any(q.start <= match.start() < q.end for q in quoted):
            continue  # a word of a quoted title is asked with the title
        if not cyrillic:
            # In English every word is Latin: only names stand out (DPO, PyTorch, GPT-4),
            # and not the one that opens the sentence, its subject. "ID and a sequence",
            # "gRPC runs on HTTP", "defaults to ZSTD": a name is a run of named words, not
            # the words around or between them, whichever word the match opened with.
            run: list[re.Match[str]] = []
            for word in [*re.finditer(r"\S+", term), None]:
                # A name has a letter: «Kafka 3.0» names Kafka, and 3.0 is its version.
                if word is not None and (
                    (_NAMED_WORD_RE.search(word.group(0)) and re.search(r"[A-Za-z]", word.group(0)))
                    # "`auto` is the default": Markdown's inline code is a name.
                    or _in_backticks(
                        masked, match.start() + word.start(), match.start() + word.end()
                    )
                    # "uses Protocol Buffers", "in Hugging Face": a capitalised word inside
                    # a sentence is a name, where no colon or quote made it an opener.
                    or _capitalised_name(sentence, match.start() + word.start(), word.group(0))
                ):
                    run.append(word)
                    continue
                # One capitalised word alone is as often emphasis ("choose Availability or
                # Consistency") as a name; two in a row name a thing ("Protocol Buffers").
                # "with the `permits` clause": inline code is a name, never emphasis.
                plain_caps = not any(
                    _NAMED_WORD_RE.search(w.group(0))
                    or _in_backticks(masked, match.start() + w.start(), match.start() + w.end())
                    for w in run
                )
                # A name an appositive describes ("Argon2id, the winner of…, is…") or the
                # sentence calls the default ("`auto` is the default") is asked even alone
                # or as the sentence's opening word, its subject, which is otherwise the cue.
                after_run = match.start() + run[-1].end() if run else 0
                described = run and (
                    _APPOSITIVE_RE.match(sentence, after_run)
                    or _IS_DEFAULT_RE.match(sentence, after_run)
                )
                if plain_caps and len(run) < 2 and not described:
                    run = []
                opens = run and match.start() + run[0].start() == 0
                if run and (not opens or described):
                    start = match.start() + run[0].start()
                    end = match.start() + run[-1].end()
                    key = _term_key(sentence[start:end])
                    abbreviation = _LATIN_ABBREVIATION_RE.fullmatch(sentence[start:end])
                    if (key not in common or key in allowed_common) and not abbreviation:
                        spans.append(_Span(start, len(sentence[:end].rstrip(".,;:"))))
                run = []
            continue
        first_word = term.split()[0]
        if len(term) < 2 or first_word.lower() in _STOP_LATIN or " et al" in term:
            continue
        if _LATIN_ABBREVIATION_RE.fullmatch(term):
            continue
        key = _term_key(term)
        if key in common and key not in allowed_common:
            continue
        spans.append(_Span(match.start(), match.end()))
    # "use the setting read_committed": the name inside an announced phrase is the answer.
    spans = [
        span
        for span in spans
        if not any(o != span and span.start <= o.start and o.end <= span.end for o in spans)
    ]
    # «Dict/List», «TCP/IP»: either side of a slash gives the other away, so a name and
    # the one after its slash are one deletion.
    joined = []
    for span in spans:
        after = _SLASHED_RE.match(sentence, span.end)
        joined.append(_Span(span.start, after.end()) if after else span)
    return _merged(sentence, joined, _one_name)


_SLASHED_RE = re.compile(rf"/{LATIN_TOKEN}(?!\w)")
# "e.g", "i.e", "etc": Latin a sentence abbreviates, no name.
_LATIN_ABBREVIATION_RE = re.compile(r"(?i:e\.g|i\.e|etc|a\.k\.a|cf|vs|viz)\.?")
# Words that open a noun phrase without naming anything ("the same method", "the first").
_VAGUE_WORDS = (
    r"same|other|first|second|last|next|new|old|main|whole|only|best|most|more|many|few|"
    r"such|each|every|all|both|this|that|these|those|its|their|our|your|his|her"
)
# "The sliding window log stores…": an article, two or three words, a verb in -s (not a
# plural: the subject's last word is the one before the verb, and the verb is lower case).
_DOING_SUBJECT_RE = re.compile(
    rf"(?:^|;\s+)(?:[Tt]he|[Aa]n?)\s+(?P<subject>(?!(?:{_VAGUE_WORDS})\b)[A-Za-z][\w-]*"
    rf"(?:\s+(?!(?:and|or|of|in|on|to|for|with|by|is|are|was|that|which|{_VAGUE_WORDS})\b)"
    # A word in -s after the first is the verb itself ("the leader appends client…").
    r"(?![a-z]+[^su\W]s\b)[A-Za-z][\w-]*){1,2}?)\s+(?=[a-z]+[^su\W]s\b)"
)
# Capitalised in English for what they are, not as names.
_CAPITALISED_WORDS = frozenset(
    "i english monday tuesday wednesday thursday friday saturday sunday january february "
    "march april may june july august september october november december".split()
)


def _in_backticks(text: str, start: int, end: int) -> bool:
    return text[start - 1 : start] == "`" and text[end : end + 1] == "`"


def _capitalised_name(sentence: str, start: int, word: str) -> bool:
    """Whether a capitalised word of an English sentence is a name: not its first word,
    nor one a colon, a dash, a quote or a bracket opens, nor one English capitalises."""
    return (
        # "Kafka", and "B-tree", "Chandy-Lamport": hyphenated names are names too.
        bool(re.fullmatch(r"[A-Z](?:[a-z]+(?:-[A-Za-z][a-z]*)*|(?:-[A-Za-z][a-z]*)+)[.,;:]?", word))
        and start > 0
        and not re.search(r"(?:[:;!?.\"«(—–-]|^)\s*$", sentence[:start])
        # "PKCE (Proof Key for Code Exchange)": an expansion is asked with its abbreviation.
        and sentence.rfind("(", 0, start) <= sentence.rfind(")", 0, start)
        and word.rstrip(".,;:").lower() not in _CAPITALISED_WORDS
        and not _title_cased(sentence)
    )


@functools.lru_cache(maxsize=256)
def _title_cased(sentence: str) -> bool:
    """Whether a line capitalises most of its longer words, as titles do ("The Fourth
    Pillar of Deep Learning Revolution"): there a capital marks no name."""
    longer = [w for w in re.findall(r"[A-Za-z][a-z]{3,}", sentence)][1:]
    return len(longer) >= 2 and sum(w[0].isupper() for w in longer) * 2 > len(longer)


_SURNAME_CUES = r"теорем\w*|поправк\w*|закон\w*|критери\w*|тест\w*|распределени\w*"
_ENGLISH_NAME = (
    r"(?P<name>[a-z][\w-]*(?:\s+(?!(?:and|or|of|in|on|to|for|with|by|is|are|was|that|"
    # "uses a related scheme called ring hash": a word of naming ends the phrase it
    # follows, and begins the name.
    r"which|if|when|from|as|at|called|named|known|termed)\b)[a-z][\w-]*){0,2})"
)
_ANNOUNCED_RE = re.compile(
    r"(?:\b(?:called|known as|named|termed)\s+(?:the\s+|an?\s+)?"
    r"|\b(?:use|uses|using|enable|enables|adds?)\s+(?:the\s+|an?\s+)(?=[^.!?]*[.!]?$)"
    # "T = 0 means greedy decoding.": what a sentence ends saying a thing means, names it.
    r"|\bmeans\s+(?=[a-z][\w-]*(?:\s+[a-z][\w-]*){0,2}[.!]?$)"
    # "The default policy is noeviction": what a default is, is a name.
    r"|\bdefault(?:\s+[a-z]+)?\s+is\s+(?=[a-z][\w-]*(?:[:;,.]|$)))"
    + _ENGLISH_NAME
    # "based on the leaky bucket method": a name its kind follows.
    + r"|\bthe\s+(?!(?:same|best|following|usual|first|last|next|new|old|main|other|"
    r"simple|standard|default|classic|common|right|wrong|only|whole|basic|\w+est)\b)"
    r"(?P<kind_name>[a-z][\w-]*(?:\s+[a-z][\w-]*){0,2})\s+"
    r"(?=(?:method|algorithm|pattern|technique|strategy|protocol|trick)\b)"
    # "becomes the anchor, a reference point that…", "the teacher's soft targets, its full
    # distribution": a name an appositive goes on to explain, as for a capitalised one —
    # not "the mean, the variance and…", which lists.
    # "An operation is idempotent if…": what a sentence says a thing is when a condition
    # holds is the word it defines.
    r"|^[Aa]n?\s+[a-z][\w-]*(?:\s+[a-z][\w-]*)?\s+is\s+(?!(?:ready|done|good|bad|fine|better|"
    r"worse|faster|slower|useful|possible|available|enough|true|false|empty|full|valid|invalid|"
    r"safe|new|old)\b)(?![a-z]+ed\b)(?P<defined>[a-z][\w-]+)"  # "is rejected if": a passive
    r"(?=\s+(?:if|when|whenever)\b)"
    r"|\b(?:the|an?)\s+(?P<described>[a-z][\w'-]*(?:\s+(?!(?:is|are|was|were|has|have|had|"
    r"can|will|does|do)\b)[a-z][\w'-]*){0,2})"
    r"(?=,\s+(?:the|an?|its|their)\s+(?![\w'-]+(?:\s+[\w'-]+)?\s*(?:,|\band\b|\bor\b))\w)"
)
# "With the default…, a crash…", "When the rate crosses a threshold, the breaker…": a
# comma that closes an opening phrase or clause is no appositive.
_OPENING_PHRASE_RE = re.compile(
    r"^(?:in|at|on|by|for|with|without|within|after|before|during|from|under|over|through|"
    r"if|when|whenever|once|while|as|since|because|although|though|unless|until)\b[^,]*$",
    re.IGNORECASE,
)
# In English every word is Latin: a name is an acronym, a mixed-case, snake_case or dotted
# identifier (DPO, PyTorch, read_committed, isolation.level).
_NAMED_WORD_RE = re.compile(r"[A-Z0-9_].*[A-Z0-9_]|^[a-z]+[A-Z]|[a-z0-9]_[a-z0-9]|[a-z]\.[a-z]")


# Kinds of thing a surname names in Russian (a theorem, a correction, a test…); the
# first of them also cue a term after them (_TERM_CUE_RE).
_NAMED_KINDS = (
    rf"{_SURNAME_CUES}|неравенств\w*|лемм\w*|принцип\w*|эффект\w*|парадокс\w*|формул\w*|"
    r"метод\w*|алгоритм\w*|преобразовани\w*|разложени\w*|коэффициент\w*|индекс\w*|"
    r"правил\w*|схем\w*|квартет\w*|модел\w*|уравнени\w*|гипотез\w*|расстояни\w*"
)
_NAMED_KIND_RE = re.compile(
    rf"(?<!\w)(?:{_NAMED_KINDS})\s+(?P<name>[А-ЯЁ][а-яё]+(?:\s?[–—-]\s?[А-ЯЁ][а-яё]+)*)(?!\w)"
)


# «вводят суррогатный ключ — искусственный идентификатор версии», «перешли на динамическое
# маскирование — маска генерируется заново»: a Russian name (adjectives and a noun) in the
# middle of a sentence that a dash or a colon goes on to explain.
_RU_ADJECTIVE = r"[а-яё]{3,}(?:ый|ий|ой|ая|яя|ое|ее|ые|ие|ую|юю)"
_VAGUE_ADJECTIVES = (
    r"важн|главн|основн|ключев|обратн|золот|конкретн|практическ|нов|друг|следующ|перв|втор|"
    r"последн|прост|общ|больш|маленьк|хорош|плох|сам|кажд|люб|целев"
)
_VAGUE_NOUNS = (
    r"правил|вывод|морал|совет|отличи|сторон|мысл|иде|суть|итог|проблем|вопрос|задач|момент|"
    r"разниц|плюс|минус|цел|результат|пример|случа|способ|подход|вариант"
)  # each with an ending of up to three letters: «цель», not «целостность»
_PREPOSITION_BEFORE_RE = re.compile(
    r"(?<![\w-])(?:в|во|для|из|от|по|при|у|о|об|до|за|под|над|с|со)\s+$", re.IGNORECASE
)
# Not a circumstance («в конкретной задаче»; «перешли на…» governs its name), nor a
# heading of what follows («Отсюда золотое правило:», «важное отличие — это…»).
_EXPLAINED_RU_RE = re.compile(
    r"(?<=[а-яё,] )"
    rf"(?P<name>(?!(?:{_VAGUE_ADJECTIVES})[а-яё]*\s)(?:{_RU_ADJECTIVE}\s+){{1,2}}"
    rf"(?!(?:{_VAGUE_NOUNS})[а-яё]{{0,3}}\b)[а-яё]{{3,}})"
    r"(?=\s+[—–]\s+(?!это\b)[а-яё]|:\s+[а-яё])"
)


def _term_key(term: str) -> str:
    return re.sub(r"[^a-z0-9а-яё]", "", term.lower().split()[0])


def _cloze(text: str, spans: list[_Span], *, together: bool = False) -> str:
    """`text` with each span a deletion, c1, c2… in order; all c1 when asked `together`.
    Backticks around a span are Markdown's, and stay outside its deletion."""
    out, pos = [], 0
    spans = [
        _Span(s.start + 1, s.end - 1)
        if s.end - s.start > 2 and text[s.start] == text[s.end - 1] == "`"
        else s
        for s in spans
    ]
    for number, span in enumerate(sorted(spans, key=lambda s: s.start), start=1):
        out.append(text[pos : span.start])
        out.append(f"{{{{c{1 if together else number}::{text[span.start : span.end]}}}}}")
        pos = span.end
    out.append(text[pos:])
    return "".join(out)


def hide_repeats(cloze: str) -> str:
    """Hide every other occurrence of an answer under the same cN, so no card shows its answer.

    "{{c2::Quality}} … quality * difficulty" would give card 2 away; Anki hides all
    deletions that share a number, so the repeat becomes {{c2::quality}} as well.
    """
    for match in list(CLOZE_RE.finditer(cloze)):
        number, answer = match.group(1), match.group(2)
        if len(answer.strip()) < 2:
            continue
        out: list[str] = []
        pos = 0
        for deletion in CLOZE_RE.finditer(cloze):
            out.append(_wrap_whole(cloze[pos : deletion.start()], answer, number))
            out.append(deletion.group(0))
            pos = deletion.end()
        out.append(_wrap_whole(cloze[pos:], answer, number))
        cloze = "".join(out)
    return cloze


def _wrap_whole(text: str, answer: str, number: str) -> str:
    """Each whole-word occurrence of `answer` in `text`, any case, as a deletion `cN`.

    A search, not a pattern compiled per answer: compiling was a tenth of the offline
    generator's time. Where lower-casing changes a text's length (a few letters such as
    «İ»), positions would not line up, so the pattern does it.
    """
    low, needle = text.lower(), answer.lower()
    if len(low) != len(text) or len(needle) != len(answer):
        pattern = re.compile(rf"(?<!\w){re.escape(answer)}(?!\w)", re.IGNORECASE)
        return pattern.sub(f"{{{{c{number}::\\g<0>}}}}", text)
    out: list[str] = []
    pos = start = 0
    while (found := low.find(needle, start)) >= 0:
        end = found + len(needle)
        if _word_char(text, found - 1) or _word_char(text, end):
            start = found + 1
            continue
        out += [text[pos:found], f"{{{{c{number}::{text[found:end]}}}}}"]
        pos = start = end
    out.append(text[pos:])
    return "".join(out)


def _word_char(text: str, index: int) -> bool:
    """Whether text[index] exists and is a word character, as `\\w` matches one."""
    return 0 <= index < len(text) and (text[index].isalnum() or text[index] == "_")


def _safe(answer: str) -> bool:
    return bool(answer.strip()) and "::" not in answer and "{" not in answer and "}" not in answer


def _fits_a_field(sentence: str) -> bool:
    """Whether a sentence can stand in a card's field: no `{{` or `}}`, which Anki reads
    as template or cloze marks."""
    return "{{" not in sentence and "}}" not in sentence


def _statement(sentence: str) -> bool:
    """Whether a sentence can carry a card: a statement of sensible length, not noise or code."""
    # A question asks, and a line ending in a colon announces what follows: neither states.
    if sentence.rstrip().endswith(("?", ":")) or _words(sentence) < MIN_WORDS:
        return False
    if not _fits_a_field(sentence):
        return False  # a template (Helm, Jinja): no card can hold it, the braces mark clozes
    # " | " joins a link preview's title to its site name: a heading, not a statement.
    return not (NOISE_SENTENCE_RE.search(sentence) or _is_code(sentence) or " | " in sentence)


def clauses(sentence: str) -> list[str]:
    """A long sentence cut at commas, semicolons and dashes into clauses of sensible length."""
    parts = re.split(r"(?<=[,;:])\s+|\s+(?=[–—]\s)", sentence)
    return [p.strip(" ,;:–—") for p in parts if MIN_WORDS <= _words(p) <= MAX_WORDS]


def inline_list_cloze(sentence: str) -> str | None:
    """One cloze over an enumeration inside a sentence: "1) A, 2) B и 3) C"."""
    markers = list(INLINE_ITEM_RE.finditer(sentence))
    numbers = [int(m.group("n")) for m in markers]
    if len(markers) < 2 or numbers != list(range(1, len(markers) + 1)):
        return None
    spans = []
    for i, marker in enumerate(markers):
        end = markers[i + 1].start() if i + 1 < len(markers) else len(sentence)
        item = sentence[marker.end() : end]
        trimmed = re.sub(r"(?:[,;]?\s+(?:и|а также|and|or|или))?[\s,;.]*$", "", item)
        if _words(trimmed) > MAX_LIST_ITEM_WORDS:
            # «(1) признать, что благополучие ИИ…»: a long item is asked by its head, the
            # words before its first comma, when they are few.
            head = re.split(r"[,;(]", trimmed)[0].strip()
            if _words(head) > MAX_HEAD_WORDS:
                # «начать оценку систем» ИИ на предмет…; «разработать политики», not «… и».
                words = head.split()[:4]
                while len(words) > 1 and words[-1].casefold() in FUNCTION_WORDS:
                    words.pop()
                head = " ".join(words)
            trimmed = head
        if not trimmed or not _safe(trimmed):
            return None
        spans.append(_Span(marker.end(), marker.end() + len(trimmed)))
    if not _statement(sentence):
        return None
    return _cloze(sentence, spans)


# --- what a post is made of --------------------------------------------------------------

# A gloss in parentheses: «CHYT (ClickHouse over YT)», «хабы (бизнес-ключи)».
_GLOSS_RE = re.compile(r"\s*\([^()]*\)")
# A list item: its marker (text.LIST_MARKER), then the item. Items of one list share
# their kind of marker.
_BULLET_RE = re.compile(rf"^\s*{LIST_MARKER}\s*(?P<item>\S.*)$")
# A marker alone on its line, the item on the next (as some apps copy a list).
_MARKER_ONLY_RE = re.compile(rf"^\s*{LIST_MARKER}\s*$")
# A line that is only a site's name, as a link preview shows it under or over its title:
# a web domain, not a file or a module (README.md, torch.nn, Node.js).
_DOMAIN_RE = re.compile(
    r"^(?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|ru|org|net|io|dev|ai|me|tech|app|co|"
    r"info|site|pro|blog|so|page|tv|su|рф|uk|de|fr|edu|gov)(?:/\S*)?$"
)
# The titles sites give their pages, as a link preview prints them: "GitHub -
# huggingface/peft: State-of-the-art…", "[2106.09685] LoRA: Low-Rank Adaptation…",
# "meta-llama/Llama-3.1-8B · Hugging Face".
_PREVIEW_TITLE_RE = re.compile(
    r"^(?:GitHub\s+-\s+[\w.-]+/[\w.-]+(?::\s.*)?|\[\d{4}\.\d{4,5}(?:v\d+)?\]\s.+|"
    r"[\w.-]+/[\w.-]+\s+·\s+(?:Hugging Face|GitHub))$"
)
MAX_PREVIEW_WORDS = 25
MAX_TITLE_WORDS = 15
MAX_LIST_ITEMS = 10
MAX_ITEM_NAME_WORDS = 6  # an item without a head is deleted whole when this short
MAX_ITEM_LINES = 6  # lines a numbered item may run on for
MAX_DEFINITION_WORDS = 12
# A sentence's card is made only from this score up: a term with nothing to say it is the
# point of its sentence (1.5) is more often a passing mention than a fact.
MIN_SCORE = 1.5
# Characters of a post per card of its budget: at 200, posts of 1,000–1,200 characters
# (most channel posts) got six cards where they state four or five facts; at 240 the
# held-out posts keep 0.78 of their core facts with 4.8 cards each, not 0.82 with 5.2.
CHARS_PER_CARD = 240

# Sentences a learner would not study (C9), by what they are about. Each pattern is one
# reason, in Russian and English; a sentence matching any gives no card.
_NOT_A_FACT = {
    # First person singular: the author's life, taste or plans («Вчера я…», "I prefer").
    "first person": r"(?<![\w-])(?:я|мне|меня|мной|мой|моя|моё|мое|мои|моих|моим|"
    # «Помню, что…», «Думаю…», «Расскажу…»: the author speaking, no pronoun needed.
    r"помню|думаю|считаю|знаю|хочу|люблю|расскажу|покажу|напишу|сделаю|рекомендую|советую|"
    r"могу|буду|"
    # «Десять лет пишу на Python», «Собрал дайджест»: the author's verbs without «я».
    r"пишу|работаю|использую|пользуюсь|делаю|читаю|веду|собрал|собрала|узнал|узнала|понял|"
    r"поняла|me|my|mine|i'm|i've|i'd|i'll)(?![\w-])|"
    # «Наш inference-сервис весил 9 GB», "our pipeline": the team's own story.
    r"(?<![\w-])(?:наш|наша|наше|наши|нашего|нашей|нашем|нашим|наших|our)(?![\w-])|"
    # "I" as a pronoun, with its verb: not "Type I error", "I/O", "i.e.".
    r"(?<![\w-])i\s+(?:am|was|have|had|think|use|used|prefer|built|set|usually|like|wrote|"
    r"found|do|did|will|would|can|could|tried|ran|spent|saw|learned|need|want|know|see|"
    r"guess|believe|feel|love|hate|got|get|wonder)\b|"
    # "I once spent a whole day…", "I just…": the author's story, whatever its verb.
    r"(?<![\w-])i\s+(?:once|just|never|always|recently|finally|still|really|first|often)\b",
    # Talks, webinars, their dates and times («14 декабря в 19:00», "on Thursday at 6pm").
    # Not «докладчик сказал…»: a talk retold can state a fact; its invitation does not.
    "announcement": r"\b\d{1,2}:\d{2}\b|\b\d{1,2}\s?(?:a\.m\.|p\.m\.|am|pm)(?!\w)|"
    r"вебинар|митап|\bэфир\w*\b|регистрируйтесь|"
    r"выступаю|выступлю|проведу|приходите|webinar|meetup|livestream|register now|"
    r"sign up|join us|в понедельник|во вторник|в среду|в четверг|в пятницу|в субботу|"
    r"в воскресенье|on (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)",
    # A story or a teaser: «вчера», «на днях», «в следующем посте», "next week"; an
    # article's announcement of itself («В новой статье мы погрузимся…», "In this post
    # we will…"); a chatty aside («И вот…», «Ну и вообще…», «Кстати»).
    "anecdote": r"\b(?:вчера|на днях|недавно|завтра|однажды|yesterday|tomorrow|"
    r"last week|next week|on monday)\b|следующ\w+ пост|next post|"
    # «Сегодня я…» tells a story; "the recommended flow today is…" says "nowadays".
    r"^(?:[^\s!?.]+\s+){0,2}(?:сегодня|today)\b|"
    r"в (?:новой|этой) статье|в этом посте|дайджест\w*|\bdigest\b|roundup|из личного|"
    # «Спрашивали на позицию NLP-инженера», «на следующей неделе разберём joins».
    r"спрашивали на|спросили на|на следующей неделе|в следующий раз|в следующем выпуске|"
    r"asked (?:this )?at (?:an? |the )?interview|"
    r"personal note|"
    r"мы (?:погрузимся|разберём|разберем|рассмотрим|"
    r"поговорим|расскажем|покажем)|in this (?:post|article),? we|we(?: will|'ll) (?:look|cover)|"
    r"^(?:и вот|ну и|ну вот|кстати|короче|в общем)\b",
    # Hypotheticals and scenarios addressed to the reader («Вот вы…», "Imagine you…").
    "hypothetical": r"^(?:вот\s+)?вы\b|^представьте|^допустим|^imagine\b|^suppose\b|"
    # «А если batch-сервис вызывается раз в неделю, то…»: a scenario the author spins.
    r"^let's say\b|^say you\b|^а если\b|^and if\b|^what if\b",
    # Greetings and calls to act: subscribe, save, share, comment, like.
    "call to act": r"^(?:всем\s+)?привет|^друзья\b|^коллеги\b|^hi\b|^hello\b|^hey\b|"
    r"сохраняйте|пересылайте|ставьте|делитесь|пишите в комм|в комментари|в комменты|"
    r"ссылка в (?:первом )?комм|like and share|in the comments|\blink in (?:the )?(?:bio|"
    r"comments|description)|don't forget to|^subscribe\b|^follow (?:us|the channel)\b|"
    r"don't miss\b|не пропустите|"
    # «Читайте новую статью по ссылке», "read the full article": a pointer, not a fact.
    r"^читайте\b|\bпо ссылке\b|\bread (?:more|the (?:full|new|whole) (?:article|post))\b",
}
# One pattern, a named group per reason, so a sentence is scanned once; matched against
# the lower-cased sentence, as ignoring case costs a scan of Cyrillic several times over.
_NOT_A_FACT_RE = re.compile(
    "|".join(
        f"(?P<{reason.replace(' ', '_')}>{pattern})" for reason, pattern in _NOT_A_FACT.items()
    )
)
# A sentence whose subject is only a pronoun or «там/тут» names what it is about nowhere.
# The pronouns a sentence may open with for what another sentence names; English ones
# by case, so "IT", "THIS" in a heading stay words.
_PRONOUNS = r"это|он|она|оно|они|его|их"
_EN_PRONOUNS = r"(?-i:[Ii]ts?|[Tt]his|[Tt]hat|[Tt]hey|[Tt]heir|[Tt]hese|[Tt]hose"
_PRONOUN_SUBJECT_RE = re.compile(
    r"^(?:(?:и|а|но|однако|зато|and|but|so|yet)\s+)?(?:у\s+)?"
    rf"(?:{_PRONOUNS}|него|неё|нее|них|там|тут|здесь|"
    rf"{_EN_PRONOUNS}|[Hh]e|[Ss]he|[Hh]is|[Hh]er))"
    r"(?![\w-])"
    # «Там, где нужна классификация, …» and «Это — …» name their subject after all, and
    # "That is why Mixtral has…" says why, its subject to come.
    r"(?!,?\s+(?:где|когда|—|-|–)|\s+is\s+(?:a|an|the|why)\b|'s\s+why\b)",
    re.IGNORECASE,
)
# A comparison or a default is a fact worth more than a bare mention.
_COMPARISON_RE = re.compile(
    r"\bв отличие от\b|\bбыстрее\b|\bмедленнее\b|\bлучше\b|\bхуже\b|\bчем\b|\bа не\b|"
    r"\bvs\.?\b|\bthan\b|\bunlike\b|\bwhereas\b|\binstead of\b",
    re.IGNORECASE,
)
# «Ещё одно важное отличие — это…», "The main idea is…": no term is defined there.
_VAGUE_HEAD_RE = re.compile(
    r"^(?:ещё|еще|одн(?:о|а|им|ой|ом)|главн(?:ое|ая|ый|ые)|важн(?:ое|ая|ый|ые)|"
    r"основн(?:ое|ая|ой|ые)|сам(?:ое|ая|ый|ые)|друг(?:ое|ая|ой|ие)|плюс|минус|проблема|"
    r"идея|суть|кажд(?:ый|ая|ое)|любой|любая|любое|все|всё|another|one|each|every|any|all|"
    r"the (?:main|key|most|first|second|other)|main|key|(?-i:[Tt]his|[Tt]hat|[Ii]t))(?![\w-])",
    re.IGNORECASE,
)
_DEFAULT_RE = re.compile(r"по умолчанию|дефолт|\bdefaults?\b|by default", re.IGNORECASE)


def not_a_fact(sentence: str) -> str | None:
    """Why a sentence is not worth a card (C9), or None: first person, an announcement,
    an anecdote, a hypothetical, a greeting or a call to act, a pronoun for a subject."""
    return next(iter(_reasons(sentence)), None)


@functools.lru_cache(maxsize=4096)
def _reasons(sentence: str) -> tuple[str, ...]:
    """Every reason of not_a_fact a sentence gives, the first found first (read for each
    sentence by several rules, so worked out once)."""
    found = [m.lastgroup.replace("_", " ") for m in _NOT_A_FACT_RE.finditer(sentence.lower())
             if m.lastgroup]  # fmt: skip
    if _PRONOUN_SUBJECT_RE.match(sentence):
        found.append("pronoun subject")
    return tuple(dict.fromkeys(found))


@dataclass
class _Item:
    marker: str  # the kind of marker: "1." numbers, "k" keycaps, "pictograph", else the bullet
    number: int | None
    text: str
    bullet: str = ""  # the pictograph itself, for emoji bullets


def _item(line: str) -> _Item | None:
    match = _BULLET_RE.match(line)
    if not match:
        return None
    number = match.group("n") or match.group("p") or match.group("k")
    if number:
        kind = "k" if match.group("k") else "1."
        return _Item(kind, int(number), match.group("item").strip())
    bullet = match.group("b")
    # «-5%» or «—» opening a sentence is not a bullet unless a space follows it.
    if bullet in "-–—*+" and not line.lstrip()[len(bullet) :].startswith(" "):
        return None
    bullet = bullet.rstrip("\ufe0f")
    # «🟢 < 0.1 — …», «🟡 0.1–0.25 — …», «🔴 > 0.25 — …»: emoji bullets of one list differ
    # from item to item, where typed ones (•, —) stay the same.
    if bullet in _TYPED_BULLETS:
        return _Item(bullet, None, match.group("item").strip())
    return _Item("pictograph", None, match.group("item").strip(), bullet)


@dataclass
class _List:
    first: int  # line index of the first item
    end: int
    intro: str | None
    items: list[_Item]


def _lists(lines: list[str]) -> list[_List]:
    """Runs of two or more list items of one marker kind (numbers counting up from 1)."""
    out: list[_List] = []
    i = 0
    while i < len(lines):
        head = _item(lines[i])
        if head is None or (head.number is not None and head.number != 1):
            i += 1
            continue
        items, j = [head], i + 1
        while j < len(lines):
            nxt = _item(lines[j])
            if nxt is None and head.number is not None:
                # A numbered item may run on for a few lines before the next number.
                ahead = [_item(line) for line in lines[j : j + MAX_ITEM_LINES]]
                if any(a and a.marker == head.marker and a.number == len(items) + 1
                       for a in ahead):  # fmt: skip
                    j += 1
                    continue
            if nxt is None or nxt.marker != head.marker:
                break
            if head.number is not None and nxt.number != len(items) + 1:
                break
            items.append(nxt)
            j += 1
        # «📌 Kafka хранит…», «🔥 Размер сегмента…»: different emoji that open statements
        # decorate paragraphs; different emoji bullets list only items that name what they
        # say («🙂 9–10 — промоутеры») or are names alone. One emoji repeated is a bullet.
        decorated = len({item.bullet for item in items}) > 1 and not all(
            _item_head(item.text) or _words(item.text) <= 3 for item in items
        )
        if len(items) >= 2 and not decorated:
            # The line before, across one blank line: a list often stands apart.
            k = i - 1
            if k > 0 and not lines[k].strip():
                k -= 1
            before = lines[k].strip() if k >= 0 else ""
            last = split_sentences(before)[-1] if before and not _item(before) else ""
            # The intro is the sentence that ends in the colon, not the paragraph before it;
            # or one that counts the items ("There are four classic algorithms, …").
            counted = last and len(items) in number_values(last)
            intro = last if last and (last.endswith(":") or counted) else None
            out.append(_List(i, j, intro, items))
        i = max(j, i + 1)
    return out


def _item_head(item: str) -> str | None:
    """The head an item names before its dash or colon («Tracking — логирование…»,
    «🙂 9–10 — промоутеры»), when short enough to be a name."""
    head = HEAD_RE.match(without_pictographs(item))
    return head.group("head") if head and _words(head.group("head")) <= MAX_HEAD_WORDS else None


def _item_name(item: str) -> str | None:
    """What a list item's deletion covers: its head term («Tracking — логирование…»),
    else the whole item when it is a name (short); None for an item that is a sentence."""
    text = without_pictographs(item)
    # «Требования. Сначала уточните…», "Token bucket. A bucket holds…": a short first
    # sentence before the explanation is the item's name, whatever follows it.
    titled = re.match(r"^(?P<name>[^.!?:—–]{2,60}?)\.\s+[A-ZА-ЯЁ]", text)
    if titled and _words(titled.group("name")) <= MAX_HEAD_WORDS - 1:
        return titled.group("name")
    head = _item_head(text)
    if head:
        return head
    body = text.rstrip(" .;,")
    # «распределённая файловая система (Cypress)» names a part; «Подготовьте 5–7 историй
    # заранее и адаптируйте их» is advice, a sentence no deletion of which is a name.
    bare = _GLOSS_RE.sub("", body)
    if _words(bare) <= MAX_ITEM_NAME_WORDS:
        return body
    # «paged optimizers для сглаживания пиков памяти»: a name opens the item.
    lead = LATIN_TERM_RE.match(text)
    if lead and CYRILLIC_RE.search(text[lead.end() :]) and lead.group(0).lower() not in _STOP_LATIN:
        return lead.group(0)
    # «--soft двигает только HEAD», "@asset declares…": a flag or a decorator names it.
    code = _CODE_LEAD_RE.match(text)
    if code:
        return code.group(0)
    # «построение эмбеддингов и индексация в векторной базе»: a step named by what is done,
    # then where or how; the name ends at the first preposition past its first two words.
    # Only a name the item spells as it is: a gloss inside it would make it another text.
    step = _step_name(bare)
    if step and _words(bare) <= MAX_ITEM_NAME_WORDS + 3 and text.startswith(step):
        return step
    return None


def _step_name(item: str) -> str | None:
    """An item's words up to the preposition that opens where or how, when they hold no
    figure (a figure makes it a statement, not a name)."""
    cut = _STEP_CUT_RE.match(item)
    return cut.group(1) if cut and not re.search(r"\d", cut.group(1)) else None


_CODE_LEAD_RE = re.compile(r"(?:--?[A-Za-z][\w-]*|@[A-Za-z_][\w.]*)(?=\s)")
_STEP_CUT_RE = re.compile(
    r"^(\S+(?:\s+\S+){1,4}?)\s+(?:в|во|на|по|к|ко|для|с|со|из|через|при|"
    r"in|on|for|with|by|to|from|via|into)\s",
    re.IGNORECASE,
)


def ordered_list_cloze(intro: str | None, items: list[str]) -> str | None:
    """One cloze over a list: a line per item, numbered, the item's name deleted (c1, c2…);
    None when an item is a sentence rather than a named thing, or the list is too long."""
    if len(items) > MAX_LIST_ITEMS or not all(map(_fits_a_field, [intro or "", *items])):
        return None
    out = [without_pictographs(intro)] if intro else []
    for number, item in enumerate(items, start=1):
        name = _item_name(item)
        text = without_pictographs(item)
        if name is None or not _safe(name):
            return None
        rest = text[len(name) :] if text.startswith(name) else ""
        out.append(f"{number}. {{{{c{number}::{name}}}}}{rest}")
    return hide_repeats("\n".join(out))


_COLON_LIST_RE = re.compile(r"^(?P<intro>[^:]{3,}):\s+(?P<items>[^:]+?)[.;]?$")


# A Russian verb by its ending (-ть, -ет, -ют, -ал, -ились…), as a word of a clause.
_RUSSIAN_VERB_RE = re.compile(
    # (not -ал/-ил/-ели: «интервал», «модели» are nouns)
    r"[а-яё]{2,}(?:ть|ться|тся|ет|ёт|ют|ят|ит|ут|ешь|ишь|ете|ите|лся|лась|лись)(?![а-яё])"
)
_DASH_LIST_RE = re.compile(r"^(?P<intro>[^:—–]{3,}?)\s[—–]\s(?P<items>[^:—–]+?)[.;]?$")
# What a list's names may be followed by: «…, CollapsingMergeTree — о них в следующих
# постах», «Impact, Confidence, Ease, каждый по шкале от 1 до 10».
_LIST_TAILS = (
    re.compile(r"\s[—–]\s(?P<tail>[^,—–]+)$"),
    re.compile(r",\s+(?P<tail>[^,]+)$"),
)


def _without_tail(items: str) -> str:
    """The names of an enumeration without a clause of four or more words after its last
    comma or dash, which says something of them all; the names alone when they are three
    or more (a two-item list with a clause is as often one item explained)."""
    for pattern in _LIST_TAILS:
        tail = pattern.search(items)
        if tail and _words(tail.group("tail")) >= 4:
            head = items[: tail.start()]
            parts = _outside_glosses(LIST_JOIN_RE, head)
            # «c — вставка, u — обновление, …, r — чтение при снапшоте»: items explained
            # after dashes end in one more explanation, not in a clause about them all.
            if len(parts) >= 3 and not any(re.search(r"\s[—–]\s", part) for part in parts):
                return head
    return items


def _outside_glosses(pattern: re.Pattern[str], text: str) -> list[str]:
    """`text` split where `pattern` matches outside parentheses and Markdown's inline code
    («exec form: `CMD ["python", "app.py"]`» is one item)."""
    glosses = [m.span() for m in _GLOSS_RE.finditer(text)]
    glosses += [m.span() for m in re.finditer(r"`[^`]+`|\[[^\[\]]+\]", text)]
    parts, start = [], 0
    for cut in pattern.finditer(text):
        if not any(a <= cut.start() < b for a, b in glosses):
            parts.append(text[start : cut.start()])
            start = cut.end()
    return [*parts, text[start:]]


# Why a sentence may still enumerate what it announces: a teaser or a pronoun subject
# (not a story, an announcement or a call to act).
_ANNOUNCING_REASONS = frozenset({"anecdote", "pronoun subject"})


_DASHED_LIST_RE = re.compile(r"^(?P<intro>[^—–]{3,}?)\s[—–]\s(?P<items>[^—–:;]+?)\s[—–]\s\S")


def dashed_list_cloze(sentence: str) -> str | None:
    """«Остальные типы — docs, refactor, test, chore, ci — версию не меняют»: three or more
    short names set off by dashes, as one cloze; None otherwise."""
    match = _DASHED_LIST_RE.match(sentence)
    if not match:
        return None
    items = [i.strip() for i in _outside_glosses(LIST_JOIN_RE, match.group("items"))]
    if not 3 <= len(items) <= MAX_LIST_ITEMS or any(
        not _nameable(item) or _words(item) > 3 for item in items
    ):
        return None
    spans, pos = [], match.start("items")
    for item in items:
        at = sentence.index(item, pos)
        spans.append(_Span(at, at + len(item)))
        pos = at + len(item)
    return hide_repeats(_cloze(sentence, spans))


def _item_count(intro: str) -> int | None:
    """How many items an enumeration's intro announces, or None: the one whole number of
    2 to MAX_LIST_ITEMS among the last three words of its clauses («has four parts»,
    «Последствия три», «три алгоритма токенизации, которые…»); not "vests over 4 years
    with a 1-year cliff"."""
    tails = " ".join(" ".join(part.split()[-3:]) for part in intro.split(", "))
    counts = [v for v in number_values(tails) if 2 <= v <= MAX_LIST_ITEMS and float(v).is_integer()]
    return int(counts[0]) if len(counts) == 1 else None


def colon_list_cloze(sentence: str) -> str | None:
    """«Три главных формата: Iceberg, Delta Lake и Hudi.» as one cloze, a deletion per
    item; None unless the part after the colon is 2 to 10 short names."""
    match = _COLON_LIST_RE.match(sentence)
    if not match:
        # «BERT предобучали на двух задачах — MLM и NSP»: a dash after a counting intro.
        match = _DASH_LIST_RE.match(sentence)
        if match and _item_count(match.group("intro")) is None:
            match = None
    if not match or not _statement(sentence):
        return None
    # «CHYT (ClickHouse over YT), SPYT (Spark over YT)»: a gloss goes with its item, and
    # does not count against its length; a comma inside one does not split the list.
    items = _outside_glosses(LIST_JOIN_RE, _without_tail(match.group("items")))
    # "the parser, the rewriter": an article is no part of a name.
    items = [re.sub(r"^(?:the|a|an)\s+", "", item) for item in items]
    # A list is announced by a count («три части:») or is one of names (YQL, CHYT):
    # «вызывает мысль: ууух, понаписал-то!» lists nothing.
    intro = match.group("intro")
    counted = NUMBER_WORD_RE.search(intro) or re.search(r"\d", intro)
    named = sum(1 for item in items if LATIN_TERM_RE.search(item)) * 2 >= len(items)
    # «total compensation: оклад, годовой бонус, акции или опционы и ДМС»: three or more
    # parts the last of which a conjunction joins enumerate, whatever script they are in.
    joined = re.search(r"\s(?:и|или|and|or)\s+\S+[^,]*$", match.group("items"))
    # «нормирование: договорились о правилах, процессах и зонах ответственности» lists
    # clauses: an uncounted list of plain words holds no verb.
    plain = len(items) >= 3 and joined and not any(_RUSSIAN_VERB_RE.search(i) for i in items)
    if not (counted or named or plain):
        return None
    # Names, not clauses: «чем их больше, тем сложнее запрос» lists nothing.
    if not 2 <= len(items) <= MAX_LIST_ITEMS or any(
        not _nameable(item) or _words(_GLOSS_RE.sub("", item)) > 3 for item in items
    ):
        # «в двух режимах: poke, когда …, и reschedule, когда …»: as many items as the
        # count announces, each named by its head and explained after it.
        named_items = _counted_items(intro, items)
        if not named_items:
            return None
    else:
        named_items = [(item, item) for item in items]
    spans, pos = [], match.start("items")
    for item, name in named_items:
        # Each name opens its item: found where a word starts, not inside another word
        # («debug, когда … в changelog, и log…»).
        at = re.compile(rf"(?<!\w){re.escape(item)}").search(sentence, pos)
        if at is None:
            return None
        spans.append(_Span(at.start(), at.start() + len(name)))
        pos = at.start() + len(item)
    return hide_repeats(_cloze(sentence, spans))


# What opens an item's explanation rather than another item: «poke, когда …».
_EXPLAINING_RE = re.compile(
    r"^(?:когда|где|котор\w+|чтобы|если|при котором|which|where|when|that|who|whose|"
    r"if)\b",
    re.IGNORECASE,
)
# «p is the order…», «хабы — бизнес-ключи»: the item's name and what it is.
_ITEM_HEAD_RE = re.compile(r"^(?P<head>\S.{0,40}?)\s+(?:is|are|means|—|–|это|означает)\s")


def _counted_items(intro: str, parts: list[str]) -> list[tuple[str, str]] | None:
    """The items of a counted enumeration whose items are explained, each with its name:
    the parts that do not open an explanation, when there are as many as the intro's
    count, each cut to its head; None when they do not add up or an item has no name."""
    count = _item_count(intro)
    items = [part for part in parts if part and not _EXPLAINING_RE.match(part)]
    if count is None or len(items) != count:
        return None
    names: list[tuple[str, str]] = []
    for item in items:
        head = _ITEM_HEAD_RE.match(item)
        if head:
            name = head.group("head")
        elif _words(_GLOSS_RE.sub("", item)) <= MAX_HEAD_WORDS:
            # The count says these are the items: «перепутанное локальное состояние» is one;
            # a parenthesis after it explains it and stays in view.
            name = item.split(" (", 1)[0]
        else:
            step = _step_name(item)
            if step is None:
                return None
            name = step
        if _words(name) > MAX_HEAD_WORDS or not _nameable(name):
            return None
        names.append((item, name))
    return names


def _nameable(item: str) -> bool:
    """Whether a list item can be a deletion: a safe answer that does not open with a
    function or question word («чем их больше» is a clause, not a name)."""
    return (
        bool(without_pictographs(item).strip())
        and _safe(item)
        and (item.split()[0].casefold() not in FUNCTION_WORDS | QUESTION_WORDS)
        # «по интервалам: например, неделя 1, неделя 2 и так далее»: examples, not items.
        and not _EXAMPLE_ITEM_RE.fullmatch(item.strip())
    )


# Words that say what follows is an example: one list for items and for the words before
# a name or a figure.
_EXAMPLE_WORDS = r"например|к примеру|for example"
_EXAMPLE_ITEM_RE = re.compile(
    rf"(?:{_EXAMPLE_WORDS}|так далее|т\.\s?д\.?|т\.\s?п\.?|прочее|другие|"
    r"e\.g\.?|etc\.?|so on|and so on|others?)",
    re.IGNORECASE,
)


# What joins listed items: a comma, or a last conjunction after an optional comma.
_CONJUNCTIONS = r"и|или|and|or"
_LIST_SEPARATOR = rf"(?:,?\s+(?:{_CONJUNCTIONS})\s+|,\s+)"


def _names_list_re(name: str, conjunctions: str, kind: str = "") -> re.Pattern[str]:
    """Three or more `name`s in a row, the last after one of `conjunctions` and maybe its
    `kind`; no part of a longer word («'» and «+» join a word in LATIN_TOKEN)."""
    return re.compile(
        rf"(?<![\w@#/.'+-])(?P<items>{name}(?:,\s+{name})+,?\s+(?:{conjunctions})\s+"
        rf"{kind}{name})(?![\w-])"
    )


_NAME = rf"{LATIN_TOKEN}(?:\(\))?"
# «инструкции RUN, COPY и ADD», "Kafka, Pulsar and Redpanda": three or more names in a row.
_INLINE_NAMES_RE = _names_list_re(_NAME, _CONJUNCTIONS)
# In a Russian sentence a Latin name may run to three words («answer relevancy», «GROUP
# BY»), and the last one may follow its kind («GPTQ, AWQ и формат GGUF»).
_LONG_NAME = rf"{_NAME}(?:\s+{LATIN_TOKEN}){{0,2}}"
_ITEM_KIND = r"(?:формат|флаг|метод|библиотек|фреймворк|модел|параметр|тип|поле|пол[яе]м?)\w*\s+"
_INLINE_LONG_NAMES_RE = _names_list_re(_LONG_NAME, "и|или", rf"(?:{_ITEM_KIND})?")
# In English, where every word is Latin, a name of several words is one written as a
# name in each ("GROUP BY", "REST APIs"): two capitals or digits, or camelCase.
_EN_NAME_WORD = rf"(?:(?=[\w.+'/-]*[A-Z0-9_][\w.+'/-]*[A-Z0-9_])|(?=[a-z]+[A-Z])){LATIN_TOKEN}"
_EN_LONG_NAME = rf"{_EN_NAME_WORD}(?:\(\))?(?:\s+{_EN_NAME_WORD}){{0,2}}"
_INLINE_EN_NAMES_RE = _names_list_re(_EN_LONG_NAME, "and|or")
# What stands between two listed names: a comma, a conjunction, the last one's kind.
_ITEM_JOIN_RE = re.compile(rf",?\s+(?:{_CONJUNCTIONS})\s+(?:{_ITEM_KIND})?|,\s+")


def inline_names_cloze(sentence: str) -> str | None:
    """Three or more names listed in a sentence as one cloze, a deletion per name; None
    when the names are examples («например map, filter и reduce») or, in an English
    sentence, ordinary words (in English every word is Latin: only acronyms, mixed-case
    and code-like names count)."""
    masked = _masked(sentence)
    english = not CYRILLIC_RE.search(sentence)
    match = (
        _INLINE_NAMES_RE.search(masked) or _INLINE_EN_NAMES_RE.search(masked)
        if english
        else _INLINE_LONG_NAMES_RE.search(masked)
    )
    if not match or _EXAMPLE_BEFORE_RE.search(_clause_before(sentence, match.start())):
        return None
    spans, pos = [], match.start("items")
    for cut in [*_ITEM_JOIN_RE.finditer(masked, pos, match.end("items")), None]:
        end = cut.start() if cut else match.end("items")
        spans.append(_Span(pos, end))
        pos = cut.end() if cut else end
    names = [sentence[span.start : span.end] for span in spans]
    if not 3 <= len(names) <= MAX_LIST_ITEMS or len(set(names)) < len(names):
        return None
    if english and not all(_NAMED_WORD_RE.search(name) for name in names):
        return None
    if _words(sentence[: spans[0].start] + sentence[spans[-1].end :]) < 3:
        return None  # the names alone: nothing asks for them
    return hide_repeats(_cloze(sentence, spans))


# Words that end an English item or open what comes before one: articles, pronouns,
# prepositions, conjunctions, auxiliaries ("put your current title", "into trend").
_EN_BOUNDARY = frozenset(
    "a an the your my our their its his her this that these those some any all each every "
    "in on at to for with by from into onto over under about as than then so and or but nor "
    "is are was were be been being has have had do does did can could will would should may "
    "might must it they we you he she them us which who whose when where while if not no".split()
)
_EN_WORD_RE = re.compile(r"[a-z][a-z-]*")
MAX_EN_ITEM_WORDS = 3


def english_enumeration_cloze(sentence: str) -> str | None:
    """ "splits a series into trend, seasonal and remainder components": three or more
    lower-case items of one to three words, listed with commas and a last «and»/«or», as
    one cloze. The first item runs back from its comma to an article, a pronoun or a
    preposition; the last runs on to one; an item in between is whole words only (no
    article or verb phrase: "run the tests" is a step, not a name). None in Russian,
    where Latin names are found by inline_names_cloze, and when the items are examples."""
    if CYRILLIC_RE.search(sentence) or "," not in sentence:
        return None
    parts = re.split(r"(,\s+)", sentence)  # text, separator, text, …
    texts = parts[0::2]
    for first in range(len(texts) - 1):
        spans = _english_items(sentence, parts, first)
        if spans:
            if _EXAMPLE_BEFORE_RE.search(sentence[: spans[0].start]):
                return None
            if _words(sentence[: spans[0].start] + sentence[spans[-1].end :]) < 3:
                return None
            return hide_repeats(_cloze(sentence, spans))
    return None


def _en_item(words: list[str]) -> bool:
    # "years of experience": «of» may join an item's words; no boundary word may.
    return 1 <= len(words) <= MAX_EN_ITEM_WORDS and all(
        _EN_WORD_RE.fullmatch(w) and w not in _EN_BOUNDARY for w in words
    )


def _english_items(sentence: str, parts: list[str], first: int) -> list[_Span] | None:
    """The items of an English enumeration whose first item ends the `first` text of
    `parts` (re.split by commas, separators kept), as spans; None when there is none.
    Spans run from a word's first character to a word's last, whatever the spacing."""
    texts = parts[0::2]
    offsets = list(itertools.accumulate([0, *(len(p) for p in parts)]))

    def words(k: int, start: int = 0) -> list[re.Match[str]]:
        return list(re.finditer(r"\S+", texts[k][start:]))

    head = words(first)
    taken = 0
    for word in reversed(head):
        if word.group() in _EN_BOUNDARY or not _EN_WORD_RE.fullmatch(word.group()):
            break
        taken += 1
    if not taken or not _en_item([w.group() for w in head[len(head) - taken :]]):
        return None
    at = offsets[2 * first]
    spans = [_Span(at + head[len(head) - taken].start(), at + head[-1].end())]
    for k in range(first + 1, len(texts)):
        text, at = texts[k], offsets[2 * k]
        joined = re.match(r"(?:(?P<item>.+?)\s+)?(?:and|or)\s+(?P<last>.+)$", text)
        middle = joined.group("item").split() if joined and joined.group("item") else []
        if joined and (not middle or (_en_item(middle) and len(middle) <= 2)):
            if middle:
                item = list(re.finditer(r"\S+", joined.group("item")))
                spans.append(_Span(at + item[0].start(), at + item[-1].end()))
            last_words: list[tuple[int, int]] = []
            begin = joined.start("last")
            for word in re.finditer(r"\S+", text[begin:]):
                bare = word.group().rstrip(".!?)")
                if bare in _EN_BOUNDARY or not _EN_WORD_RE.fullmatch(bare):
                    break
                last_words.append((word.start(), word.start() + len(bare)))
                if bare != word.group():
                    break
            if not last_words or len(last_words) > MAX_EN_ITEM_WORDS:
                return None
            spans.append(_Span(at + begin + last_words[0][0], at + begin + last_words[-1][1]))
            return spans if 3 <= len(spans) <= MAX_LIST_ITEMS else None
        # An item between commas is a name of one or two words ("rate limiting"); "embed
        # both sides" is a step.
        item = list(re.finditer(r"\S+", text))
        if not _en_item([w.group() for w in item]) or len(item) > 2:
            return None
        spans.append(_Span(at + item[0].start(), at + item[-1].end()))
    return None


# --- one card per fact ----------------------------------------------------------------------


@dataclass
class _Choice:
    """The card a sentence gives, and how much a learner gains from it."""

    score: float
    kind: Literal["cloze", "basic"]
    question: str
    answer: str = ""
    fact: str = "term"  # what it asks: "number", "term", "list" or "definition"


def _asked_alone(sentence: str, span: _Span) -> bool:
    """Whether a number can be a deletion: a safe answer not printed elsewhere in the
    sentence («При T < 1 … при T > 1»: hiding one 1 shows the other; a repeat of two or
    more characters is hidden with it by hide_repeats)."""
    text = sentence[span.start : span.end]
    return _safe(text) and (len(text) >= 2 or len(_occurrences(sentence, text)) == 1)


def _occurrences(sentence: str, figure: str) -> list[str]:
    """Each place a figure stands as a whole number in a sentence, as what follows it
    there (a space and a character, or less)."""
    return re.findall(rf"(?<![\w.,]){re.escape(figure)}(?!\w|[.,]\d)(\s*\S?)", sentence)


# A sentence is read by best_card and again by sentence_cards (its clauses' figures, its
# second card): its figures and their scores are worked out once.
@functools.lru_cache(maxsize=1024)
def _number_score(sentence: str, span: _Span) -> float:
    """How much a number is a fact: with its unit or the noun it counts, as a default value;
    a year or a version number is barely one."""
    text = sentence[span.start : span.end]
    after = sentence[span.end : span.end + 24]
    score = 1.75
    if re.fullmatch(r"(?:19|20)\d\d", text):
        score -= 1.5  # a year: a date, seldom the point
    # 175B, 7B: a model's size, part of its name more than a fact; not "about 13B active
    # parameters", a count the sentence states.
    if re.fullmatch(r"\d+(?:[.,]\d+)?[BbMmKk]", text) and not _COUNTED_AFTER_RE.match(after):
        score -= 1.0
    clause = _clause_before(sentence, span.start)
    if _EXAMPLE_BEFORE_RE.search(clause):
        score -= 1.0  # «например, 0.9»: one value of many
    before = sentence[max(0, span.start - 24) : span.start]
    # 1 ГБ, 8192 строкам, «коэффициентом 0,2», "p = 0.5": what it measures is in view.
    if (
        re.match(r"\s*[A-Za-zА-Яа-яЁё%]", after)
        or not text[-1:].isdigit()
        or re.search(r"(?:=|[A-Za-zА-Яа-яЁё]{4,})\s*[—–:]?\s*$", before)
    ):
        score += 0.75
    # «(по умолчанию 128 страниц), поэтому в сотни раз меньше»: the figure the default
    # names is the fact; another figure of a sentence with a default is less of one.
    if _DEFAULT_RE.search(before):
        score += 1.0
    elif _DEFAULT_RE.search(sentence):
        score += 0.5
    # "keeps about 97% … while being 40% smaller": a hedged figure is one the sentence
    # states as its finding, not one it goes on to mention.
    if _HEDGE_BEFORE_RE.search(before):
        score += 0.25
    # «150 МБ против примерно 1 ГБ», "one round trip instead of the two": the figure a
    # sentence sets another against is not its point.
    if _INSTEAD_BEFORE_RE.search(clause):
        score -= 0.25
    # «В команде из 5 человек их 10, а из 10 человек — уже 45»: a figure the sentence
    # prints twice with different words after it plays two parts, and hiding both hides
    # the question with the answer («до 0.25 — умеренный, больше 0.25 — значимый» is one).
    if len(set(_occurrences(sentence, text))) > 1:
        score -= 0.75
    # «DENSE_RANK() вернёт 1, 1, 2»: a run of bare numbers is an example's output, not
    # a figure a learner recalls.
    if _NUMBER_RUN_RE.search(sentence, max(0, span.start - 12), span.end + 12):
        score -= 1.0
    # «мощность — 80%, то есть β = 0.2», "1 GiB, i.e. 1024 MiB": what follows «то есть»
    # restates the figure before it, which is the one stated.
    if _RESTATED_RE.search(clause):
        score -= 0.5
    # «h = 8 голов, каждая работает с d_k = 64», "up to 10,000 parts, each from 5 MB",
    # «чанки по 512 токенов с перекрытием 50», «на 65 млрд параметров … с 48 ГБ памяти»:
    # what each of them has, or what comes with them, details the figure before it.
    each = _EACH_BEFORE_RE.search(sentence, 0, span.start)
    with_ = _WITH_BEFORE_RE.search(before)
    detail = each.start() if each else max(0, span.start - 24) + with_.start() if with_ else -1
    if detail >= 0 and any(
        n.end <= detail and not _SINCE_BEFORE_RE.search(sentence, max(0, n.start - 12), n.start)
        for n in _number_spans(sentence)
    ):
        score -= 0.5
    return score


_WITH_BEFORE_RE = re.compile(
    r"(?<![\w-])(?:(?:с|со)\s+(?:[а-яё-]+\s+)?|with\s+(?:(?:an?|the)\s+)?(?:[a-z-]+\s+(?:of\s+)?)?)$",
    re.IGNORECASE,
)
# «с версии 9.1», "since 2020": a figure that says when is no figure to detail.
_SINCE_BEFORE_RE = re.compile(r"(?:верси\w*|version|since|с|от|до|в)\s+$", re.IGNORECASE)
_EACH_BEFORE_RE = re.compile(r",\s+(?:each|every|каждая|каждый|каждое|каждые|каждому|каждой)\b")


_IS_DEFAULT_RE = re.compile(
    r"`?\s+(?:is|was|stays|remains)\s+(?:the\s+)?default\b"
    r"|`?\s+(?:[—–]\s+)?(?:стоит\s+|идёт\s+|используется\s+)?по умолчанию\b",
    re.IGNORECASE,
)
_APPOSITIVE_RE = re.compile(r",\s+(?:the|an?)\s+\w")
_COUNTED_AFTER_RE = re.compile(
    r"\s+(?:\S+\s+)?(?:parameters|params|weights|tokens|параметр\w*|весов|токен\w*)\b"
    r"|\s+of\s+(?:its|the)\b"
)
_NUMBER_RUN_RE = re.compile(r"(?<![\w.,])\d+(?:,\s\d+){2,}(?![\w%])")
# Words that hedge a figure, and words that set one thing against another: one list
# each, for the figures and the names they come before.
_HEDGES = r"about|around|roughly|approximately|примерно|около|порядка"
_SET_AGAINST = r"instead of|rather than"
_HEDGE_BEFORE_RE = re.compile(rf"(?<!\w)(?:{_HEDGES})\s+$", re.IGNORECASE)
_INSTEAD_BEFORE_RE = re.compile(
    rf"(?<!\w)(?:{_SET_AGAINST}|compared to|compared with|versus|vs\.?|against|вместо|против|"
    rf"по сравнению с)\s+(?:(?:the|{_HEDGES})\s+)?"
    # "4.0 against `seq_page_cost = 1.0`": the setting set against, then its figure.
    r"(?:[`'\"]?[\w.]+\s*=\s*)?$",
    re.IGNORECASE,
)


def _restatement(sentence: str, numbers: Sequence[_Span], best: _Span) -> _Span | None:
    """The figure that restates `best` or that `best` restates («168, то есть 7 дней»)."""
    for first, second in itertools.pairwise(sorted(numbers, key=lambda s: s.start)):
        if best in (first, second) and re.fullmatch(
            rf"\s*\S{{0,12}}\s*,?\s*{_RESTATED_WORDS}\s+(?:\S+\s+){{0,3}}",
            sentence[first.end : second.start],
            re.IGNORECASE,
        ):
            return second if best == first else first
    return None


def _complement(sentence: str, numbers: Sequence[_Span], best: _Span) -> _Span | None:
    """The share that makes up 100% with `best` («AI кода 5%, а остальные 95%»): either
    gives the other away."""
    share = _percent(sentence[best.start : best.end])
    if share is None:
        return None
    for other in numbers:
        rest = _percent(sentence[other.start : other.end])
        if other != best and rest is not None and abs(share + rest - 100) < 1e-9:
            return other
    return None


def _percent(text: str) -> float | None:
    values = number_values(text)
    return float(next(iter(values))) if text.rstrip().endswith("%") and len(values) == 1 else None


_RESTATED_WORDS = r"(?:то есть|т\.\s?е\.|иначе говоря|i\.\s?e\.|that is|in other words)"
_RESTATED_RE = re.compile(rf"(?:^|[\s,(]){_RESTATED_WORDS}(?!\w)", re.IGNORECASE)


_EXAMPLE_HEAD_RE = re.compile(
    r"(?:(?:the|a|an)\s+)?(?:\w+\s+){0,2}(?:example|пример)", re.IGNORECASE
)


def _definition_choice(sentence: str, question_word: str) -> _Choice | None:
    """«X — это Y» as «Что такое X?» / Y where Y is short; else a deletion of X."""
    for pattern in (DEFINITION_RU_RE, DEFINITION_EN_RE):
        match = pattern.match(sentence)
        if not match:
            continue
        # «Минимальный детектируемый эффект, или MDE, — это…»: the comma closes the head;
        # «Коротко про персистентность: RDB — это…»: what a colon leads to is the head.
        x = without_pictographs(match.group("x")).rsplit(": ", 1)[-1].strip(' «»",')
        y = match.group("y").strip()
        if _words(x) > MAX_HEAD_WORDS or not _safe(x) or _VAGUE_HEAD_RE.match(x):
            return None
        if _number_spans(x):
            # «α обычно берут 0.05 — это …»: what states a figure is a clause, not a name
            # to define; its card asks the figure.
            return None
        short = re.split(r"[,;:]\s|\s[—–]\s", y)[0]
        if _EXAMPLE_HEAD_RE.fullmatch(short):
            # "DistilBERT is the classic example: it keeps…": what it is comes after.
            return None
        answer = short if _words(short) >= 3 else y
        if _words(answer) <= MAX_DEFINITION_WORDS and _safe(answer):
            # «Партиция» opens the sentence, «партиция» is asked about.
            if x[:1].isupper() and x[1:2].islower() and CYRILLIC_RE.match(x):
                x = x[0].lower() + x[1:]
            return _Choice(3.0, "basic", question_word.format(x=x), answer, "definition")
        # The head as trimmed above («RDB», not «Коротко про персистентность: RDB»).
        start = sentence.find(x, match.start("x"), match.end("x"))
        if start < 0 or "::" in x:
            return None
        span = _Span(start, start + len(x))
        return _Choice(2.5, "cloze", _cloze(sentence, [span]), fact="definition")
    return None


# «MRR (Mean Reciprocal Rank) смотрит…», "AOF (append-only file) logs…": an abbreviation
# opening its sentence with its expansion after it, then what it does.
_EXPANDED_SUBJECT_RE = re.compile(
    r"(?P<abbr>[A-ZА-ЯЁ][A-Za-zА-Яа-яЁё0-9@&+-]*[A-ZА-ЯЁ0-9][A-Za-zА-Яа-яЁё0-9@&+-]*)"
    r"\s+\((?P<full>[^()]{3,80})\)(?=\s+\S+\s+\S+)"
)


def _expanded_subject(sentence: str) -> _Span | None:
    """The abbreviation and its expansion that open a sentence saying what the named thing
    does: the sentence is about it, and the rest determines it better than any of its
    figures, which are what it does (the expansion alone would be asked beside its own
    abbreviation). The expansion's words must begin with the abbreviation's first letter,
    so «GIL (я проверял)» names nothing."""
    match = _EXPANDED_SUBJECT_RE.match(sentence)
    if not match:
        return None
    full = match.group("full").split()
    if len(full) < 2 or full[0][:1].lower() != match.group("abbr")[:1].lower():
        return None
    rest = sentence[match.end() :]
    if _words(rest) < 4 or re.match(r"\s*(?:[—–-]|это\b|is\b|are\b)", rest):
        return None  # «X (…) — это Y» is a definition, asked as one
    return _Span(0, match.end())


# Where one clause of a sentence ends and the next, with a fact of its own, begins.
_CLAUSE_BREAK_RE = re.compile(r",\s+(?:а|но|и|или|while|whereas|but|and|or)\s+|;\s+")


# What may stand between two figures listed side by side: what the first measures (up to
# three words), the list's comma or conjunction, at most a word before the second («на»);
# «97% качества BERT, будучи на 40% меньше» goes on to a clause of its own.
_FIGURE_GAP_RE = re.compile(
    r"(?:\s*[^\s,;:—–()\d]+(?:\s+[^\s,;:—–()\d]+){0,2})?"
    rf"{_LIST_SEPARATOR}(?:[^\s,;:—–()\d]+\s+)?"
)
MAX_FIGURE_GAP = 80  # characters: a gap longer than this words no list


def _joined_runs(
    sentence: str, numbers: Sequence[_Span], gap: re.Pattern[str]
) -> Iterator[list[_Span]]:
    """The runs of figures in a row whose gaps `gap` matches whole (none longer than
    MAX_FIGURE_GAP), in order, each of at most MAX_LIST_ITEMS."""
    run: list[_Span] = []
    for figure in numbers:
        if run and (
            len(run) < MAX_LIST_ITEMS
            and figure.start - run[-1].end <= MAX_FIGURE_GAP
            and gap.fullmatch(sentence, run[-1].end, figure.start)
        ):
            run.append(figure)
            continue
        if run:
            yield run
        run = [figure]
    if run:
        yield run


def _figure_run(sentence: str, numbers: Sequence[_Span]) -> list[_Span] | None:
    """Three or more figures a sentence lists, each with what it measures, the last after
    a conjunction ("19 MiB of memory, 2 iterations and 1 degree of parallelism", «r = 8,
    alpha = 16 и dropout 0.05»); None when they are not one such list."""
    settings = _settings_run(sentence, numbers)
    if settings:
        return settings
    run = next((r for r in _joined_runs(sentence, numbers, _FIGURE_GAP_RE) if len(r) >= 3), [])
    # "8, 11 and 17, then 21 in 2023": the list ends where its conjunction does («plus»
    # and «а также» join as «and» does: "8, 11, 17 and 21, plus 25").
    while len(run) >= 3 and not re.search(
        r"\s(?:и|или|and|or|plus|плюс|а также)\s", sentence[run[-2].end : run[-1].start]
    ):
        run.pop()
    if len(run) < 3:
        return None
    texts = [sentence[n.start : n.end] for n in run]
    return run if len(set(texts)) == len(texts) else None


# A setting's name and its «=», quoted or in backticks or not: «chunk_size = », "`r`=".
_SETTING_NAME = r"[`'\"]?[A-Za-z_][\w.]*[`'\"]?\s*=\s*"
_SETTING_RE = re.compile(rf"(?<![\w.]){_SETTING_NAME}$")
_SETTING_GAP_RE = re.compile(rf"[`'\"]?\s*{_LIST_SEPARATOR}{_SETTING_NAME}")


def _settings_run(sentence: str, numbers: Sequence[_Span]) -> list[_Span] | None:
    """Two or more settings listed with their values, «chunk_size = 4000 и chunk_overlap =
    200», "r=8, alpha=16 and dropout=0.05": one deletion each; None otherwise. (A gap
    ends in the next setting's name, so only a run's first figure needs a name before.)"""
    for run in _joined_runs(sentence, numbers, _SETTING_GAP_RE):
        while run and not _SETTING_RE.search(sentence, max(0, run[0].start - 64), run[0].start):
            run = run[1:]
        if len(run) >= 2:
            return run
    return None


@functools.lru_cache(maxsize=1024)
def _asked_numbers(sentence: str) -> tuple[_Span, ...]:
    return tuple(span for span in _number_spans(sentence) if _asked_alone(sentence, span))


def _best_number(sentence: str, numbers: Sequence[_Span]) -> _Span:
    """The number a sentence states best; of two equal, the later: the one it leads up to."""
    return max(numbers, key=lambda s: (_number_score(sentence, s), s.start))


def _deletion(
    sentence: str, spans: list[_Span], score: float, fact: str, *, together: bool = False
) -> _Choice:
    """The card that deletes spans of a sentence (and their repeats), one cN each or, asked
    `together`, all as c1."""
    return _Choice(
        score, "cloze", hide_repeats(_cloze(sentence, spans, together=together)), fact=fact
    )


def sentence_cards(
    sentence: str,
    common: set[str],
    allowed_common: set[str] | None = None,
    skip: set[str] | None = None,
) -> list[_Choice]:
    """The cards of a sentence: its best card, and for a sentence whose clauses each state
    a number («d_model равна 512, а голов внимания 8»), one card per clause."""
    best = best_card(sentence, common, allowed_common, skip)
    if best is not None and best.kind == "basic" and best.fact == "definition":
        # «PgBouncer — это пулер соединений, по умолчанию он слушает порт 6432»: what it
        # is, then a figure of its own in the clause after the definition.
        after = sentence.find(best.answer) + len(best.answer)
        later = [n for n in _asked_numbers(sentence) if n.start >= after > len(best.answer)]
        if later:
            pick = _best_number(sentence, later)
            score = min(best.score, _number_score(sentence, pick)) - 0.25
            return [best, _deletion(sentence, [pick], score, "number")]
    if best is None or best.fact != "number":
        return [best] if best else []
    out = [best]
    # «429 Too Many Requests, вместе с заголовком Retry-After», "the num_tokens setting,
    # which defaults to 16": a name the sentence cues as one is a fact beside its figure.
    expanded = _expanded_subject(sentence)
    if expanded is None:
        # «построен на SSI (Serializable Snapshot Isolation) и … с ошибкой 40001»: an
        # abbreviation spelled out anywhere in the sentence is a name it teaches.
        pairs = [
            pair
            for pair in _spelled_out(sentence)
            if sentence[pair[0].start : pair[0].end] not in (skip or set())
        ]
        if pairs:
            expanded = _with_its_spelling(pairs[0][0], pairs)
    named = term_card(sentence, common, allowed_common, skip)
    if expanded is not None:
        # «AWQ (Activation-aware Weight Quantization) исходит из того, что около 1% весов…»:
        # what the sentence is about is a fact beside the figure it states.
        score = best.score - 0.75
        out.append(_deletion(sentence, [expanded], score, "term"))
    elif named is not None and _kind_named(sentence, cloze_deletions(named.question)[0][1]):
        name = cloze_deletions(named.question)[0][1]
        if _NAMED_BEFORE_RE.search(sentence, 0, max(0, sentence.find(name))):
            # «T = 0 на практике означает greedy decoding», "is known as F1": a sentence
            # that gives a name is about the name; its figure is the setting.
            out.insert(0, dataclasses.replace(named, score=best.score))
            out[1] = dataclasses.replace(best, score=best.score - 0.5)
        else:
            out.append(dataclasses.replace(named, score=min(best.score, named.score) - 0.75))
    cuts = [0, *(m.end() for m in _CLAUSE_BREAK_RE.finditer(sentence)), len(sentence) + 1]
    numbers = _asked_numbers(sentence)
    asked = cloze_deletions(best.question)[0][1]
    for start, end in itertools.pairwise(cuts):
        inside = [n for n in numbers if start <= n.start < end]
        if not inside or any(sentence[n.start : n.end] == asked for n in inside):
            continue
        pick = _best_number(sentence, inside)
        # Second to the sentence's best, so a post's budget takes it only when it can.
        score = min(best.score, _number_score(sentence, pick)) - 0.25
        out.append(_deletion(sentence, [pick], score, "number"))
    return out


_OPINION_RE = re.compile(
    r"мнени|по-моему|кажется|думаю|считаю|уверен|opinion|i think|i believe|i feel", re.IGNORECASE
)


def _advice_after_colon(sentence: str, reasons: tuple[str, ...]) -> bool:
    """«Стартовая настройка, с которой я обычно начинаю: чанки по 512 токенов», «Мой совет:
    одна история — 2–3 минуты»: the author only introduces what the colon then states."""
    head, colon, tail = sentence.partition(": ")
    return (
        reasons == ("first person",)
        and bool(colon)
        # «Моё мнение: 80% проблем…»: an opinion introduced is still the author's.
        and not _OPINION_RE.search(head)
        and _words(tail) >= MIN_WORDS
        and not _reasons(tail)
        and bool(_number_spans(tail))
    )


def best_card(
    sentence: str,
    common: set[str],
    allowed_common: set[str] | None = None,
    skip: set[str] | None = None,
) -> _Choice | None:
    """The one card a sentence gives: an enumeration, a definition, its best number, or a
    term the rest of the sentence determines; None when it states no fact worth one."""
    if not _statement(sentence):
        return None
    reasons = _reasons(sentence)
    if reasons and _ANNOUNCING_REASONS.issuperset(reasons):
        # «Сегодня разберём три алгоритма: BPE, WordPiece и Unigram», «Он состоит из трёх
        # типов таблиц: хабы, линки и сателлиты»: what a teaser or a pronoun announces is
        # counted out after its colon, and the count is the post's fact; a teaser's list
        # of three or more is one too («Остальные движки: A, B, C — о них в следующих
        # постах»), where a pronoun's («Он перечисляет варианты: …») may be anyone's.
        match = _COLON_LIST_RE.match(sentence)
        counted = match is not None and _item_count(match["intro"]) is not None
        listed = colon_list_cloze(sentence) if counted or reasons == ("anecdote",) else None
        if listed and (counted or len(cloze_deletions(listed)) >= 3):
            return _Choice(3.0, "cloze", listed, fact="list")
        return None
    if reasons and not _advice_after_colon(sentence, reasons):
        return None
    numbered = inline_list_cloze(sentence)
    if numbered:
        return _Choice(3.0, "cloze", numbered, fact="list")
    if _words(sentence) > MAX_WORDS:
        return None
    bonus = 0.5 if _COMPARISON_RE.search(sentence) else 0.0
    bonus -= 0.5 if _words(sentence) > 28 else 0.0
    enumeration = colon_list_cloze(sentence)
    if enumeration:
        return _Choice(3.0 + bonus, "cloze", enumeration, fact="list")
    names = (
        inline_names_cloze(sentence)
        or english_enumeration_cloze(sentence)
        or dashed_list_cloze(sentence)
    )
    if names:
        return _Choice(2.75 + bonus, "cloze", names, fact="list")
    cyrillic = bool(CYRILLIC_RE.search(sentence))
    definition = _definition_choice(sentence, "Что такое {x}?" if cyrillic else "What is {x}?")
    if definition:
        return dataclasses.replace(definition, score=definition.score + bonus)
    numbers = _asked_numbers(sentence)
    best = _best_number(sentence, numbers) if numbers else None
    # «с марта 2024 года FID больше не входит… — его заменила INP»: a year is no fact
    # worth a card, and the sentence's name may be one.
    if best is not None and _number_score(sentence, best) < MIN_SCORE:
        term = term_card(sentence, common, allowed_common, skip, bonus)
        if term is not None and term.score >= MIN_SCORE:
            return term
    run = _figure_run(sentence, numbers)
    if run:
        # "19 MiB of memory, 2 iterations and 1 degree of parallelism": figures listed
        # side by side are a list, one deletion (one Anki card) each.
        score = max(_number_score(sentence, n) for n in run) + bonus
        return _deletion(sentence, run, score, "list")
    if best is not None:
        score = _number_score(sentence, best) + bonus
        partner = _restatement(sentence, numbers, best) or _complement(sentence, numbers, best)
        # Either figure of a restatement gives the other away: one deletion asks both.
        spans = [best, partner] if partner else [best]
        return _deletion(sentence, spans, score, "number", together=True)
    named = _expanded_subject(sentence)
    if named:
        return _deletion(sentence, [named], 2.75 + bonus, "term")
    return term_card(sentence, common, allowed_common, skip, bonus)


# "This is known as zero-shot classification", «Официально он называется assignment
# expression», «её называют конфаундером (…)»: the name a sentence gives, up to the
# punctuation or the conjunction that ends it.
_NAMED_AS_RE = re.compile(
    r"(?:\b(?:is|are|was|were)\s+(?:also\s+|often\s+|usually\s+|commonly\s+)?"
    r"(?:known\s+as|called|named|referred\s+to\s+as)"
    r"|(?<![\w-])(?:называ(?:ют|ется|ются|ем)|зовут))"
    r"\s+(?:(?:the|an?)\s+)?[«\"]?"
    r"(?P<name>[^\s,.;:!?()«»\"]+(?:\s+[^\s,.;:!?()«»\"]+){0,3}?)"
    r"(?=[»\"]?(?:\s*[,.;:!?(]|\s+(?:and|or|because|which|и|а|но|потому|который|которая|"
    r"которое|которые)\b|\s*$))",
    re.IGNORECASE,
)
# «Это latent diffusion: denoising идёт не в пикселях…», "This is tiling: …": a name the
# sentence introduces and its colon goes on to explain (not «Это GPT тоже увидит»).
_THIS_IS_RE = re.compile(
    r"^(?:(?:и|а|and|so)\s+)?(?:это|this\s+is|that\s+is)\s+(?P<name>[A-Za-z][\w-]*(?:\s+[\w-]+){0,2}):\s+\S",
    re.IGNORECASE,
)
MAX_NAMING_WORDS = 45  # the two sentences of a naming card together
# «Эти направления и называются…», «Официально он называется…», "Their harmonic mean is
# known as…": what is named is in the sentence before.
_REFERS_BACK_RE = re.compile(
    rf"^(?:[\w-]+,?\s+){{0,2}}?(?:{_PRONOUNS}|её|ее|эт(?:от|а|и|им|ого|ой|у)|так(?:ой|ая|ое|ие|им)|"
    rf"{_EN_PRONOUNS}|[Ss]uch))(?![\w-])",
    re.IGNORECASE,
)


def naming_card(sentence: str, before: str = "", skip: set[str] | None = None) -> _Choice | None:
    """The card that asks the name a sentence gives («…называют конфаундером»), for a
    sentence no other card is made of. «Их гармоническое среднее называют F1» names what
    the sentence `before` it describes: the two make one card, as the pronoun alone would
    ask the name of nothing. None when the sentence gives no name (or one `skip` holds),
    states no fact, or the card would be too long."""
    # «Официально он называется X и позволяет …:» announces its example, and names X.
    sentence = sentence.rstrip().removesuffix(":")
    match = _NAMED_AS_RE.search(sentence) or _THIS_IS_RE.match(sentence)
    if match is None or match["name"] in (skip or set()):
        return None
    if [reason for reason in _reasons(sentence) if reason != "pronoun subject"]:
        return None
    if not _REFERS_BACK_RE.match(sentence):
        before = ""
    elif not before or not _statement(before) or _reasons(before):
        return None
    text = f"{before} {sentence}" if before else sentence
    if _words(text) > MAX_NAMING_WORDS or not _fits_a_field(text):
        return None
    offset = len(before) + 1 if before else 0
    name = _Span(offset + match.start("name"), offset + match.end("name"))
    if not _safe(text[name.start : name.end]):
        return None
    return _deletion(text, [name], 2.5, "term")


def term_card(
    sentence: str,
    common: set[str],
    allowed_common: set[str] | None = None,
    skip: set[str] | None = None,
    bonus: float = 0.0,
) -> _Choice | None:
    """A deletion of the term the rest of the sentence determines best, or None."""
    skip = skip or set()
    skip_keys = {key for key in map(_term_key, skip) if key}
    terms = [
        t
        for t in _term_spans(sentence, allowed_common or set(), common)
        if _safe(sentence[t.start : t.end])
        and sentence[t.start : t.end] not in skip
        and _term_key(sentence[t.start : t.end]) not in skip_keys
    ]
    # The rest must say enough to determine the term: never a sentence's only content;
    # never one example of several («например map и filter»), or a name its sibling gives
    # away («min и max», «valid_from и valid_to», «Dict/List»).
    # An abbreviation and its expansion are one name: either alone the other gives away.
    spelled = _spelled_out(sentence)
    terms = list(dict.fromkeys(_with_its_spelling(t, spelled) for t in terms))
    terms = [
        t
        for t in terms
        # Words, not marks: «Для этого есть {{c1::SCD}}.» leaves three.
        if len(re.findall(r"\w+", sentence[: t.start] + " " + sentence[t.end :])) >= 4
        and not _EXAMPLE_BEFORE_RE.search(_clause_before(sentence, t.start))
    ]
    # The second of a pair is asked with the first, as one deletion: «умеют {{c1::schema
    # evolution}} и {{c1::time travel}}» — either alone the other gives away.
    pairs = {t: o for t in terms for o in terms if _sibling(sentence, t, o)}
    terms = [t for t in terms if not any(o == t for o in pairs.values())]
    if not terms:
        return None
    # The best-scored term, and of two equal the later: what the sentence leads up to.
    scores = {t: _term_score(sentence, t) for t in terms}
    best = max(terms, key=lambda t: (scores[t], t.start))
    score = scores[best]
    if best in pairs:
        return _Choice(score + bonus, "cloze", _cloze(sentence, [pairs[best], best], together=True))
    return _deletion(sentence, [best], score + bonus, "term")


_PARENTHESIS_RE = re.compile(r"\(([^()]{2,80})\)")


def _initials(words: list[str]) -> str:
    # «JVM (-Xmx4g)»: a split at a leading dash leaves an empty word, which has no initial.
    return "".join(word[0] for word in words if word).upper()


def _letters(text: str) -> str:
    return re.sub(r"[^A-Za-zА-ЯЁа-яё]", "", text)


@functools.lru_cache(maxsize=1024)
def _spelled_out(sentence: str) -> tuple[tuple[_Span, _Span], ...]:
    """Each abbreviation beside its expansion in parentheses, either way round
    («Adaptive Query Execution (AQE)», "AOF (append-only file)"): two spans that say one
    name."""
    pairs = []
    for match in _PARENTHESIS_RE.finditer(sentence):
        inner = match.group(1).strip()
        inside = _Span(match.start(1), match.end(1))
        before = list(re.finditer(r"\S+", sentence[: match.start()]))
        letters = _letters(inner)
        if " " not in inner and 2 <= len(letters) <= 8 and letters.isupper():
            words = before[-len(letters) :]
            if len(words) == len(letters) and _initials([w.group() for w in words]) == letters:
                pairs.append((_Span(words[0].start(), words[-1].end()), inside))
            continue
        if before:
            last = before[-1]
            head = _letters(last.group())
            parts = re.split(r"[\s-]+", inner)
            if 2 <= len(head) <= 8 and head.isupper() and _initials(parts) == head:
                pairs.append((_Span(last.start(), last.end()), inside))
    return tuple(pairs)


def _with_its_spelling(term: _Span, pairs: Sequence[tuple[_Span, _Span]]) -> _Span:
    """The term, or with the other side of its abbreviation and expansion when it is one
    side of one (the closing parenthesis included)."""

    def meets(a: _Span, b: _Span) -> bool:
        return a.start < b.end and b.start < a.end

    for one, inside in pairs:
        if meets(term, one) != meets(term, inside):
            return _Span(min(term.start, one.start), max(term.end, inside.end + 1))
    return term


def _term_score(sentence: str, term: _Span) -> float:
    """How much a term is the point of its sentence. Late in it, the sentence leads up to
    it, its new information («…отвечает executor»); at its very end, it is the point
    («…тот самый Hadoop») unless it only says where («посмотреть на Github»); at its start
    it is the subject, which the rest rarely pins down. A word naming a kind of name
    before it («метод STAR», "is called X") says a name is asked."""
    before = sentence[: term.start]
    tail = sentence[term.end :].strip(' .,;:!)»"')
    at_end = _words(tail) <= 1
    if at_end and _PLACE_BEFORE_RE.search(before):
        score = 1.0
    else:
        score = 1.0 if term.start == 0 else 2.0 if at_end else 1.5
    # "the num_tokens setting", "the Idempotency-Key header": English names the kind after.
    if _TERM_CUE_RE.search(before) or _KIND_AFTER_RE.match(sentence, term.end):
        score += 0.75
    # "The capacity factor limits…": a clause is about what it opens with doing something.
    doing = (m.span("subject") for m in _DOING_SUBJECT_RE.finditer(sentence))
    if (term.start, term.end) in doing:
        score += 1.0
    # «XCom — механизм обмена…», «умеют time travel — чтение…»: a name the sentence goes
    # on to explain is what it is about; «реранкер — cross-encoder»: one it names so.
    after = sentence[term.end :]
    # «нужен loss scaling: loss умножают…»: a colon after a name opens its explanation too.
    if re.match(r"\s+[—–]\s+\S|:\s+\S", after) or re.search(r"\S\s+[—–]\s*$", before):
        score += 0.75
    # «Не используем X, а передаём Y»: what the sentence sets against the negated one.
    if _CONTRAST_RE.search(before):
        score += 0.5
    # «помечается как skipped, а не failed»: the negated one is what the fact is not.
    if _NEGATED_BEFORE_RE.search(before):
        score -= 1.0
    # «появился в Python 3.9»: a product with its version says when, not what.
    if re.search(r"\s\d+(?:\.\d+)+$", text := sentence[term.start : term.end]):
        score -= 0.75
    # "`auto` is the default and lets…", «`auto` стоит по умолчанию»: the default is named.
    if _IS_DEFAULT_RE.match(sentence, term.end):
        score += 1.0
    if _DEFINED_IF_RE.match(sentence, term.end):
        score += 1.0  # "is idempotent if…": the word the sentence defines
    # "Argon2id, the winner of the Password Hashing Competition, is…": a name an
    # appositive goes on to describe is what the sentence is about.
    if not CYRILLIC_RE.search(sentence) and _APPOSITIVE_RE.match(sentence, term.end):
        score += 1.0
    # «создаёт B-tree, он же тип по умолчанию»: «он же» goes on to say what the name is.
    if _ALIAS_AFTER_RE.match(sentence, term.end):
        score += 1.0
    # «PagedAttention из vLLM», "Trainer from transformers": where a name comes from is
    # less the point than the name.
    if _FROM_BEFORE_RE.search(before):
        score -= 1.0
    # «через merge_and_unload()», «параметром spark.sql.…»: in a Russian sentence an
    # identifier is more the point than an English word it uses as jargon («inference»).
    if CYRILLIC_RE.search(sentence) and _IDENTIFIER_RE.search(text):
        score += 0.5
    return score


_ALIAS_AFTER_RE = re.compile(r",\s+(?:он|она|оно|они)\s+же\s", re.IGNORECASE)
_DEFINED_IF_RE = re.compile(r"\s+(?:if|when|whenever)\b")
_NEGATED_BEFORE_RE = re.compile(
    rf"(?:(?:,\s*|\s)(?:а|но)\s+не|\bnot|\b(?:{_SET_AGAINST}))\s+(?:\S+\s+)?$",
    re.IGNORECASE,
)
_FROM_BEFORE_RE = re.compile(rf"(?<![\w.-])(?:[A-Z]|[a-z]+[A-Z]){LATIN_TOKEN}?\s+(?:из|from)\s+$")
# An identifier as code writes it: snake_case, dotted, called, or camelCase.
_IDENTIFIER_RE = re.compile(r"[a-z0-9]_[a-z0-9]|[a-z]\.[a-z]|\w\(\)|^[a-z]+[A-Z]")


_CONTRAST_RE = re.compile(
    r"(?:^|\s)(?:не|not|no|never)\s.*(?:,\s+а|,\s+but|\binstead)\s+(?:\S+\s+){0,3}$",
    re.IGNORECASE,
)


# What opens an example: the names after it are one choice of several.
_EXAMPLE_BEFORE_RE = re.compile(
    rf"(?<!\w)(?:{_EXAMPLE_WORDS}|вроде|такие как|таких как|такими как|в т\.ч\.|e\.g\.|"
    r"for instance|such as|like)(?!\w)",
    re.IGNORECASE,
)


def _clause_before(sentence: str, start: int) -> str:
    """The part of a sentence's clause before a position (after its last ; or «—»)."""
    return re.split(r"[;:]\s|\s[—–]\s", sentence[:start])[-1]


def _sibling(sentence: str, term: _Span, other: _Span) -> bool:
    """Whether `term` comes right after `other`, joined by «и», "and", «или», a comma or a
    slash: the second of a pair."""
    # «merge() и unload()»: a call's brackets are no part of what joins the two.
    joined = r"(?:\(\))?\s*(?:,|/|\s(?:и|или|and|or))\s*"
    return other.end <= term.start and bool(re.fullmatch(joined, sentence[other.end : term.start]))


# The word before a name that says a name follows: a kind of thing, or a verb of naming or
# of using.
# Words that give a name: «называют», «зовут», «означает», "called", "known as", "means".
_NAMING_WORDS = r"называ\w+|зов\w+|означа\w+|called|known as|named|means"
# "called the memtable", «заголовком «Retry-After»»: what may stand between a cue and its
# name (an article, a quote mark, a bracket), up to the name.
_CUE_TAIL = r"(?:\s+(?:the|an?))?[\s«\"(]*$"
_TERM_CUE_RE = re.compile(
    r"(?<!\w)(?:метод\w*|алгоритм\w*|параметр\w*|модификатор\w*|метк\w+|формат\w*|фреймворк\w*|"
    r"библиотек\w+|модел\w+|тип\w*|механизм\w*|протокол\w*|функци\w+|макрос\w*|флаг\w*|"
    r"команд\w+|оператор\w*|движ\w+|использу\w+|примен\w+|отвечает|"
    rf"{_NAMING_WORDS}|{_SURNAME_CUES}|заголов\w+|"
    # «по умолчанию это snappy», "defaults to lz4": a default is what the sentence tells.
    r"по умолчанию(?:\s+(?:это|—|–|равен|равна|стоит))?|"
    r"method|algorithm|parameter|setting|flag|header|"
    r"defaults? to|default is|by default is|"
    r"uses?|using|via)" + _CUE_TAIL,
    re.IGNORECASE,
)


def _kind_named(sentence: str, name: str) -> bool:
    """Whether the sentence names the kind of thing a name is, right before or after it
    («заголовком Retry-After», "the num_tokens setting"): a fact apart from its figure."""
    at = sentence.find(name)
    return at >= 0 and bool(
        _KIND_BEFORE_RE.search(sentence, 0, at) or _KIND_AFTER_RE.match(sentence, at + len(name))
    )


_KIND_BEFORE_RE = re.compile(
    r"(?<!\w)(?:параметр\w*|флаг\w*|заголов\w+|настройк\w+|опци\w+|колонк\w+|пол(?:е|ем|я)|"
    r"метод\w*|функци\w+|команд\w+|header|setting|flag|parameter|option|"
    # «Отношение DAU к MAU называют stickiness»: a name given is a fact of its own.
    rf"{_NAMING_WORDS})" + _CUE_TAIL,
    re.IGNORECASE,
)
_NAMED_BEFORE_RE = re.compile(rf"(?<!\w)(?:{_NAMING_WORDS})" + _CUE_TAIL, re.IGNORECASE)
_KIND_AFTER_RE = re.compile(
    r"\s+(?:setting|flag|header|parameter|option|method|function|field|column|command|"
    r"endpoint|operator|hook|algorithm|protocol|pattern|format|annotation|decorator)s?\b"
)
_PLACE_BEFORE_RE = re.compile(r"(?:\b(?:на|on|at)\s+)$", re.IGNORECASE)


# --- the post as a whole -------------------------------------------------------------------


def _joined_markers(lines: list[str]) -> list[str]:
    """Lines with a marker alone on its line («1.» and the item below it, as some apps
    copy a list) joined to the item it numbers; blank lines keep their place."""
    out: list[str] = []
    pending = ""
    for line in lines:
        if _MARKER_ONLY_RE.match(line):
            pending = f"{pending}{line.strip()} "
            continue
        if pending and line.strip():
            out.append(pending + line.strip())
            pending = ""
        else:
            out.append(line)
    if pending:
        out.append(pending.strip())
    return out


def _joined_continuations(lines: list[str]) -> list[str]:
    """A line that opens in lower case, after one that ends in no stop, is the rest of its
    sentence (a copied post keeps the author's line breaks), so it joins it."""
    out: list[str] = []
    for line in lines:
        text = line.strip()
        previous = out[-1].rstrip() if out else ""
        if (
            text[:1].islower()
            and previous
            and not previous.endswith((".", "!", "?", ":", ";", "…"))
            and not _item(line)
            and not _DOMAIN_RE.match(text)
            and not URL_RE.match(text)
        ):
            out[-1] = f"{previous} {text}"
        else:
            out.append(line)
    return out


# Bullets typed as characters, not pictographs: a line they open is a list item.
_TYPED_BULLETS = frozenset("•·▪▫◦‣∙*+-–—➖➤►→✓✔")


def _title(lines: list[str]) -> str | None:
    """The post's heading: a short first line that is not a sentence, a list item or noise."""
    if len(lines) < 2:
        return None
    first = lines[0].strip()
    item = _item(first)
    if item is not None and item.number is None and item.marker not in _TYPED_BULLETS:
        # «🐍 GIL: почему потоки…»: an emoji opens a channel's heading as often as a list's
        # item; it is the first item only where one of its kind follows.
        following = _item(lines[1])
        if following is None or following.marker != item.marker:
            first, item = item.text, None
    # «Всем привет!», a talk's date: no heading; "notes from our migration" still is one.
    noise = [reason for reason in _reasons(first) if reason != "first person"]
    if not first or item or first.endswith((".", "!", ":")) or noise:
        return None
    head = first.split(maxsplit=1)[0]
    if first[:1].islower() and not re.search(r"[a-z][A-Z]", head) and lines[1].strip():
        # A sentence cut by a line break, not a heading; «gRPC vs REST» is one, and so is
        # «dbt: materializations за 5 минут» that a blank line sets apart.
        return None
    # «Детекторы текста | Notion»: a link preview's site name is not part of the heading.
    title = without_pictographs(first).split(" | ")[0].strip()
    return title if 1 <= _words(title) <= MAX_TITLE_WORDS else None


# A capitalised Latin word: in an English heading, a name wherever it is not the first.
_CAPITALISED_RE = re.compile(rf"(?<![\w.-])(?=[A-Z]){LATIN_TOKEN}")


def _latin_names(text: str) -> Iterator[str]:
    """The Latin-script names of a text, as a subject may be: no stop word first. In
    English, where every word is Latin, only words written as names (OAuth, PKCE): "For
    web apps…" opens a sentence, it names nothing."""
    if not CYRILLIC_RE.search(text):
        for match in re.finditer(rf"(?<![\w.-]){LATIN_TOKEN}", _masked(text)):
            if _NAMED_WORD_RE.search(match.group(0)):
                yield match.group(0)
        return
    for match in LATIN_TERM_RE.finditer(_masked(text)):
        term = match.group(0)
        if len(term) >= 2 and term.split()[0].lower() not in _STOP_LATIN:
            yield term


_TITLE_NAME_RE = re.compile(
    r"(?!(?:What|Why|How|When|Where|Which|Who|Stop|Don't|Do|Is|Are)\b)"
    r"[A-Z][a-z]+(?:\s+(?:(?:of|for|and|the|to|in)\s+)?[A-Z][a-z]+)+(?=\s+[a-z]|\s*[:—–-])"
)
_TITLE_LISTING_RE = re.compile(
    r"(?P<head>[А-ЯЁA-Z][а-яёa-z]+(?:\s+[а-яёa-z]+){0,2}):\s+"
    r"(?P<names>[^,]+(?:,\s+[^,]+)*\s+(?:и|или|and|or)\s+\S+)$"
)
_TITLE_ABBREVIATION_RE = re.compile(r"\((?=(?:[a-z0-9]*[A-Z]){2})([A-Za-z][A-Za-z0-9]{1,9})\)")
# All-caps words a title opens with that are no name.
_TITLE_OPENERS = frozenset(
    {"TIL", "FAQ", "PSA", "AMA", "IMHO", "TLDR", "NEW", "UPD", "HOT"}
    # "Update: …", "Q: …": words a heading opens with before what it is about.
    | {"UPDATE", "NOTES", "NOTE", "NEWS", "TIP", "TIPS", "REMINDER", "QUESTION", "ANSWER"}
    | {"Q", "A", "SUMMARY", "RECAP", "DIGEST", "TODAY", "QUIZ", "PROTIP", "WARNING"}
)


def _subject(title: str | None, sentences: list[str]) -> str | None:
    """The post's main named term: the Latin name the title opens with or names most, else
    the one the post names most (at least twice)."""
    counts: dict[str, int] = {}
    names: dict[str, str] = {}
    for text in sentences:
        for term in _latin_names(text):
            key = _term_key(term)
            counts[key] = counts.get(key, 0) + 1
            names.setdefault(key, term if _words(term) <= 3 else term.split()[0])
    if title:
        # «Оконные функции: ROW_NUMBER, RANK и DENSE_RANK»: a heading that lists names is
        # about what it lists them under.
        listed = _TITLE_LISTING_RE.match(title)
        if listed and len(list(_latin_names(listed.group("names")))) >= 2:
            return listed.group("head")
        # A heading opens with what it is about («Apache Flink: event time…»). In English
        # every word is Latin: there only a capitalised name past the first word counts.
        if not CYRILLIC_RE.search(title):
            # "Mixture of Experts (MoE) — the short version": the abbreviation it spells.
            abbreviation = _TITLE_ABBREVIATION_RE.search(title)
            if abbreviation:
                return abbreviation.group(1)
            # "Mixture of Experts in one screen": a capitalised name of several words
            # the heading opens with.
            opening = _TITLE_NAME_RE.match(title)
            if opening:
                return opening.group(0)
            # "Raft in plain English": a language or a month is capitalised, no name.
            # "Tech Careers Weekly": where every word is capitalised, none is a name for it.
            named = [
                m.group(0)
                for m in _CAPITALISED_RE.finditer(title)
                if m.start() > 0
                and m.group(0).lower() not in _CAPITALISED_WORDS
                and not _title_cased(title)
            ]
            # «gRPC vs REST», «iOS: …», "ARIMA in plain English": a first word written as
            # a name is one; not an all-caps "TIL" or "FAQ".
            head = title.split(maxsplit=1)[0].rstrip(":,;.!?")
            # "Kafka: offsets, lag and rebalances": a capitalised word a colon follows.
            before_colon = title.split(maxsplit=1)[0].endswith(":")
            if re.fullmatch(LATIN_TOKEN, head) and (
                re.match(r"[a-z]+[A-Z]", head)
                or (len(head) >= 3 and head.isupper() and head not in _TITLE_OPENERS)
                or (before_colon and head[:1].isupper() and head.upper() not in _TITLE_OPENERS)
            ):
                named.insert(0, head)
            return named[0] if named else None
        for term in _latin_names(title):
            return term if _words(term) <= 3 else term.split()[0]
    # Without one in the title, a name is the subject only where the post keeps to it.
    if counts:
        key = max(counts, key=lambda k: counts[k])
        if counts[key] >= max(3, len(sentences) * 0.4):
            return names[key]
    return None


def _without_pictographs_kept_marks(cloze: str) -> str:
    """A front without emoji and keycaps («Kafka хранит 🔥 7 дней» reads «Kafka хранит 7
    дней»); its deletions, which hold none, are untouched."""
    return (
        without_pictographs(cloze)
        if PICTOGRAPH_RE.search(cloze) or KEYCAP_RE.search(cloze)
        else cloze
    )


def _prefixed(question: str, subject: str | None, answers: tuple[str, ...] = ()) -> str:
    """The question with «(Subject) » before it when it does not name the subject (C6);
    never when the subject holds an answer («(OpenAI Swarm) … — {{c1::Swarm}}»)."""
    if not subject:
        return question
    text = question.casefold()
    if subject.casefold() in text or any(a.casefold() in subject.casefold() for a in answers):
        return question
    # «OpenAI написали…» names «OpenAI Swarm» well enough.
    first = subject.casefold().split()[0]
    if len(first) >= 3 and re.search(rf"(?<!\w){re.escape(first)}(?!\w)", text):
        return question
    return f"({subject}) {question}"


# «Source: PyTorch documentation», «Источник: …»: where a post comes from, not what it says.
_ATTRIBUTION_RE = re.compile(
    r"^(?:sources?|источники?|via|credits?|автор|author|фото|photo|image)\s*:", re.IGNORECASE
)


def _noise_lines(lines: list[str], channel: str | None) -> set[int]:
    """Lines that are no part of what the post teaches: a link preview (a site's name and
    the title and description beside it), a signature (handles, hashtags, the channel's
    name), a line with nothing but pictographs."""
    out: set[int] = set()
    for i, line in enumerate(lines):
        text = line.strip()
        if not text:
            continue
        if _DOMAIN_RE.match(text):
            out.add(i)
            for j in (i - 1, i + 1):
                if (
                    0 <= j < len(lines)
                    and lines[j].strip()
                    and (_words(lines[j]) <= MAX_PREVIEW_WORDS)
                ):
                    out.add(j)
            continue
        if _ATTRIBUTION_RE.match(text) or _PREVIEW_TITLE_RE.match(text):
            out.add(i)
            continue
        rest = re.sub(r"[@#][\w.]+|\|", " ", URL_RE.sub(" ", without_pictographs(text)))
        signature = channel and _words(text) <= 8 and normalize(text).startswith(channel)
        if signature or not re.search(r"\w", rest):
            out.add(i)
    return out


_BOLD_END_RE = re.compile(r"(?<=[.!?:]\*\*)\s+")


def _sentences(text: str) -> list[str]:
    """The sentences of a line; a short one is joined to the one before it
    («Имплементировал фичу? Прикрепи PR.» reads as one)."""
    parts: list[str] = []
    # «**3) В контекст улетает всё подряд.** `.dockerignore` исключает…»: Markdown's bold
    # heading ends where its closing asterisks do.
    pieces = [p for chunk in _BOLD_END_RE.split(text) for p in split_sentences(chunk)]
    for sentence in pieces:
        # A list's intro («Встроенных материализаций пять:») stays a sentence of its own,
        # and so does a statement after one: «…, traces. Сегодня про метрики.» is a list
        # and an aside, where «…фичу? Прикрепи PR.» is a question and its answer.
        if (
            parts
            and _words(sentence) < MIN_WORDS
            and not sentence.endswith(":")
            and (parts[-1].endswith(("?", "!")) or sentence.endswith("?"))
        ):
            parts[-1] = f"{parts[-1]} {sentence}"
        else:
            parts.append(sentence)
    return parts


@dataclass
class _Candidate:
    order: int
    choice: _Choice
    quote: str
    answers: tuple[str, ...]


_ANSWER_MARKER_RE = re.compile(r"^(?:A|А|О|Ответ|Answer|Ans)\s*[:.)]\s+(?=\S)")


def card_budget(text: str) -> int:
    """How many cards a post is worth: about one per CHARS_PER_CARD characters, at least 5
    (C9: a post states a handful of facts worth learning; the rest is its setting)."""
    return max(5, round(len(text) / CHARS_PER_CARD))


def generate_offline(post: Post, max_cards: int | None = None) -> list[Card]:
    """Cards for one post: its lists as ordered clozes and the best card of each of its
    best fact-bearing sentences, at most `card_budget` of them and `max_cards` (the best
    ones), in the post's order; the same post always gives the same cards."""
    lines = _joined_continuations(_joined_markers(post.text.split("\n")))
    tags = hashtags(post.text)
    channel = channel_name(post.channel)
    title = _title(lines)
    skipped = _noise_lines(lines, channel)
    if title:
        skipped.add(0)
    candidates: list[_Candidate] = []

    # A list is one card; its items stay sentences of their own for what else they
    # state, but never ask the name the list card asks, and its intro gives no second card.
    list_answers: set[str] = set()
    intros: set[str] = set()
    bare: set[int] = set()  # the lists with no intro
    for block in _lists(lines):
        if block.first in skipped:
            continue
        question = ordered_list_cloze(block.intro, [item.text for item in block.items])
        if not question:
            continue
        start = block.first - 1 if block.intro else block.first
        quote = "\n".join([block.intro or "", *lines[block.first : block.end]]).strip()
        answers = tuple(answer for _, answer in cloze_deletions(question))
        order = start * 10_000
        choice = _Choice(3.5, "cloze", question, fact="list")
        candidates.append(_Candidate(order, choice, quote, answers))
        list_answers.update(answers)
        if block.intro:
            intros.add(block.intro)
        else:
            bare.add(order)

    units: list[tuple[int, str, str, str]] = []  # (line, sentence, its context, the one before)
    last = ""  # the last sentence read
    for number, line in enumerate(lines):
        if number in skipped or not line.strip() or _is_code(line):
            continue
        if URL_RE.fullmatch(line.strip()):
            continue
        item = _item(line)
        # Verbatim, so the Quote is the post's own text; the front drops pictographs later.
        body = item.text if item else line.strip()
        sentences = _sentences(body)
        for i, sentence in enumerate(sentences):
            if sentence in intros:
                continue
            # The Quote is the context the card lacks: the sentences beside it, but not
            # one no field may hold (a template's braces).
            before = sentences[i - 1 : i] if i and _fits_a_field(sentences[i - 1]) else []
            after = [s for s in sentences[i + 1 : i + 2] if _fits_a_field(s)]
            context = " ".join([*before, sentence, *after])
            # «A: CUPED — это…», «Ответ: 429 …»: a Q&A post's marker is no part of the fact.
            sentence = _ANSWER_MARKER_RE.sub("", sentence)
            # «Диапазон по умолчанию в Linux — 32768–60999, то есть около 28 тысяч портов:»
            # states its figure and then shows it: a statement, its colon a full stop.
            if sentence.endswith(":") and _number_spans(sentence) and _words(sentence) >= 8:
                sentence = sentence[:-1] + "."
            # A long sentence is read in clauses, unless it enumerates: «(1) …, (2) …».
            whole = _words(sentence) <= MAX_WORDS or inline_list_cloze(sentence)
            pieces = [sentence] if whole else clauses(sentence)
            # «…из трёх компонентов: VAE, U-Net и CLIP.» ¶ «Это latent diffusion: …»: what
            # a sentence refers back to may close the paragraph before.
            previous = sentences[i - 1] if i else last
            units.extend((number, piece, context, previous) for piece in pieces)
        last = sentences[-1] if sentences else last

    # Terms in 3+ sentences name the post's subject: deletable only where first introduced.
    first_seen: dict[str, int] = {}
    counts: dict[str, int] = {}
    for index, (_, text, _, _) in enumerate(units):
        for key in {_term_key(m.group(0)) for m in LATIN_TERM_RE.finditer(_masked(text))}:
            first_seen.setdefault(key, index)
            counts[key] = counts.get(key, 0) + 1
    common = {key for key, count in counts.items() if count >= 3}
    subject = _subject(title, [text for _, text, _, _ in units])
    # A list with no intro to say what it lists («🙂 9–10 — промоутеры…») gets the subject.
    for i, listed in enumerate(candidates):
        if listed.order in bare:
            question = _prefixed(listed.choice.question, subject, listed.answers)
            choice = dataclasses.replace(listed.choice, question=question)
            candidates[i] = dataclasses.replace(listed, choice=choice)

    # «Вот вы уменьшили p90 latency на 10%…»: a scenario's figures are the scenario's, and
    # a sentence that comes back to one («снижение на 10% — это улучшение») asks nothing.
    scenario = {
        normalize(text[n.start : n.end])
        for _, text, _, _ in units
        if "hypothetical" in _reasons(text)
        for n in _number_spans(text)
    }
    for index, (number, text, context, previous) in enumerate(units):
        # A sentence naming the channel is about the channel (C9), not worth a card.
        if names_channel(normalize(text), channel):
            continue
        allowed = {key for key in common if first_seen[key] == index}
        # «Event time — время, когда событие произошло»: where the sentence defines the
        # post's subject, the subject is what it asks.
        defines = subject and re.match(rf"{re.escape(subject)}\s+[—–]\s", text)
        skip = list_answers | ({subject} if subject and not defines else set())
        choices = sentence_cards(text, common, allowed, skip=skip)
        if not choices:
            # A name given is a fact even where no rule above found a term in it.
            named = naming_card(text, previous, skip)
            choices = [named] if named else []
        for k, choice in enumerate(choices):
            answers = (
                (choice.answer,)
                if choice.kind == "basic"
                else tuple(answer for _, answer in cloze_deletions(choice.question))
            )
            question = _prefixed(_without_pictographs_kept_marks(choice.question), subject, answers)
            if choice.kind == "cloze" and cloze_problem(question):
                # «docs, refactor, 🔥»: a deletion left empty once its emoji is dropped, or
                # any cloze Anki would not render, is no card; the post keeps its others.
                continue
            if choice.fact == "number" and scenario & {normalize(a) for a in answers}:
                continue
            card = dataclasses.replace(choice, question=question)
            order = number * 10_000 + index * 10 + k  # the post's order: line, sentence
            candidates.append(_Candidate(order, card, context, answers))

    budget = card_budget(post.text) if max_cards is None else min(max_cards, card_budget(post.text))
    chosen: list[tuple[int, Card]] = []
    asked: set[str] = set()
    # Best first; the earlier of two equal ones. One card per fact: an answer another card
    # already asks is not asked again.
    view = PostView.of(post)
    for candidate in sorted(candidates, key=lambda c: (-c.choice.score, c.order)):
        if len(chosen) >= budget or candidate.choice.score < MIN_SCORE:
            break
        keys = {normalize(a) for a in candidate.answers}
        if keys & asked and candidate.choice.fact != "list":
            continue
        choice = candidate.choice
        made = Card(
            kind=choice.kind,
            question=choice.question,
            answer=choice.answer if choice.kind == "basic" else (title or ""),
            source_quote=candidate.quote,
            post_id=post.id,
            topic=post.channel,
            tags=tags,
        )
        # A card the quality gates would reject (an answer its other deletions give
        # away, «в статье» for a subject) leaves its place to the next best, not empty.
        if card_reasons(made, view, _GATES):
            continue
        asked |= keys
        chosen.append((candidate.order, made))
    return [card for _, card in sorted(chosen, key=lambda pair: pair[0])]


# A build of at least this many posts makes its offline cards in worker processes: a
# worker's start (an interpreter importing these rules, about 0.3 s) costs what some
# hundreds of posts do, and a small build would only wait for it.
PARALLEL_POSTS = 1000
# Workers at most: each is an interpreter of its own (about 50 MB), and past a few the
# build's checks, in one process, are what it waits for.
MAX_WORKERS = 4
# Posts per task sent to a worker: large enough that passing them costs little beside
# the rules, small enough that the build checks the first cards while the rest are made.
_CHUNK = 64


def generate_offline_all(
    posts: Sequence[Post], max_cards: int | None = None, workers: int | None = None
) -> Iterator[list[list[Card]]]:
    """The cards of each post (generate_offline), a run of posts at a time, in the posts'
    order: made on every core the build may use when there are many posts, so the caller
    checks one run while the workers make the next. The cards are those one process makes.

    A pool that cannot start, or loses a worker, costs no cards: the posts it did not
    answer are made here instead."""
    chunks = [posts[i : i + _CHUNK] for i in range(0, len(posts), _CHUNK)]
    workers = min(_usable_cores(), MAX_WORKERS) if workers is None else workers
    done = 0
    # A daemonic process (a worker of another pool) may not have children.
    if (
        workers > 1
        and len(posts) >= PARALLEL_POSTS
        and not multiprocessing.current_process().daemon
    ):
        try:
            for made in _in_workers(chunks, max_cards, workers):
                done += 1
                yield made
        # A pool that cannot start (no semaphores, a main module that cannot be run
        # again) or loses a worker; the rest is made below, in this process, where an
        # error in the rules themselves is raised again as one process would raise it.
        except (OSError, BrokenProcessPool, RuntimeError, AssertionError):
            pass
    for chunk in chunks[done:]:
        yield _make_all(chunk, max_cards)


def _make_all(posts: Sequence[Post], max_cards: int | None) -> list[list[Card]]:
    return [generate_offline(post, max_cards) for post in posts]


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _worker_start(parent: int) -> None:
    # Ctrl-C is the build's to handle, once: a worker stops when the build stops it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    # A build killed outright (SIGKILL, SIGTERM, the OOM killer) never shuts its pool
    # down: a worker whose parent is gone ends itself instead of waiting forever.
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


@contextlib.contextmanager
def _ctrl_c_held_while_spawning() -> Iterator[None]:
    """Ctrl-C held back (blocked, not lost) while workers are started. A process inherits
    its starter's signal mask across exec, so a spawned worker cannot be interrupted from
    its first instruction, not only once its initializer ignores Ctrl-C: a Ctrl-C while
    it still imported printed a traceback per worker. A Ctrl-C that came meanwhile is
    delivered to the build as the mask is restored."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _in_workers(
    chunks: Sequence[Sequence[Post]], max_cards: int | None, workers: int
) -> Iterator[list[list[Card]]]:
    # Spawned, not forked: a fork copies whatever the parent holds (threads and locks
    # included), and the rules need nothing of it.
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        workers, mp_context=context, initializer=_worker_start, initargs=(os.getpid(),)
    )
    # A few runs ahead per worker: the cards made wait for the build in memory, and not
    # all of them at once.
    pending: deque[Future[list[list[Card]]]] = deque()
    upcoming = iter(chunks)
    try:
        # The first runs start the workers (one per run submitted, up to `workers`).
        with _ctrl_c_held_while_spawning():
            for chunk in itertools.islice(upcoming, 4 * workers):
                pending.append(pool.submit(_make_all, chunk, max_cards))
        while pending:
            made = pending.popleft().result()
            for chunk in itertools.islice(upcoming, 1):
                pending.append(pool.submit(_make_all, chunk, max_cards))
            yield made
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
