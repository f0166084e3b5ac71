"""Answer binding: a card's answer is the one its post pairs with what the question names.

A model that writes «Какой метод использовался в LLaMA 2? — DPO» from «Если в LLaMA 2
использовался PPO, то в LLaMA 3 — DPO» has every word of its card in the post and still
says what the post does not. The post tells which: the question's distinctive words stand
next to PPO, not DPO. Three checks, each a named reason with its evidence:

- answer-not-bound: none of the answer's words is in the post, or another candidate of
  the answer's type (a number, a term) stands nearer to what the question names;
- unit-mismatch: the answer's number is in the post with another unit or magnitude
  (hours for days, тысяч for миллионов, MB for GB, % for раз);
- flipped: a comparison or a negation the post states plainly is turned round.

Nearness is measured as text.anchor_weights measures it: within a sentence, clause breaks
weigh more than distance.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from flashgen.text import (
    FUNCTION_WORDS,
    MAGNITUDE_WORDS,
    NUMBER_WORDS,
    QUESTION_WORDS,
    nearness,
    number_values,
    positioned_words,
    same_stem,
    word_forms,
)

# A candidate must beat the answer by this much, and by this factor, to say the question
# points elsewhere: a tie is no evidence either way.
_MARGIN = 0.5
_RATIO = 1.5
# What the question names weighs this much when it is a number or a term, else half.
_DISTINCTIVE = 1.0
_ORDINARY = 0.5


# A bare address starts after a space (one start per token: no backtracking over a run
# of dots).
_URL_RE = re.compile(r"https?://\S+|(?<!\S)[\w.-]+\.(?:com|org|io|ru|tech|dev|me|ai)/\S*")


_LABEL_RE = re.compile(r"^\s*\([^()]{1,60}\)\s*")


@dataclass(slots=True)  # not frozen: a frozen init sets each field through object.__setattr__
class _Word:
    folded: str
    cased: str
    clause: int
    sentence: int
    first: bool  # the first word of its sentence (its capital says nothing)
    joined: bool  # only spaces part it from the word before


def _is_number(word: str) -> bool:
    return word[:1].isdigit()


def _is_term(word: _Word, cyrillic_post: bool) -> bool:
    """A name or a technical term: Latin in a Cyrillic post, a capital inside a sentence,
    CamelCase, ALLCAPS, letters with digits («GPT-4», «p99»), a dotted or snake_case name;
    never a unit («KB», «ms»)."""
    cased = word.cased
    if _is_number(cased) or len(cased) < 2 or _unit(word.folded):
        return False
    if "." in cased or "_" in cased:
        return True  # a setting or a module: «retention.ms», "torch.optim", "max_tokens"
    if cyrillic_post and cased.isascii() and any(ch.isalpha() for ch in cased):
        return True
    if any(ch.isdigit() for ch in cased):
        return True
    inner_capital = any(ch.isupper() for ch in cased[1:])
    # A capital after a dash, a bullet or a list's «2)» opens a line's sentence, not a name.
    return inner_capital or (cased[0].isupper() and not word.first and word.joined)


class _Post:
    """A post's words as binding reads them, with an index to find a word's forms in it."""

    def __init__(self, text: str) -> None:
        # A link's words («ru», «abs») are an address, not what the post says.
        found = positioned_words(_URL_RE.sub(" ", text), dotted=True)
        self.cyrillic = sum(1 for w in found if not w[0].isascii()) > len(found) / 3
        words = []
        previous_sentence = -1
        for cased, clause, sentence, joined in found:
            first = sentence != previous_sentence
            words.append(_Word(cased.casefold(), cased, clause, sentence, first, joined))
            previous_sentence = sentence
        self.words = tuple(words)
        # Two forms of a word share their first four letters (same_stem), a compound
        # those of a part; numbers are found by value («шесть» is 6).
        self._by_head: dict[str, list[int]] = {}
        self._by_value: dict[frozenset[float], list[int]] = {}
        for i, word in enumerate(self.words):
            folded = word.folded
            parts = folded.split("-") if "-" in folded else ()
            for head in {folded[:4], *(part[:4] for part in parts if part)}:
                self._by_head.setdefault(head, []).append(i)
            if not folded.isalpha() or not NUMBER_WORDS.isdisjoint((folded, *parts)):
                value = frozenset(number_values(folded))
                if value:
                    self._by_value.setdefault(value, []).append(i)

    def sentences_of(self, quote: str) -> set[int]:
        """The sentences a verbatim quote of the post spans; empty when it is not found."""
        said = [w.casefold() for w, *_ in positioned_words(quote, dotted=True)]
        if not said:
            return set()
        for start in self.places(said[0]):
            stop = start + len(said)
            if stop <= len(self.words) and [w.folded for w in self.words[start:stop]] == said:
                return {w.sentence for w in self.words[start:stop]}
        return set()

    def places(self, wanted: str) -> list[int]:
        """Where the post has `wanted` in some form (_matches), in order."""
        heads = {wanted[:4], (wanted + "s")[:4], (wanted + "es")[:4], wanted[:-1][:4]}
        found = {i for head in heads for i in self._by_head.get(head, ())}
        found.update(self._by_value.get(frozenset(number_values(wanted)), ()))
        return sorted(i for i in found if matches(self.words[i].folded, wanted))


# A few posts: a build checks a post's cards together, and a long post's words are many.
@lru_cache(maxsize=4)
def _post_words(text: str) -> _Post:
    return _Post(text)


def content_words(text: str) -> list[str]:
    """A text's words, folded, without function words and question words."""
    return [
        w.casefold()
        for w, *_ in positioned_words(text, dotted=True)
        if w.casefold() not in FUNCTION_WORDS and w.casefold() not in QUESTION_WORDS
    ]


