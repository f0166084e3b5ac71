"""The text toolkit every stage shares: normal forms, words, numbers by value, Latin terms,
shingles, and where a question's words stand in its evidence."""

from __future__ import annotations

import math
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from functools import lru_cache

_QUOTES = str.maketrans({c: '"' for c in "«»“”„‟″"} | {c: "'" for c in "‘’‚‛′`"})
_QUOTE_PAIRS = tuple((chr(code), str(to)) for code, to in _QUOTES.items())


# Control characters a reader never keeps: Anki takes \x1f for its field separator, and
# the rest are nobody's text. Tab and newline stay; the breaks among them become newlines.
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")
# Half of a UTF-16 pair with no other half (JSON may spell one, "\\ud800"): no encoding
# can write it, so it would fail the first hash or file write of the text.
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_BREAKS = frozenset("\x0b\x0c\x1c\x1d\x1e\u2028\u2029")
# The links a card may carry: the web's and Telegram's. javascript:, data: and the like
# from a post or a front matter never become one.
_LINK_SCHEMES = ("http://", "https://", "tg://")


def readable(text: str) -> str:
    """Text with every line end, form feed and vertical tab as `\\n`, other controls dropped,
    a lone surrogate as U+FFFD."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _CONTROL_RE.search(text):
        text = _CONTROL_RE.sub(lambda m: "\n" if m.group() in _BREAKS else "", text)
    if _SURROGATE_RE.search(text):
        text = _SURROGATE_RE.sub("\ufffd", text)
    return text


def safe_link(url: str | None) -> str | None:
    """The URL when it is a web or Telegram link, else None."""
    if url is None:
        return None
    url = readable(url).strip()
    return url if url.lower().startswith(_LINK_SCHEMES) and " " not in url else None


def spaced(text: str) -> str:
    """NFC with every run of white space one space: the form that tells two copies of one
    line, or two spellings of one chat name, apart only by what was written."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def line_key(line: str) -> str:
    """The form two copies of a line are compared in: spaced, no trailing ellipsis (a
    preview copy cuts a line off with one)."""
    key = spaced(line)
    # endswith, not a regex anchored at $: re tries such a pattern at every position of
    # the line, and a whole post's text is keyed once per post.
    for ellipsis in ("…", "..."):
        if key.endswith(ellipsis):
            return key[: -len(ellipsis)].rstrip()
    return key


_HASHTAG_RE = re.compile(r"(?<![\w#])#([\w]+)")

# A pictograph (emoji) with what may follow it: a variation selector, a joiner and the
# next pictograph, a skin tone.
_PICTOGRAPH = (
    r"[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF]"
    r"[\uFE0F\u200D\U0001F3FB-\U0001F3FF\u2600-\u27BF\U0001F000-\U0001FAFF]*"
)
# A line of reaction counters, copied from under a post with its text («🔥32👍1», "❤️ 12
# 😁 3", «👍 1,2K»): pictographs each with its count, nothing else.
REACTIONS_RE = re.compile(rf"(?:{_PICTOGRAPH}\s*\d+(?:[.,]\d+)?[KkКк]?\s*)+")
# A keycap digit («2️⃣»: the digit, an optional variation selector, the enclosing keycap):
# a list's bullet. It starts with its digit, so REACTIONS_RE never takes it for a count.
KEYCAP_RE = re.compile("[0-9#*]\ufe0f?\u20e3")
PICTOGRAPH_RE = re.compile(_PICTOGRAPH)
# What opens a list item: «1.», «1)», «(1)», a keycap digit, an emoji bullet (✅ 👉) or a
# typographic one. One pattern for the generator that reads lists and the export that
# tells an item in a quote from the same item renumbered on a card.
LIST_MARKER = (
    r"(?:(?P<n>\d{1,2})[.)]|\((?P<p>\d{1,2})\)|(?P<k>\d)\ufe0f?\u20e3"
    rf"|(?P<b>{_PICTOGRAPH}|[•·▪▫◦‣∙*+\-–—➖➤►→✓✔]\ufe0f?))"
)
# Between the items of an inline enumeration: a comma and a space, «и», "and", «или».
LIST_JOIN_RE = re.compile(r",\s+(?:и\s+|а также\s+|and\s+|or\s+|или\s+)?|\s+(?:и|and|or|или)\s+")


