"""Round trip: a card's answer against the one an independent reader finds in the post.

Alberti et al. (ACL 2019, "Synthetic QA Corpora Generation with Roundtrip Consistency")
keep a generated question–answer pair only when an answerer given the question and the
passage recovers the same answer. flashgen asks the model (or a separate judge model)
each surviving card's question with the post and without the card's answer
(flashgen.generate.verify); this module says what the answerer is asked and whether the
two answers agree.

Agreement is judged here, not by the model, so that it is the same on every run and
costs no request: numbers and units must agree exactly (the card's numbers among the
reader's or the other way round, «2 дня» is not «2 часа»), two different names cannot
both stand (Spark is not ClickHouse, whatever «over YT» they share), a negation on one
side only is a disagreement; otherwise the words of one answer must be found in the
other (in any of their forms), or, for two phrases, all but a third of each.
"""

from __future__ import annotations

import re

from flashgen.check.binding import NEGATIONS, content_words, matches, quantities
from flashgen.models import CLOZE_RE, Card, cloze_deletions
from flashgen.text import number_values, spaced

MISMATCH = "roundtrip-mismatch"
UNANSWERABLE = "not-answerable-from-post"
ROUNDTRIP_REASONS = (MISMATCH, UNANSWERABLE)
GAP = "[…]"
_CAPITAL_RE = re.compile(r"[A-ZА-ЯЁ]")
_EVIDENCE_CHARS = 80

Finding = tuple[str, str]  # (reason, evidence)


def questions(card: Card) -> list[tuple[str, str]]:
    """(question as the reader is asked it, the card's answer to it), one per Anki card the
    note makes: a basic card's question; for a cloze, its text with that number's
    deletions as a gap and the others shown."""
    if card.kind == "basic":
        return [(_one_line(card.question), _one_line(card.answer))]
    numbers = sorted({number for number, _ in cloze_deletions(card.question)})
    asked = []
    for number in numbers:
        hidden: list[str] = []

        def show(match: re.Match[str], number: int = number, hidden: list[str] = hidden) -> str:
            if int(match.group(1)) != number:
                return match.group(2)
            hidden.append(match.group(2))
            return GAP

        text = CLOZE_RE.sub(show, card.question)
        asked.append((_one_line(text), _one_line(", ".join(hidden))))
    return asked


def _one_line(text: str) -> str:
    return spaced(text)


def disagreement(expected: str, found: bool, given: str) -> Finding | None:
    """Why the card's answer `expected` is not the reader's `given` (or the reader found
    none: `found` false), or None when they agree. A question with several right answers
    («Назовите один из плюсов…») is answered with all of them, parted by «; »: the card
    agrees when it agrees with one."""
    if not found or not given.strip():
        return UNANSWERABLE, "the model finds no answer to the question in the post"
    said = f"the post answers «{_short(given)}»"
    choices = [part.strip() for part in given.split(";") if part.strip()]
    if len(choices) > 1 and any(_disagreement(expected, part) is None for part in choices):
        return None
    return None if _disagreement(expected, given) is None else (MISMATCH, said)


def _disagreement(expected: str, given: str) -> Finding | None:
    said = f"the post answers «{_short(given)}»"
    if expected.casefold().split() == given.casefold().split():
        return None
    if _units_differ(expected, given):
        return MISMATCH, said
    mine, theirs = number_values(expected), number_values(given)
    if mine and theirs and not (mine <= theirs or theirs <= mine):
        return MISMATCH, said
    if mine and not theirs:
        return MISMATCH, said
    a, b = content_words(expected), content_words(given)
    if bool(set(a) & NEGATIONS) != bool(set(b) & NEGATIONS):
        return MISMATCH, said
    a = [w for w in a if w not in NEGATIONS]
    b = [w for w in b if w not in NEGATIONS]
    a_only = [w for w in a if not any(matches(w, other) or matches(other, w) for other in b)]
    b_only = [w for w in b if not any(matches(w, other) or matches(other, w) for other in a)]
    if any(_is_name(w, expected) for w in a_only) and any(_is_name(w, given) for w in b_only):
        return MISMATCH, said
    if mine and theirs:
        return None  # the numbers agree, and no name stands against another
    if not a or not b:
        return None if not a_only and not b_only else (MISMATCH, said)
    if not a_only or not b_only:
        return None  # one answer says all of the other
    # Each says something the other does not: the same only when both are phrases and
    # the words apart are few («poke mode» is not «reschedule mode»).
    if min(len(a), len(b)) >= 3 and len(a_only) <= len(a) / 3 and len(b_only) <= len(b) / 3:
        return None
    return MISMATCH, said


def _units_differ(expected: str, given: str) -> bool:
    """Whether a number stands with one unit in one answer and with another of the same
    dimension in the other (hours for days, тысяч for миллионов)."""
    theirs = quantities(given)
    for number, (dimension, unit), _ in quantities(expected):
        same = [u for n, (d, u), _ in theirs if n == number and d == dimension]
        if same and unit not in same:
            return True
    return False


def _is_name(folded: str, text: str) -> bool:
    """Whether a folded word of `text` is a name or a term there: digits or a capital in
    it (an answer is a phrase, not a sentence, so even its first capital names), or Latin
    letters beside Cyrillic."""
    cyrillic = any("а" <= ch <= "я" for ch in text.casefold())
    for written in re.findall(r"[\w.+-]+", text):
        if written.casefold() != folded:
            continue
        if any(ch.isdigit() for ch in written) or _CAPITAL_RE.search(written):
            return True
        if cyrillic and written.isascii() and any(ch.isalpha() for ch in written):
            return True
    return False


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _EVIDENCE_CHARS else text[: _EVIDENCE_CHARS - 1] + "…"