def matches(word: str, wanted: str) -> bool:
    """One word in another form, a number in words or digits («шесть» is 6), or one part of
    a compound («50-летний» holds «50»)."""
    if same_stem(word, wanted) or word in (wanted + "s", wanted + "es") or wanted == word + "s":
        return True  # short English words in the plural («pro»/«pros») are below same_stem
    value = number_values(wanted)
    if value and number_values(word) == value:
        return True
    return "-" in word and any(same_stem(part, wanted) for part in word.split("-") if part)


def _occurrences(post: _Post, wanted: list[str]) -> list[int]:
    """Where the answer stands in the post: each whole occurrence (its words in order, small
    words between them allowed). «ClickHouse over YT» is where those three stand together,
    not every «YT» of the post; an answer the post words otherwise is not placed at all."""
    words = post.words
    spans: list[int] = []
    for start in post.places(wanted[0]):
        at, span = start, [start]
        for want in wanted[1:]:
            at += 1
            while at < len(words) and words[at].folded in FUNCTION_WORDS:
                at += 1
            if at >= len(words) or not matches(words[at].folded, want):
                break
            span.append(at)
        else:
            spans.extend(span)
    return spans


def _weight(words: tuple[_Word, ...], p: int, x: int) -> float:
    if words[p].sentence != words[x].sentence or p == x:
        return 0.0
    return nearness(abs(p - x), abs(words[p].clause - words[x].clause))


def _score(
    words: tuple[_Word, ...],
    places: list[int],
    anchors: dict[str, list[int]],
    weights: dict[str, float],
) -> float:
    """How strongly what the question names points at the words at `places`: only an
    anchor's places in the same sentence count, so a long post costs no more per word."""
    total = 0.0
    for anchor, positions in anchors.items():
        total += weights[anchor] * max(
            (
                _weight(words, p, x)
                for x in places
                for p in _in_sentence(words, positions, words[x].sentence)
            ),
            default=0.0,
        )
    return total


