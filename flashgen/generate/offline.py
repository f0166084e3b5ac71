"""The offline generator: cloze cards from fact-bearing sentences, no model, deterministic.

A fact here is something a sentence states that a learner can recall exactly: a number
with its unit, a Latin-script term in a Russian sentence (DPO, YTsaurus), the short side
of a definition (`X — это Y`, `X is Y`), or the items of a numbered list.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from flashgen.clean import URL_RE
from flashgen.models import Card, Post

MAX_DELETIONS = 3
MIN_WORDS, MAX_WORDS = 5, 45
MAX_LIST_ITEM_WORDS = 10
MAX_HEAD_WORDS = 5

_MONTHS = (
    "января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря|"
    "January|February|March|April|May|June|July|August|September|October|November|December"
)
_NUM = r"\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?"
# Units that belong to the number: deleting "25" from "25%" would leave the unit as a hint.
_UNIT = (
    r"(?:\s?%|[kKкКmMмМbBтТ](?![\w])|\s?(?:тыс\.|тысяч[а-я]*|млн|млрд|миллион[а-я]*|"
    r"миллиард[а-я]*|thousand|million|billion|GB|ГБ|MB|МБ|TB|ТБ|ms|мс|px|x|×)(?![\w]))"
)
NUMBER_RE = re.compile(
    rf"(?<![\w.,\-/#@])(?:"
    rf"\d{{1,2}}\s(?:{_MONTHS})(?:\s\d{{4}}(?:\s(?:года|г\.))?)?"  # 30 октября 2024 года
    rf"|{_NUM}\s?[-–—]\s?{_NUM}{_UNIT}?"  # 10-30, 5–7%
    rf"|{_NUM}{_UNIT}?"
    rf")(?![\w)])"
)
_NUMBER_WORDS = (
    "два|две|двух|двум|двумя|три|трёх|трех|трём|трем|тремя|четыре|четырёх|четырех|четырём|"
    "четырем|четырьмя|пять|пяти|пятью|шесть|шести|шестью|семь|семи|семью|восемь|восьми|"
    "девять|девяти|десять|десяти|двенадцать|сотни|тысячи|"
    "two|three|four|five|six|seven|eight|nine|ten|twelve|hundred|thousand"
)
NUMBER_WORD_RE = re.compile(rf"(?<![\w-])(?:{_NUMBER_WORDS})(?![\w-])", re.IGNORECASE)
_LATIN_TOKEN = r"[A-Za-z][A-Za-z0-9]*(?:[-+.'][A-Za-z0-9]+)*"
# A version number belongs to the name before it (LLaMA 3.1), so it is never split off.
LATIN_TERM_RE = re.compile(
    rf"(?<![\w@#/.:-]){_LATIN_TOKEN}(?:\s{_LATIN_TOKEN}){{0,3}}(?:\s\d+(?:\.\d+)*(?![\w.,]))?(?![\w-])"
)
CYRILLIC_RE = re.compile(r"[А-Яа-яЁё]")
DEFINITION_RU_RE = re.compile(r"^(?P<x>.{2,80}?)\s+[—–-]\s+это\s+(?P<y>.+?)[.!]?$")
DEFINITION_EN_RE = re.compile(
    r"^(?P<x>[A-Z][^,;]{1,60}?)\s+(?:is|are)\s+(?P<y>(?:a|an|the)\s.+?)[.!]?$"
)
LIST_ITEM_RE = re.compile(r"^\s*\(?(?P<n>\d{1,2})[.)]\s+(?P<item>\S.*)$")
HEAD_RE = re.compile(r"^(?P<head>.+?)(?:\s+[—–-]\s+|:\s+)(?P<rest>.+)$")
SENTENCE_END_RE = re.compile(r"(?<=[.!?…])\s+(?=[«\"(A-ZА-ЯЁ0-9])")
_ABBREVIATIONS = ("et al.", "т.е.", "т.д.", "т.п.", "т. е.", "т. д.", "e.g.", "i.e.", "vs.", "др.")
# Sentences about the channel itself, its readers or ads are not worth learning (C9).
NOISE_SENTENCE_RE = re.compile(
    r"канал|подписчик|подпис(?:ывайтесь|аться)|читающих|реклам|промокод|"
    r"subscriber|subscribe|our channel|sponsored",
    re.IGNORECASE,
)
HASHTAG_RE = re.compile(r"(?<![\w#])#([\w]+)")
_CODE_LINE_RE = re.compile(r"[=(){}\[\];]|^\s*(?:def|class|return|import|from)\b")
_STOP_LATIN = frozenset(
    {"a", "an", "the", "and", "or", "of", "in", "on", "to", "is", "are", "it", "ps", "et", "al"}
)


@dataclass(frozen=True)
class _Span:
    start: int
    end: int


def hashtags(text: str) -> tuple[str, ...]:
    """The post's hashtags, without '#', once each, in order."""
    return tuple(dict.fromkeys(HASHTAG_RE.findall(text)))