def without_pictographs(text: str) -> str:
    """The text without emoji and keycap digits, its spaces collapsed: a heading or a list
    item as a card shows it."""
    return spaced(PICTOGRAPH_RE.sub(" ", KEYCAP_RE.sub(" ", text)))


# A sentence ends at a stop before a capital, a digit or a quote; or before a lower-case
# word when the stop closes a word of three letters or more («…тот самый Hadoop. либо…»,
# as posts written in a hurry have it), abbreviations aside.
SENTENCE_END_RE = re.compile(
    r"(?<=[.!?…])\s+(?=[«\"(A-ZА-ЯЁ0-9])|(?<=[a-zа-яё]{3}[.!?])\s+(?=[a-zа-яё])"
)
_ABBREVIATIONS = (
    "et al.", "т.е.", "т.д.", "т.п.", "т. е.", "т. д.", "e.g.", "i.e.", "vs.", "др.", "etc.",
    "см.", "стр.", "рис.", "табл.", "напр.", "англ.",
)  # fmt: skip
# Each abbreviation as a whole word: «систем.» ends a sentence that «см.» does not. One
# pattern for all, so a line is scanned once.
_ABBREVIATION_RE = re.compile(r"(?<![\w.])(?:" + "|".join(map(re.escape, _ABBREVIATIONS)) + ")")


def split_sentences(line: str) -> list[str]:
    """Sentences of one line; abbreviations such as `et al.` do not end a sentence."""
    # Where an abbreviation ends, a stop is no sentence's end.
    abbreviated = {m.end() for m in _ABBREVIATION_RE.finditer(line)}
    out, start = [], 0
    for end in SENTENCE_END_RE.finditer(line):
        if end.start() in abbreviated:
            continue
        out.append(line[start : end.start()])
        start = end.end()
    out.append(line[start:])
    return [part.strip() for part in out if part.strip()]


def hashtags(text: str) -> tuple[str, ...]:
    """A text's hashtags, without '#', once each, in order."""
    return tuple(dict.fromkeys(_HASHTAG_RE.findall(text)))


# A word for the channel as a subject: its name, signature, hashtags (singular: "каналы"
# in a CNN are not a Telegram channel, nor is "per-channel" quantisation).
CHANNEL_WORD_RE = re.compile(
    r"(?<![-\w])канал(?:а|у|ом|е)?\b"
    r"|(?<![-\w])(?<!per\s)channel(?:'s)?\b(?!-)"
    r"|(?<![\w@])@[A-Za-z]\w{3,}"
    r"|\btelegram\b",
    re.IGNORECASE,
)
# A channel name of this many words is a title, not words a post uses for its topic.
CHANNEL_TITLE_WORDS = 3


def names_channel(text: str, channel: str | None) -> bool:
    """Whether a text in normal form names the channel (`channel_name`): a name of three or
    more words anywhere («Библиотека собеса по Data Science»), a shorter one beside a word
    for a channel («канал Качество данных»). A channel named for its topic («Качество
    данных», "Data Science") is, without such a word, the topic a sentence is about."""
    if not channel or channel not in text:
        return False
    return len(channel.split()) >= CHANNEL_TITLE_WORDS or bool(CHANNEL_WORD_RE.search(text))


def channel_name(channel: str) -> str | None:
    """A channel's name in normal form, to find it in a text; None for a file name standing
    in for a channel ("notes"), too common a word to match on."""
    name = channel.strip()
    named = len(name) >= 4 and (not name.isascii() or not name.islower() or " " in name)
    return normalize(name) if named else None


def join_answers(answers: Iterable[str]) -> str:
    """A card's answers as one text: the deletions of a cloze, in order."""
    return " | ".join(answers)