def _in_sentence(words: tuple[_Word, ...], positions: list[int], sentence: int) -> list[int]:
    # positions are in order, and so are sentences: bisect to the sentence's span.
    lo = bisect.bisect_left(positions, sentence, key=lambda p: words[p].sentence)
    hi = bisect.bisect_right(positions, sentence, key=lambda p: words[p].sentence)
    return positions[lo:hi]


@lru_cache(maxsize=64)  # each of the three rules asks it of the same card
def binding_problem(
    question: str, answer: str, post_text: str, quote: str = ""
) -> tuple[str, str] | None:
    """(reason, evidence) when a basic card's answer is not the one its post gives to what
    its question names; None when the post backs it or cannot tell. A rival is sought in
    the sentences of the card's `quote` when the post has it: the card names its own
    evidence, and a question that gathers context from the whole post («на уровне Quality
    … помимо скора?») would otherwise find its words beside another sentence's term."""
    unit = _unit_problem(answer, post_text)
    if unit:
        return unit
    post = _post_words(post_text)
    words, cyrillic = post.words, post.cyrillic
    wanted = content_words(answer)
    if not wanted or not words:
        return None
    hits = _occurrences(post, wanted)
    if not hits:
        # Not in the post in so many words: grounding's rules (number-, term-not-in-post)
        # judge that; a paraphrase is no evidence of a wrong pairing.
        return None
    # «(LlaMA 3.1) …»: a leading label names the post's subject, not this fact's place.
    question = _LABEL_RE.sub("", question)
    question_words = content_words(question)
    asked = [
        form
        for w in question_words
        for form in word_forms(w)
        if not any(matches(form, a) for a in wanted)
    ]
    anchors: dict[str, list[int]] = {}
    weights: dict[str, float] = {}
    named: set[str] = set()  # the names and numbers among them
    for q in asked:
        places = post.places(q)
        if places:
            anchors[q] = places
            distinctive = _is_number(q) or any(_is_term(words[i], cyrillic) for i in places)
            weights[q] = _DISTINCTIVE if distinctive else _ORDINARY
            if distinctive:
                named.add(q)
    if not anchors:
        # Nothing to weigh nearness by; a turned comparison needs nothing of the kind
        # («Что медленнее? — X» against «X быстрее Y»).
        return _flip_problem(question, words, hits, anchors, weights)
    # A word the post repeats in sentence after sentence (its subject) says less of which
    # fact is asked than one it says once.
    for q, places in anchors.items():
        weights[q] /= math.sqrt(len({words[i].sentence for i in places}))
    asked_at = {i for q in asked for i in (anchors.get(q) or ())}
    # Rivals outside the quote's sentences are not rivals: pass their places as asked.
    quoted = post.sentences_of(quote)
    if quoted:
        asked_at |= {i for i, w in enumerate(words) if w.sentence not in quoted}
    problem = _list_problem(post_text, wanted, question_words, cyrillic) or _competitor(
        words, cyrillic, wanted, hits, anchors, weights, asked, named, asked_at
    )
    if problem:
        return problem
    return _flip_problem(question, words, hits, anchors, weights)