def split_sentences(line: str) -> list[str]:
    """Sentences of one line; abbreviations such as `et al.` do not end a sentence."""
    guarded = line
    for i, abbreviation in enumerate(_ABBREVIATIONS):
        guarded = guarded.replace(abbreviation, f"\x00{i}\x00")
    parts = SENTENCE_END_RE.split(guarded)
    out = []
    for part in parts:
        for i, abbreviation in enumerate(_ABBREVIATIONS):
            part = part.replace(f"\x00{i}\x00", abbreviation)
        if part.strip():
            out.append(part.strip())
    return out


def _is_code(line: str) -> bool:
    return not CYRILLIC_RE.search(line) and bool(_CODE_LINE_RE.search(line))


def _words(text: str) -> int:
    return len(text.split())


def _masked(sentence: str) -> str:
    """The sentence with URLs, handles and hashtags blanked, so no fact is found inside them."""
    masked = URL_RE.sub(lambda m: " " * len(m.group(0)), sentence)
    return re.sub(r"[@#]\w+", lambda m: " " * len(m.group(0)), masked)


def _number_spans(sentence: str) -> list[_Span]:
    masked = _masked(sentence)
    spans = []
    for match in NUMBER_RE.finditer(masked):
        before = masked[: match.start()].rstrip()
        # A bare number after a capitalised Latin name is its version (LLaMA 2, ArchDays 2024).
        bare = re.fullmatch(r"\d+(?:[.,]\d+)*", match.group(0))
        name = re.search(rf"{_LATIN_TOKEN}$", before)
        if bare and name and not name.group(0).islower() and masked[match.start() - 1] == " ":
            continue
        spans.append(_Span(match.start(), match.end()))
    for match in NUMBER_WORD_RE.finditer(masked):
        spans.append(_Span(match.start(), match.end()))
    return spans


def _term_spans(sentence: str, common: set[str]) -> list[_Span]:
    """Latin-script terms in a sentence written mostly in Cyrillic, minus the post's subject."""
    if not CYRILLIC_RE.search(sentence):
        return []
    masked = _masked(sentence)
    spans = []
    for match in LATIN_TERM_RE.finditer(masked):
        term = match.group(0)
        first_word = term.split()[0].lower()
        if len(term) < 2 or first_word in _STOP_LATIN or _term_key(term) in common:
            continue
        if " et al" in term:  # "Long et al." names authors, not a term
            continue
        spans.append(_Span(match.start(), match.end()))
    return spans


def _term_key(term: str) -> str:
    return re.sub(r"[^a-z0-9]", "", term.lower().split()[0])


def _common_terms(post: Post) -> set[str]:
    """Terms that name what the whole post is about (in 3+ sentences): a cue, not an answer."""
    counts: dict[str, int] = {}
    for line in post.text.split("\n"):
        for sentence in split_sentences(line):
            seen = {_term_key(m.group(0)) for m in LATIN_TERM_RE.finditer(_masked(sentence))}
            for key in seen:
                counts[key] = counts.get(key, 0) + 1
    return {key for key, count in counts.items() if count >= 3}


def _definition_span(sentence: str) -> _Span | None:
    for pattern in (DEFINITION_RU_RE, DEFINITION_EN_RE):
        match = pattern.match(sentence)
        if not match:
            continue
        y = match.group("y").strip()
        if _words(y) <= 6:
            return _Span(match.start("y"), match.start("y") + len(y))
        if _words(match.group("x")) <= MAX_HEAD_WORDS:
            return _Span(match.start("x"), match.end("x"))
    return None