# The short texts normalised again and again (answers, questions, words) are memoised; a
# whole post is normalised once where it is used (PostView) and not kept alive here: a
# cache of 8,192 posts held tens of megabytes of text a large build had finished with.
MEMO_CHARS = 300


def normalize(text: str) -> str:
    """Text as compared for grounding and duplicates: NFC, one kind of quote, folded case."""
    return _normalize_short(text) if len(text) <= MEMO_CHARS else _normalize(text)


def _normalize(text: str) -> str:
    return _unfold(text).casefold()


def _unfold(text: str, *, lines: bool = False) -> str:
    """normalize short of folding case: the form whose words keep their capitals; with
    `lines`, its line breaks kept (a line of a post ends its sentence)."""
    text = unicodedata.normalize("NFC", text)
    # str.translate maps a Cyrillic text char by char through a dict (a tenth of a
    # cached rebuild); a replace per quote the text holds is C all the way.
    for quote, plain_quote in _QUOTE_PAIRS:
        if quote in text:
            text = text.replace(quote, plain_quote)
    text = text.replace("ё", "е").replace("Ё", "Е")
    if lines:
        return "\n".join(" ".join(line.split()) for line in text.split("\n"))
    return " ".join(text.split())


_normalize_short = lru_cache(maxsize=8192)(_normalize)


def words(text: str) -> list[str]:
    """Words of a text; a decimal such as 0,2 is one word, not two."""
    return re.findall(r"\d+(?:[.,]\d+)+|[\w'’-]+", text)


def plain(text: str) -> str:
    """The words of the normal form, one space apart: case, spacing and punctuation aside."""
    return " ".join(words(normalize(text)))