def _competitor(
    words: tuple[_Word, ...],
    cyrillic: bool,
    wanted: list[str],
    hits: list[int],
    anchors: dict[str, list[int]],
    weights: dict[str, float],
    asked: list[str],
    distinct: set[str],
    asked_at: set[int],
) -> tuple[str, str] | None:
    head = next((i for i in hits if matches(words[i].folded, wanted[0])), hits[0])
    number = bool(number_values(words[head].folded))
    if not number and not _is_term(words[head], cyrillic):
        return None  # an ordinary word: too many rivals to weigh

    # A number measured in a unit has rivals in that unit's dimension only: «40 минут»
    # and «18 ГБ» are not two answers to one question.
    answer_units = {unit[0] for _, unit, _ in quantities(" ".join(wanted))}

    def rival(i: int) -> bool:
        if not number:
            return _is_term(words[i], cyrillic)
        if answer_units:
            unit = _unit(words[i + 1].folded) if i + 1 < len(words) else None
            if unit is None or unit[0] not in answer_units:
                return False
        return any_number(i)

    def any_number(i: int) -> bool:
        # «LLaMA 3», «Python 3.11»: a number right after a name is part of the name.
        version = i > 0 and words[i].joined
        return bool(number_values(words[i].folded)) and not (
            version and _is_term(words[i - 1], cyrillic)
        )

    # A value belongs to the name before it («у senior — 520 тысяч», «в TRPO — через
    # KL-дивергенцию»): when that name is the question's, the post pairs them, however
    # near the words both cards share stand to a rival.
    placed = set(hits)
    starts = [x for x in hits if x - 1 not in placed]
    if any(_named_by(words, cyrillic, _owner(words, cyrillic, x), asked) for x in starts):
        return None
    # The answer's best single occurrence: a word the post repeats (DPO, in a long post
    # about it) is judged where the question's words point at it most.
    mine = max(_score(words, [x], anchors, weights) for x in hits)
    if not mine:
        # No word the question names shares a sentence with the answer: the question asks
        # from the post's context (its subject, its title), and nearness tells nothing.
        return None
    best, best_at = 0.0, -1
    taken = set(hits)
    for i in range(len(words)):
        if i in taken or i in asked_at or not rival(i):
            continue
        score = _score(words, [i], anchors, weights)
        if score > best:
            best, best_at = score, i
    # The margin is in units of the heaviest word the question names (weights shrink with
    # how often the post repeats a word).
    margin = _MARGIN * max(weights[q] for q in anchors)
    nearer = best_at >= 0 and best >= mine + margin and best >= _RATIO * mine
    if nearer and distinct:
        # The words both facts share («индекс», «строился») can outweigh the one name that
        # tells them apart; the rival must stand nearer to the names and numbers too.
        names = {q: anchors[q] for q in distinct}
        own = max(_score(words, [x], names, weights) for x in hits)
        nearer = _score(words, [best_at], names, weights) > own
    if not nearer:
        # Owners decide for numbers only: of terms listed together («view по умолчанию, а
        # incremental — для больших таблиц») the one before is a sibling, not an owner.
        best_at = _owned_rival(words, cyrillic, starts, anchors, rival) if number else -1
    if best_at >= 0:
        pointers = ", ".join(sorted(anchors))
        return (
            "answer-not-bound",
            f"the post pairs «{pointers}» with «{words[best_at].cased}», not with the answer",
        )
    return None


def _owner(words: tuple[_Word, ...], cyrillic: bool, i: int) -> int:
    """The term a value belongs to: the nearest one before it in its sentence («batch.size
    is 16 KB and linger.ms is 5 ms»: 16 is batch.size's, 5 is linger.ms's); -1 for none."""
    for k in range(i - 1, -1, -1):
        if words[k].sentence != words[i].sentence:
            return -1
        if _is_term(words[k], cyrillic):
            return k
        # «LLaMA 3 — DPO»: the version is its name's, and the name owns what follows.
        version = k > 0 and words[k].joined and _is_number(words[k].folded)
        if version and _is_term(words[k - 1], cyrillic):
            return k - 1
    return -1


def _named_by(words: tuple[_Word, ...], cyrillic: bool, k: int, asked: list[str]) -> bool:
    """Whether the question names the term at k whole: «LLaMA 3» with its version, not
    «LLaMA» of «LLaMA 2»."""
    if k < 0:
        return False
    parts = [words[k].folded]
    if k + 1 < len(words) and words[k + 1].joined and _is_number(words[k + 1].folded):
        parts.append(words[k + 1].folded)
    return all(any(matches(part, q) for q in asked) for part in parts)