def _non_overlapping(spans: list[_Span]) -> list[_Span]:
    kept: list[_Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if all(span.start >= k.end or span.end <= k.start for k in kept):
            kept.append(span)
    return kept


def _cloze(text: str, spans: list[_Span], first: int = 1) -> str:
    out, pos = [], 0
    for number, span in enumerate(sorted(spans, key=lambda s: s.start), start=first):
        out.append(text[pos : span.start])
        out.append(f"{{{{c{number}::{text[span.start : span.end]}}}}}")
        pos = span.end
    out.append(text[pos:])
    return "".join(out)


def _safe(answer: str) -> bool:
    return bool(answer.strip()) and "::" not in answer and "{" not in answer and "}" not in answer


def sentence_cloze(sentence: str, common: set[str], numbers_only: bool = False) -> str | None:
    """The cloze text for one sentence, or None when it states no fact worth a card.

    `numbers_only` is for sentences a list card already covers: only a number is news there.
    """
    words = _words(sentence)
    if words < MIN_WORDS or words > MAX_WORDS or sentence.rstrip().endswith("?"):
        return None
    # " | " joins a link preview's title to its site name: a heading, not a statement.
    if NOISE_SENTENCE_RE.search(sentence) or _is_code(sentence) or " | " in sentence:
        return None
    spans = _non_overlapping(_number_spans(sentence))
    if not spans and not numbers_only:
        definition = _definition_span(sentence)
        spans = [definition] if definition else _non_overlapping(_term_spans(sentence, common))
    spans = [s for s in spans if _safe(sentence[s.start : s.end])][:MAX_DELETIONS]
    return _cloze(sentence, spans) if spans else None


def _list_blocks(lines: list[str]) -> Iterator[tuple[int, int]]:
    """(first, end) line ranges of numbered lists 1, 2, 3… with at least two items."""
    i = 0
    while i < len(lines):
        match = LIST_ITEM_RE.match(lines[i])
        if not match or match.group("n") != "1":
            i += 1
            continue
        j, expected = i + 1, 2
        while j < len(lines):
            item = LIST_ITEM_RE.match(lines[j])
            if not item or int(item.group("n")) != expected:
                break
            j, expected = j + 1, expected + 1
        if j - i >= 2:
            yield i, j
        i = max(j, i + 1)


def list_cloze(intro: str | None, items: list[str]) -> str | None:
    """One cloze over an ordered list: a deletion per item, of its head term when it has one."""
    out = [intro] if intro else []
    for number, line in enumerate(items, start=1):
        match = LIST_ITEM_RE.match(line)
        assert match is not None
        item = match.group("item")
        marker = line[: match.start("item")]
        head = HEAD_RE.match(item)
        if head and _words(head.group("head")) <= MAX_HEAD_WORDS:
            span = _Span(head.start("head"), head.end("head"))
        else:
            body = item.rstrip(" .;,")
            if _words(body) > MAX_LIST_ITEM_WORDS:
                return None
            span = _Span(0, len(body))
        if not _safe(item[span.start : span.end]):
            return None
        out.append(marker + _cloze(item, [span], first=number))
    return "\n".join(out)


def generate_offline(post: Post) -> list[Card]:
    """Cloze cards for one post; the same post always gives the same cards."""
    lines = post.text.split("\n")
    tags = hashtags(post.text)
    common = _common_terms(post)
    cards: list[Card] = []
    quotes: set[str] = set()

    def add(question: str, quote: str) -> None:
        if quote not in quotes:
            quotes.add(quote)
            cards.append(
                Card(
                    kind="cloze",
                    question=question,
                    source_quote=quote,
                    post_id=post.id,
                    topic=post.channel,
                    tags=tags,
                )
            )

    in_list_card: set[int] = set()
    for first, end in _list_blocks(lines):
        has_intro = first > 0 and lines[first - 1].rstrip().endswith(":")
        start = first - 1 if has_intro else first
        question = list_cloze(lines[first - 1] if has_intro else None, lines[first:end])
        if question:
            add(question, "\n".join(lines[start:end]))
            in_list_card.update(range(start, end))

    for number, line in enumerate(lines):
        if _is_code(line) or URL_RE.fullmatch(line.strip()):
            continue
        item = LIST_ITEM_RE.match(line)
        body = item.group("item") if item else line
        for sentence in split_sentences(body):
            question = sentence_cloze(sentence, common, numbers_only=number in in_list_card)
            if question:
                add(question, sentence)
    return cards