# Number words by value, in the forms posts and cards use (cases included).
_NUMBER_WORDS: dict[float, tuple[str, ...]] = {
    0: ("ноль", "нуля", "нулю", "zero"),
    1: ("один", "одна", "одно", "одного", "одной", "одному", "одним", "одну", "one"),
    2: ("два", "две", "двух", "двум", "двумя", "two", "twice", "оба", "обе"),
    3: ("три", "трех", "трем", "тремя", "three", "thrice"),
    4: ("четыре", "четырех", "четырем", "четырьмя", "four"),
    5: ("пять", "пяти", "пятью", "five"),
    6: ("шесть", "шести", "шестью", "six"),
    7: ("семь", "семи", "семью", "seven"),
    8: ("восемь", "восьми", "восемью", "eight"),
    9: ("девять", "девяти", "девятью", "nine"),
    10: ("десять", "десяти", "десятью", "ten"),
    11: ("одиннадцать", "одиннадцати", "eleven"),
    12: ("двенадцать", "двенадцати", "twelve"),
    15: ("пятнадцать", "пятнадцати", "fifteen"),
    20: ("двадцать", "двадцати", "twenty"),
    30: ("тридцать", "тридцати", "thirty"),
    40: ("сорок", "сорока", "forty"),
    50: ("пятьдесят", "пятидесяти", "fifty"),
    100: ("сто", "ста", "сотня", "сотни", "hundred"),
    1000: ("тысяча", "тысячи", "тысячу", "тысяч", "thousand"),
    1e6: ("миллион", "миллиона", "миллионов", "million"),
    1e9: ("миллиард", "миллиарда", "миллиардов", "billion"),
}
_WORD_VALUE = {form: value for value, forms in _NUMBER_WORDS.items() for form in forms}
# The number words a cloze may delete: two to twelve and the round multiples. Not «один» or
# "one" (as often an article or a pronoun), «оба», "twice" (no number to recall), «сто»,
# «ста» (a preposition's look-alike); written with ё or е alike.
_DELETABLE_WORDS = sorted(
    {f for v, forms in _NUMBER_WORDS.items() if 2 <= v <= 12 for f in forms}
    - {"оба", "обе", "twice", "thrice"}
    | {"сотни", "тысячи", "hundred", "thousand"},
    key=lambda f: (-len(f), f),
)
NUMBER_WORD_RE = re.compile(
    rf"(?<![\w-])(?:{'|'.join(f.replace('е', '[её]') for f in _DELETABLE_WORDS)})(?![\w-])",
    re.IGNORECASE,
)
_MULTIPLIERS = {
    "k": 1e3, "к": 1e3, "тыс": 1e3, "тысяч": 1e3, "тысячи": 1e3, "thousand": 1e3,
    "m": 1e6, "м": 1e6, "млн": 1e6, "million": 1e6, "миллионов": 1e6, "миллиона": 1e6,
    "b": 1e9, "млрд": 1e9, "billion": 1e9, "миллиардов": 1e9, "миллиарда": 1e9,
}  # fmt: skip
# The words of magnitude, not the one-letter «k», «m» a binding of units cannot tell from
# other letters.
MAGNITUDE_WORDS = {word: value for word, value in _MULTIPLIERS.items() if len(word) > 1}
# A number in digits: 576, 0,2, 1.5e-3. Values and spans below share it.
NUM = r"\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?"
# By value, a number's unit counts when it scales it (576 тысяч = 576000); by span (a cloze
# deletion, NUMBER_SPAN_RE), every unit that belongs to it counts, so none is left as a hint.
_DIGITS_RE = re.compile(
    rf"(?<![\w.,])({NUM})(?:\s?(%|k|к|m|м|b|тыс|тысяч[иа]?|млн|млрд|"
    r"thousand|million|billion|миллион(?:ов|а)?|миллиард(?:ов|а)?)(?![\w]))?"
)
_MONTHS = (
    "января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря|"
    "January|February|March|April|May|June|July|August|September|October|November|December"
)
_UNIT = (
    r"(?:\s?%|[kKкКmMмМbBтТ](?![\w])|\s?(?:тыс\.|тысяч[а-я]*|млн|млрд|миллион[а-я]*|"
    r"миллиард[а-я]*|thousand|million|billion|GB|ГБ|MB|МБ|TB|ТБ|ms|мс|px|x|×)(?![\w]))"
)
# Where a number stands, as a cloze deletes it: a date, a range, or digits with their unit.
NUMBER_SPAN_RE = re.compile(
    # Not inside a name: «python:3.12-slim» is an image, not a figure.
    rf"(?<![\w.,\-/#@])(?<![A-Za-z]:)(?:"
    rf"\d{{1,2}}\s(?:{_MONTHS})(?:\s\d{{4}}(?:\s(?:года|г\.))?)?"  # 30 октября 2024 года
    rf"|{NUM}\s?[-–—]\s?{NUM}{_UNIT}?"  # 10-30, 5–7%
    r"|\d+/\d+(?![\d/])"  # 1/3: a fraction is one number, not two
    rf"|{NUM}{_UNIT}?"
    rf")(?![\w)])"
)
# A figure a parenthesis closes on, «(по умолчанию 5)»: NUMBER_SPAN_RE leaves out one
# before «)», where «1)» marks a list item; a figure whose parenthesis opened before it is
# none (offline generation checks that).
CLOSING_NUMBER_RE = re.compile(rf"(?<![\w.,\-/#@(])(?<=\s){NUM}{_UNIT}?(?=\))")
# Words that are numbers by themselves («шесть», "six"): a word outside these that does
# not start with a digit states no number.
NUMBER_WORDS = frozenset(_WORD_VALUE)


def number_values(text: str) -> set[float]:
    """Every number a text states, by value: 0,2 = 0.2; «шесть» = 6 = six; 576 тысяч = 576000."""
    if len(text) > MEMO_CHARS:
        return set(folded_number_values(normalize(text)))
    return set(_number_values(text))


# An answer's numbers are asked for by several rules and the duplicate search.
@lru_cache(maxsize=4096)
def _number_values(text: str) -> frozenset[float]:
    return folded_number_values(normalize(text))