def _owned_rival(
    words: tuple[_Word, ...],
    cyrillic: bool,
    hits: list[int],
    anchors: dict[str, list[int]],
    rival: Callable[[int], bool],
) -> int:
    """A number of the post that belongs to a term the question names, when the answer's
    every occurrence belongs to another term: the value of one setting given to its
    neighbour. The rival's place, or -1."""
    named = {p for places in anchors.values() for p in places if _is_term(words[p], cyrillic)}
    if not named:
        return -1
    owners = [_owner(words, cyrillic, x) for x in hits]
    if any(o in named or o < 0 for o in owners):
        return -1
    for i in range(len(words)):
        if i not in hits and rival(i) and _owner(words, cyrillic, i) in named:
            return i
    return -1


# --- lists under headings -----------------------------------------------------------------

# «Плюсы DPO: …», "Cons of GGUF: …", «Что не помогло:» and the items after it: to the end
# of the sentence, or, when the heading ends its line, the lines below it up to a blank one.
_HEADING_RE = re.compile(r"(?m)(?:^|(?<=[.!?]\s))[ \t]*([^\n:.!?]{2,60}):[ \t]*")
_LIST_END_RE = re.compile(r"[.!?](?:\s|$)|\n\s*\n")
_BLANK_LINE_RE = re.compile(r"\n[ \t]*\n")


def _headed_lists(text: str) -> list[tuple[str, str]]:
    """(heading, items) of each list the post introduces with «heading:»."""
    found = list(_HEADING_RE.finditer(text))
    lists = []
    for n, match in enumerate(found):
        start = match.end()
        stop = found[n + 1].start() if n + 1 < len(found) else len(text)
        # Inline items end with their sentence; items on the lines below, at a blank line.
        inline = text[start : start + 1] != "\n"
        end = (_LIST_END_RE if inline else _BLANK_LINE_RE).search(text, start, stop)
        stop = end.start() if end else stop
        lists.append((match.group(1), text[start:stop]))
    return lists


def _list_problem(
    post_text: str, wanted: list[str], asked: list[str], cyrillic: bool
) -> tuple[str, str] | None:
    """An item asked as one of another list: a con asked as a pro, «Плюсы DPO» asked of
    PPO, what did not help asked as what helped. Only short headings count, those of
    lists side by side («Плюсы DPO:», «Минусы PPO:»); a sentence that ends in a colon
    («Архитектурно YTsaurus состоит из слоев:») introduces, it does not sort."""
    lists = [(h, items) for h, items in _headed_lists(post_text) if len(content_words(h)) <= 4]
    if len(lists) < 2:
        return None
    negated = bool(_negated(asked) or set(asked) & NEGATIONS)

    def named(heading: str) -> tuple[set[str], set[str], bool]:
        """(its words the question names, those it does not, whether it is negated)."""
        said = [w for w in content_words(heading) if w not in NEGATIONS]
        hit = {w for w in said if any(matches(w, q) for q in asked)}
        return hit, set(said) - hit, bool(set(content_words(heading)) & NEGATIONS)

    def holds(items: str) -> bool:
        listed = content_words(items)
        return all(any(matches(w, a) for w in listed) for a in wanted)

    names = [named(heading) for heading, _ in lists]
    for n, (heading, items) in enumerate(lists):
        if not holds(items):
            continue
        hit, missed, heading_negated = names[n]
        if not hit:
            continue  # the question does not ask about this list
        if not missed and heading_negated == negated:
            return None  # the question names the answer's own list
        for m, (other, _) in enumerate(lists):
            if m == n:
                continue
            other_hit, _, other_negated = names[m]
            sorts_apart = other_hit - hit or heading_negated != negated
            if other_hit and other_negated == negated and sorts_apart:
                where, asked_for = heading.strip(), other.strip()
                return (
                    "answer-not-bound",
                    f"the post lists «{' '.join(wanted)}» under «{where}», not under «{asked_for}»",
                )
    return None


# --- units and magnitudes -----------------------------------------------------------------


