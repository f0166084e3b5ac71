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
from flashgen.models import CLOZE_RE, Card, Post, cloze_deletions
from flashgen.text import (
    CYRILLIC_RE,
    KEYCAP_RE,
    LATIN_TERM_RE,
    LATIN_TOKEN,
    NUMBER_SPAN_RE,
    NUMBER_WORD_RE,
    channel_name,
    hashtags,
    normalize,
)

MAX_DELETIONS = 5
MIN_WORDS, MAX_WORDS = 4, 35
MAX_LIST_ITEM_WORDS = 10
MAX_HEAD_WORDS = 5

DEFINITION_RU_RE = re.compile(r"^(?P<x>.{2,80}?)\s+[—–-]\s+это\s+(?P<y>.+?)[.!]?$")
DEFINITION_EN_RE = re.compile(
    r"^(?P<x>[A-Z][^,;]{1,60}?)\s+(?:is|are)\s+(?P<y>(?:a|an|the)\s.+?)[.!]?$"
)
INLINE_ITEM_RE = re.compile(r"(?:(?<=\s)|(?<=^)|(?<=:))\(?(?P<n>\d)\)\s+")
QUOTED_RE = re.compile(r"[«\"]([^«»\"]{2,80})[»\"]")
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
# Code: brackets and assignments, keywords, or a line that is one string literal.
_CODE_LINE_RE = re.compile(
    r"[=(){}\[\];]|^\s*(?:def|class|return|import|from)\b|^\s*[\"'].*[\"'],?\s*$"
)
_STOP_LATIN = frozenset(
    {"a", "an", "the", "and", "or", "of", "in", "on", "to", "is", "are", "it", "ps", "et", "al"}
)


@dataclass(frozen=True)
class _Span:
    start: int
    end: int


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
    """The sentence with URLs, handles, hashtags and keycap bullets blanked, so no fact is
    found inside them."""
    masked = URL_RE.sub(lambda m: " " * len(m.group(0)), sentence)
    masked = KEYCAP_RE.sub(lambda m: " " * len(m.group(0)), masked)
    return re.sub(r"[@#]\w+", lambda m: " " * len(m.group(0)), masked)


def _number_spans(sentence: str) -> list[_Span]:
    masked = _masked(sentence)
    spans = []
    for match in NUMBER_SPAN_RE.finditer(masked):
        before = masked[: match.start()].rstrip()
        # A bare number after a capitalised Latin name is its version (LLaMA 2, ArchDays 2024).
        bare = re.fullmatch(r"\d+(?:[.,]\d+)*", match.group(0))
        name = re.search(rf"{LATIN_TOKEN}$", before)
        if bare and name and not name.group(0).islower() and masked[match.start() - 1] == " ":
            continue
        spans.append(_Span(match.start(), match.end()))
    for match in NUMBER_WORD_RE.finditer(masked):
        spans.append(_Span(match.start(), match.end()))
    return spans


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
        and (_words(m.group(1)) >= 2 or m.group(1)[:1].isupper())
    ]
    cyrillic = bool(CYRILLIC_RE.search(sentence))
    for match in LATIN_TERM_RE.finditer(masked):
        term = match.group(0)
        first_word = term.split()[0]
        if len(term) < 2 or first_word.lower() in _STOP_LATIN or " et al" in term:
            continue
        key = _term_key(term)
        if key in common and key not in allowed_common:
            continue
        if not cyrillic:
            # In English every word is Latin: only names stand out (DPO, PyTorch, GPT-4).
            named = [w for w in term.split() if re.search(r"[A-Z0-9_].*[A-Z0-9_]|^[a-z]+[A-Z]", w)]
            if not named or match.start() == 0:
                continue
        spans.append(_Span(match.start(), match.end()))
    return spans


def _term_key(term: str) -> str:
    return re.sub(r"[^a-z0-9]", "", term.lower().split()[0])


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
    """Spans in priority order, dropping any that overlaps one kept earlier."""
    kept: list[_Span] = []
    for span in spans:
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


def _statement(sentence: str) -> bool:
    """Whether a sentence can carry a card: a statement of sensible length, not noise or code."""
    if sentence.rstrip().endswith("?") or _words(sentence) < MIN_WORDS:
        return False
    # " | " joins a link preview's title to its site name: a heading, not a statement.
    if "{{" in sentence or "}}" in sentence:
        return False  # a template (Helm, Jinja): no card can hold it, the braces mark clozes
    return not (NOISE_SENTENCE_RE.search(sentence) or _is_code(sentence) or " | " in sentence)


def sentence_cloze(
    sentence: str,
    common: set[str],
    allowed_common: set[str] | None = None,
    skip: set[str] | None = None,
    numbers_only: bool = False,
) -> str | None:
    """The cloze text for one sentence, or None when it states no fact worth a card.

    Numbers come first, then terms; a definition only where neither is. `skip` is a
    term a list card already asks for; `numbers_only` keeps only number deletions.
    """
    return next(iter(sentence_clozes(sentence, common, allowed_common, skip, numbers_only)), None)