def folded_number_values(folded: str) -> frozenset[float]:
    """number_values of a text already normalised (a whole post, once)."""
    values: set[float] = set()
    for match in _DIGITS_RE.finditer(folded):
        try:
            value = float(match.group(1).replace(",", "."))
        except ValueError:
            continue
        values.add(value)
        unit = match.group(2)
        if unit and unit in _MULTIPLIERS:
            values.add(value * _MULTIPLIERS[unit])
    # The digits are blanked first, so «576 тысяч» does not also count as «тысяч» = 1000.
    for word in words(_DIGITS_RE.sub(" ", folded)):
        # "five-point", «пяти-балльной»: a number word may open a compound.
        for part in word.split("-"):
            if part in _WORD_VALUE:
                values.add(_WORD_VALUE[part])
    return frozenset(values)


# Capitalised English words that begin answers without being terms.
_COMMON_EN = frozenset(
    """a an the it its this that these those they he she we you i in on at by for from of to
    with without and or but not no yes true false is are was were be been has have had do does
    did can could should would will may might must one two three four five six seven eight nine
    ten because when where which what who how why if then than so as about after before during
    into over under between through per each every all both some many most more less few only
    also just very first second third last new old same other such via using used use uses
    instead rather only its their them our your his her""".split()
)
LATIN_TOKEN = r"[A-Za-z][A-Za-z0-9_]*(?:[-+.'][A-Za-z0-9_]+|/\d+(?:\.\d+)?(?![\w/]))*"
_LATIN_RE = re.compile(rf"(?<![\w]){LATIN_TOKEN}")
# A name of up to four Latin words, as a cloze deletes it; a version number belongs to the
# name before it (LLaMA 3.1), so it is never split off.
LATIN_TERM_RE = re.compile(
    rf"(?<![\w@#/.:-]){LATIN_TOKEN}(?:\s{LATIN_TOKEN}){{0,3}}"
    rf"(?:\s\d+(?:\.\d+)*(?!\w|[.,]\d))?(?![\w-])"
)
CYRILLIC_RE = re.compile(r"[А-Яа-яЁё]")


def latin_terms(text: str) -> list[str]:
    """Latin-script tokens that name something (DPO, SemDedup, S3), not plain English words.

    In a Cyrillic text every Latin token is a term. In an English text a term has a
    capital letter past its first, a digit, or an initial capital on an uncommon word.
    """
    cyrillic = bool(CYRILLIC_RE.search(text))
    terms = []
    for match in _LATIN_RE.finditer(text):
        token = match.group(0).strip(".'")
        if len(token) < 2 and not cyrillic:
            continue
        if (
            cyrillic
            or re.search(r"[A-Z0-9_]", token[1:])
            or (token[0].isupper() and token.lower() not in _COMMON_EN)
        ):
            terms.append(token)
    return terms


def shingles(text: str, size: int = 3) -> set[str]:
    """Character shingles of the words of a text, punctuation ignored."""
    joined = " ".join(words(normalize(text)))
    if len(joined) <= size:
        return {sys.intern(joined)} if joined else set()
    # Interned: a build holds millions of shingles but a few thousand distinct ones, so
    # its sets share one string for each (half of a large build's memory otherwise).
    return {sys.intern(joined[i : i + size]) for i in range(len(joined) - size + 1)}


def similarity(a: str, b: str, *, containment: bool = False) -> float:
    """Jaccard similarity of character 3-gram shingles or of word sets, whichever is larger.

    With `containment`, word sets are compared by overlap with the smaller one, so an
    answer inside another ("шесть" in "шесть раундов") counts as the same answer.
    """
    sa, sb = shingles(a), shingles(b)
    chars = len(sa & sb) / len(sa | sb) if sa or sb else 1.0
    wa, wb = set(words(normalize(a))), set(words(normalize(b)))
    if not wa or not wb:
        return chars if wa or wb else 1.0
    base = min(len(wa), len(wb)) if containment else len(wa | wb)
    return max(chars, len(wa & wb) / base)


def token_ranks(counts: Counter[str]) -> dict[str, int]:
    """Each token's place in one global order, rarest first (ties broken by the token)."""
    return {token: i for i, token in enumerate(sorted(counts, key=lambda t: (counts[t], t)))}