def _forms(dimension: str, unit: str, *forms: str) -> dict[str, tuple[str, str]]:
    return dict.fromkeys(forms, (dimension, unit))


# Folded unit words, each form whole (a prefix would take «разработчиков» for «раз»,
# «частей» for «час»), → (dimension, unit). The preposition «с» is not seconds.
_UNITS: dict[str, tuple[str, str]] = {
    **_forms(
        "time",
        "ms",
        "мс",
        "миллисекунда",
        "миллисекунды",
        "миллисекунд",
        "ms",
        "msec",
        "millisecond",
        "milliseconds",
    ),
    **_forms(
        "time",
        "us",
        "мкс",
        "микросекунда",
        "микросекунды",
        "микросекунд",
        "µs",
        "microsecond",
        "microseconds",
    ),
    **_forms(
        "time",
        "s",
        "сек",
        "секунда",
        "секунды",
        "секунд",
        "секунду",
        "s",
        "sec",
        "secs",
        "second",
        "seconds",
    ),
    **_forms(
        "time",
        "min",
        "мин",
        "минута",
        "минуты",
        "минут",
        "минуту",
        "min",
        "mins",
        "minute",
        "minutes",
    ),
    **_forms(
        "time", "hour", "ч", "час", "часа", "часов", "часы", "h", "hr", "hrs", "hour", "hours"
    ),
    **_forms("time", "day", "день", "дня", "дней", "дни", "сутки", "суток", "d", "day", "days"),
    **_forms("time", "week", "неделя", "недели", "недель", "неделю", "week", "weeks"),
    **_forms("time", "month", "месяц", "месяца", "месяцев", "мес", "month", "months"),
    **_forms("time", "year", "год", "года", "лет", "годы", "year", "years", "yr"),
    **_forms("size", "KB", "кб", "килобайт", "килобайта", "kb", "kib", "kilobytes"),
    **_forms("size", "MB", "мб", "мегабайт", "мегабайта", "mb", "mib", "megabytes"),
    **_forms("size", "GB", "гб", "гигабайт", "гигабайта", "gb", "gib", "gigabytes"),
    **_forms("size", "TB", "тб", "терабайт", "терабайта", "tb", "tib", "terabytes"),
    # The words number_values scales by, and forms it has no need of.
    **{word: ("magnitude", repr(value)) for word, value in MAGNITUDE_WORDS.items()},
    **_forms("magnitude", repr(1e3), "тысяча"),
    **_forms("magnitude", repr(1e6), "миллион", "millions", "mln"),
    **_forms("magnitude", repr(1e9), "миллиард", "billions", "bln"),
    **_forms("ratio", "%", "%", "процент", "процента", "процентов", "percent", "pct"),
    **_forms("ratio", "times", "раз", "раза", "times", "x", "×"),
}
_UNIT_RE = re.compile(r"(\d+(?:[.,]\d+)?)\s*(%|×|[^\W\d_]+)")


def _unit(word: str) -> tuple[str, str] | None:
    return _UNITS.get(word)


def quantities(text: str) -> list[tuple[str, tuple[str, str], str]]:
    """(number, (dimension, unit), as written) for each number followed by a unit."""
    found = []
    for match in _UNIT_RE.finditer(text.casefold().replace("ё", "е")):
        unit = _unit(match.group(2))
        if unit:
            found.append((match.group(1).replace(",", "."), unit, match.group(0)))
    return found


def _unit_problem(answer: str, post_text: str) -> tuple[str, str] | None:
    posted = quantities(post_text)
    for number, (dimension, unit), _ in quantities(answer):
        there = [(u, said) for n, (d, u), said in posted if n == number and d == dimension]
        if there and all(u != unit for u, _ in there):
            return "unit-mismatch", f"the post says «{there[0][1]}»"
    return None


# --- comparisons and negations ------------------------------------------------------------