def sentence_clozes(
    sentence: str,
    common: set[str],
    allowed_common: set[str] | None = None,
    skip: set[str] | None = None,
    numbers_only: bool = False,
) -> list[str]:
    """The cloze texts of one sentence: one over its numbers, one over its terms.

    Numbers and terms are separate notes, so a number card shows the sentence's names as
    its cue and the other way round.
    """
    if not _statement(sentence) or _words(sentence) > MAX_WORDS:
        return []
    groups = [_number_spans(sentence)]
    if not numbers_only:
        terms = _term_spans(sentence, allowed_common or set(), common)
        groups.append([t for t in terms if sentence[t.start : t.end] not in (skip or set())])
        if not any(groups):
            definition = _definition_span(sentence)
            groups = [[definition] if definition else []]
    taken: list[_Span] = []
    out = []
    for group in groups:
        kept = [
            s
            for s in _non_overlapping(taken + group)[len(taken) :]
            if _safe(sentence[s.start : s.end])
        ]
        kept = _not_inside_others(sentence, kept)[:MAX_DELETIONS]
        taken.extend(kept)
        if kept:
            out.append(hide_repeats(_cloze(sentence, kept)))
    return out


def _not_inside_others(text: str, spans: list[_Span]) -> list[_Span]:
    """Drop a deletion whose answer stands inside another ("лучше" in "сильно лучше"):
    the other card would show it."""
    answers = [text[s.start : s.end].casefold() for s in spans]
    return [
        span
        for span, answer in zip(spans, answers, strict=True)
        if not any(
            other != answer and re.search(rf"(?<!\w){re.escape(answer)}(?!\w)", other)
            for other in answers
        )
    ]


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
        if not trimmed or _words(trimmed) > MAX_LIST_ITEM_WORDS or not _safe(trimmed):
            return None
        spans.append(_Span(marker.end(), marker.end() + len(trimmed)))
    if not _statement(sentence):
        return None
    return _cloze(sentence, spans)


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


def _item_span(item: str) -> _Span | None:
    """What a list item's deletion covers: its head term, else the whole short item."""
    head = HEAD_RE.match(item)
    if head and _words(head.group("head")) <= MAX_HEAD_WORDS:
        return _Span(head.start("head"), head.end("head"))
    body = item.rstrip(" .;,")
    return _Span(0, len(body)) if _words(body) <= MAX_LIST_ITEM_WORDS else None


def list_cloze(intro: str | None, items: list[str]) -> str | None:
    """One cloze over an ordered list: a deletion per item, of its head term when it has one."""
    out = [intro] if intro else []
    for number, line in enumerate(items, start=1):
        match = LIST_ITEM_RE.match(line)
        assert match is not None
        item = match.group("item")
        span = _item_span(item)
        if span is None or not _safe(item[span.start : span.end]):
            return None
        out.append(line[: match.start("item")] + _cloze(item, [span], first=number))
    return hide_repeats("\n".join(out))


@dataclass
class _Sentence:
    line: int
    text: str
    skip: str | None  # the head a list card already deletes


def _sentences(lines: list[str], list_heads: dict[int, str | None]) -> list[_Sentence]:
    out: list[_Sentence] = []
    for number, line in enumerate(lines):
        if _is_code(line) or URL_RE.fullmatch(line.strip()):
            continue
        item = LIST_ITEM_RE.match(line)
        body = item.group("item") if item else line
        parts: list[str] = []
        for sentence in split_sentences(body):
            # "Имплементировал фичу? Прикрепи PR." — a short sentence needs the one before it.
            if parts and _words(sentence) < MIN_WORDS:
                parts[-1] = f"{parts[-1]} {sentence}"
            else:
                parts.append(sentence)
        out.extend(_Sentence(number, part, list_heads.get(number)) for part in parts)
    return out


def generate_offline(post: Post, max_cards: int | None = None) -> list[Card]:
    """Cloze cards for one post, at most `max_cards` (the first ones, in the post's order);
    the same post always gives the same cards."""
    lines = post.text.split("\n")
    tags = hashtags(post.text)
    cards: list[Card] = []
    seen: set[str] = set()

    channel = channel_name(post.channel)

    def add(question: str, quote: str) -> None:
        # A sentence naming the channel is about the channel (C9), not worth a card.
        if channel and channel in normalize(quote):
            return
        if question not in seen:
            seen.add(question)
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

    list_heads: dict[int, str | None] = {}
    for first, end in _list_blocks(lines):
        has_intro = first > 0 and lines[first - 1].rstrip().endswith(":")
        start = first - 1 if has_intro else first
        question = list_cloze(lines[first - 1] if has_intro else None, lines[first:end])
        if question:
            add(question, "\n".join(lines[start:end]))
            for number in range(first, end):
                match = LIST_ITEM_RE.match(lines[number])
                span = _item_span(match.group("item")) if match else None
                list_heads[number] = (
                    match.group("item")[span.start : span.end] if span and match else None
                )

    sentences = _sentences(lines, list_heads)
    # Terms in 3+ sentences name the post's subject: deletable only where first introduced.
    first_seen: dict[str, int] = {}
    counts: dict[str, int] = {}
    for index, sentence in enumerate(sentences):
        for key in {_term_key(m.group(0)) for m in LATIN_TERM_RE.finditer(_masked(sentence.text))}:
            first_seen.setdefault(key, index)
            counts[key] = counts.get(key, 0) + 1
    common = {key for key, count in counts.items() if count >= 3}

    for index, sentence in enumerate(sentences):
        if max_cards is not None and len(cards) >= max_cards:
            break  # a long article or a pasted log: enough, and no time lost on the rest
        allowed = {key for key in common if first_seen[key] == index}
        enumeration = inline_list_cloze(sentence.text)
        skip = {sentence.skip} if sentence.skip else set()
        if enumeration:
            add(enumeration, sentence.text)
            skip.update(answer for _, answer in cloze_deletions(enumeration))
        units = [sentence.text] if _words(sentence.text) <= MAX_WORDS else clauses(sentence.text)
        for unit in units:
            for question in sentence_clozes(unit, common, allowed, skip=skip):
                add(question, unit)
    return cards[:max_cards] if max_cards is not None else cards