def rarest_prefix(
    tokens: Collection[str], rank: dict[str, int], threshold: float, extra: int = 0
) -> list[str]:
    """Prefix filtering: two sets with Jaccard >= t share one of the first n - ceil(t·n) + 1
    tokens of each, tokens in one global order (rarest first keeps the postings short);
    with `extra` = 1, two of the first n - ceil(t·n) + 2 (when they must share two)."""
    ordered = sorted(tokens, key=rank.__getitem__)
    return ordered[: max(len(ordered) - math.ceil(threshold * len(ordered)) + 1 + extra, 1)]


# Words that carry no subject of their own: a card's answer or question shares them with
# any sentence, so they are no evidence of what it is about.
FUNCTION_WORDS = frozenset(
    "и в во на с со к о об от по для из за у а но или что как это the a an of in on to for "
    "and or is are with by at from".split()
)
# Question words and verbs of asking, which a question has and its evidence sentence does not.
QUESTION_WORDS = frozenset(
    "какой какая какое какие каким какую каких каком сколько кто кого чем чему что где когда "
    "зачем почему ли какова каков каковы назовите называется означает "
    "what which who whom whose how when where why does do did is are was were".split()
)
# Punctuation that closes a clause, or a parenthesis: a word across it from the answer is
# about something else («HDFS (…) и YARN (Yet Another Resource Negotiator)»). Words keep
# decimals such as 0,2 whole, so the comma here is never inside a number.
_WORD_RE = re.compile(r"\d+(?:[.,]\d+)+|[\w'’-]+")
# A dot inside a name is followed by a small letter or a digit: «PPO.В» is two sentences
# glued, not a name.
_DOTTED_WORD_RE = re.compile(r"\d+(?:[.,]\d+)+|[^\W\d][\w-]*(?:\.(?![A-ZА-ЯЁ])[\w-]+)+|[\w'’-]+")
_BREAK = r"(?P<b>[,;:.!?)\n])"  # what closes a clause
_SCAN_RE = re.compile(f"(?P<w>{_WORD_RE.pattern})|{_BREAK}")
_DOTTED_SCAN_RE = re.compile(f"(?P<w>{_DOTTED_WORD_RE.pattern})|{_BREAK}")


def same_stem(a: str, b: str) -> bool:
    """Whether two folded words are one word in another form (Russian cases, English -s/-ed):
    equal, or long enough and differing only in their last three letters."""
    if a == b:
        return True
    if a[0].isdigit() or b[0].isdigit():
        return False
    shorter = min(len(a), len(b))
    if shorter < 4:
        return False
    keep = max(4, shorter - 3)
    return a[:keep] == b[:keep]


def positioned_words(text: str, *, dotted: bool = False) -> list[tuple[str, int, int, bool]]:
    """Each word of a text as written (NFC, one kind of quote), with the number of clause
    breaks and of sentence breaks before it: what tells how close two words stand.
    `dotted` keeps a dotted name one word («retention.ms», "torch.optim.AdamW"). The last
    member tells whether only spaces part the word from the one before («LLaMA 3»)."""
    unfolded = _unfold(text, lines=True)
    out: list[tuple[str, int, int, bool]] = []
    clause = sentence = pos = 0
    # One pass over words and breaks alike: no break can open a word, so the words are
    # those the word pattern alone finds, and the breaks those between them.
    for match in (_DOTTED_SCAN_RE if dotted else _SCAN_RE).finditer(unfolded):
        found = match.group()
        if match.lastgroup == "b":
            clause += 1
            # A decimal point is inside a word, so every full stop here ends a sentence.
            sentence += found in ".!?\n"
            continue
        start = match.start()
        out.append((found, clause, sentence, start == pos or unfolded[pos:start].isspace()))
        pos = match.end()
    return out