# Opposite comparatives, whole forms; verbs of change by their stems, which have no
# other words («увелич», not «выше», which is also «вышел»).
_OPPOSITES = [
    ({"быстрее"}, {"медленнее"}),
    ({"больше"}, {"меньше"}),
    ({"выше"}, {"ниже"}),
    ({"лучше"}, {"хуже"}),
    ({"дешевле"}, {"дороже"}),
    ({"длиннее"}, {"короче"}),
    ({"чаще"}, {"реже"}),
    ({"раньше"}, {"позже"}),
    ({"faster"}, {"slower"}),
    ({"more"}, {"less", "fewer"}),
    ({"higher"}, {"lower"}),
    ({"larger", "bigger"}, {"smaller"}),
    ({"better"}, {"worse"}),
    ({"earlier"}, {"later"}),
    ({"longer"}, {"shorter"}),
    ({"cheaper"}, {"costlier"}),
    ({"increase", "increases", "increased"}, {"decrease", "decreases", "decreased"}),
]
_OPPOSITE_STEMS = [("увелич", "уменьш"), ("ускор", "замедл")]
NEGATIONS = frozenset(
    "не нет ни без not no never without cannot can't doesn't don't isn't aren't won't".split()
)


def _starts(stem: str) -> Callable[[str], bool]:
    return lambda word: word.startswith(stem)


def _comparatives(word: str) -> list[tuple[Callable[[str], bool], Callable[[str], bool]]]:
    """(is this side, is the other side) of each opposite pair the word is a side of."""
    out: list[tuple[Callable[[str], bool], Callable[[str], bool]]] = []
    for a, b in _OPPOSITES:
        for this, other in ((a, b), (b, a)):
            if word in this:
                out.append((this.__contains__, other.__contains__))
    for a_stem, b_stem in _OPPOSITE_STEMS:
        for this_stem, other_stem in ((a_stem, b_stem), (b_stem, a_stem)):
            if word.startswith(this_stem):
                out.append((_starts(this_stem), _starts(other_stem)))
    return out


def _flip_problem(
    question: str,
    words: tuple[_Word, ...],
    hits: list[int],
    anchors: dict[str, list[int]],
    weights: dict[str, float],
) -> tuple[str, str] | None:
    # The sentence the answer is bound to: the one where the question's words point at it.
    bound = max(hits, key=lambda i: _score(words, [i], anchors, weights))
    sentence = [i for i, w in enumerate(words) if w.sentence == words[bound].sentence]
    said = [words[i].folded for i in sentence]
    asked = [w.casefold() for w, *_ in positioned_words(question, dotted=True)]
    for word in asked:
        for is_side, is_other in _comparatives(word):
            if any(is_side(s) for s in said):
                continue
            opposite = [i for i in sentence if is_other(words[i].folded)]
            # «X быстрее Y» asked as «что быстрее?»: the answer stands before the word.
            if opposite and bound < opposite[0]:
                return "flipped", f"the post says «{words[opposite[0]].cased}»"
    # A negation is the answer's clause's own: «KServe scales to zero; Seldon Core does not».
    said = [words[i].folded for i in sentence if words[i].clause == words[bound].clause]
    asked_negated = _negated(asked)
    said_negated = _negated(said)
    # In the question's order, so the evidence names the same word on every run.
    for verb in dict.fromkeys(w for w in asked if len(w) >= 5 and w not in FUNCTION_WORDS):
        in_post = [s for s in said if same_stem(s, verb)]
        if not in_post:
            continue
        negated_here = any(same_stem(v, verb) for v in asked_negated)
        negated_there = any(same_stem(v, verb) for v in said_negated)
        if negated_here != negated_there:
            state = "negates" if negated_there else "does not negate"
            return "flipped", f"the post {state} «{in_post[0]}»"
    return None


def _negated(words: list[str]) -> set[str]:
    """Words right after a negation («не поддерживает», "does not use", "cannot run")."""
    return {words[i + 1] for i, w in enumerate(words[:-1]) if w in NEGATIONS or w.endswith("n't")}