@lru_cache(maxsize=1024)
def _tokens(text: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The folded words of a text, and for each the number of clause breaks before it."""
    # Folded whole first, then split: the words and breaks of the normal form, as the
    # duplicate search has always weighed them (its lines joined, «İ» folded in place).
    # Memoised: the cards of one sentence share their evidence, and are weighed together.
    found = positioned_words(normalize(text))
    return tuple(w[0] for w in found), tuple(w[1] for w in found)


def _by_head(tokens: Sequence[str]) -> dict[str, list[int]]:
    """Positions of words by their first four letters, which any two forms of one word
    share (same_stem): a word is tried against those, not against every word."""
    heads: dict[str, list[int]] = {}
    for p, token in enumerate(tokens):
        heads.setdefault(token[:4], []).append(p)
    return heads


def _answer_spans(
    tokens: Sequence[str], heads: dict[str, list[int]], answers: tuple[str, ...] | list[str]
) -> list[range]:
    """Where the answers stand among the evidence's words: each whole occurrence, else each
    word of theirs found alone."""
    spans: list[range] = []
    for answer in answers:
        wanted = words(normalize(answer))
        if not wanted:
            continue
        size = len(wanted)
        for start in heads.get(wanted[0][:4], ()):
            if start + size <= len(tokens) and all(
                same_stem(t, w) for t, w in zip(tokens[start : start + size], wanted, strict=True)
            ):
                spans.append(range(start, start + size))
    if spans:
        return spans
    wanted_all = [w for answer in answers for w in words(normalize(answer))]
    places = sorted({p for w in wanted_all for p in heads.get(w[:4], ())})
    return [range(p, p + 1) for p in places if any(same_stem(tokens[p], w) for w in wanted_all)]


def word_forms(word: str) -> list[str]:
    """A word and the parts of a compound it names: «A/B-тест» names «тест», "BERT-base"
    names "BERT"."""
    if "-" not in word:
        return [word]
    return [word, *(part for part in word.split("-") if len(part) > 2)]


def nearness(distance: int, breaks: int) -> float:
    """How close two words of one sentence stand: 1 side by side in one clause, half eight
    words apart, a third across a comma or a full stop (the clause tells more than the
    distance)."""
    return 1.0 / (1 + 2 * breaks) / (1 + (distance - 1) / 8)


def anchor_weights(
    question: str, quote: str, answers: tuple[str, ...] | list[str]
) -> dict[str, float]:
    """The evidence's words that a question names besides its answer, each weighed by how
    close it stands to the answer there: 1 next to it in its clause, half eight words away,
    a third across a comma or a full stop (the clause tells more than the distance). What
    tells two questions of one sentence apart, and which of them the sentence backs."""
    return dict(_anchor_weights(question, quote, tuple(answers)))


@lru_cache(maxsize=4096)
def _anchor_weights(
    question: str, quote: str, answers: tuple[str, ...]
) -> tuple[tuple[str, float], ...]:
    tokens, clauses = _tokens(quote)
    by_head = _by_head(tokens)
    spans = _answer_spans(tokens, by_head, answers)
    answer_words = [w for a in answers for w in words(normalize(a))]
    found: dict[str, float] = {}
    for word in words(normalize(question)):
        if word in FUNCTION_WORDS or word in QUESTION_WORDS:
            continue
        # «A/B-тест» names «тест»; «BERT-base» names «BERT».
        forms = word_forms(word)
        if any(same_stem(form, a) for form in forms for a in answer_words):
            continue
        places = sorted({p for form in forms for p in by_head.get(form[:4], ())})
        for p in places:
            token = tokens[p]
            if not any(same_stem(form, token) for form in forms):
                continue
            weight = 0.0
            for span in spans:
                if p in span:
                    continue
                near = span.start if p < span.start else span.stop - 1
                breaks = abs(clauses[p] - clauses[near])
                weight = max(weight, nearness(abs(p - near), breaks))
            found[token] = max(found.get(token, 0.0), weight)
    return tuple(found.items())


def support(question: str, quote: str, answers: tuple[str, ...] | list[str]) -> float:
    """How well the evidence sentence backs a question's pairing with its answer: the sum of
    its anchor weights. «Если в LLaMA 2 использовался PPO, то в LlaMA 3 — DPO» backs "which
    method does LLaMA 3 use? DPO" more than "which method did LLaMA 2 use? DPO"."""
    return sum(anchor_weights(question, quote, answers).values())
