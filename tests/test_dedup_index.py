"""The indexed duplicate search gives the verdicts of comparing every pair.

The labelled sets (the held-out duplicate pairs and the corpus's duplicates), and cards
from near-alike posts as a busy channel has them, are searched twice: with the index
(prefix-filtered blocking keys for shingles, block matrix products for embeddings) and
exhaustively, one pair at a time. Every verdict must be the same, in both modes.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from flashgen.check import CheckConfig
from flashgen.check.dedup import find_duplicates
from flashgen.models import Card

from .conftest import REPO
from .fake_openai import trigram_vector

pytestmark = pytest.mark.unit

HELDOUT = REPO / "tests" / "heldout"
CORPUS = REPO / "tests" / "quality" / "corpus.jsonl"


def _lines(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _labelled_cards() -> list[Card]:
    cards: list[Card] = []
    for name in ("duplicate_pairs.jsonl", "duplicate_pairs_b.jsonl"):
        for n, item in enumerate(_lines(HELDOUT / name)):
            for role in ("right", "wrong", "first", "second"):
                if role in item:
                    cards.append(
                        Card(
                            kind="basic",
                            question=item[role],
                            answer=item["answer"],
                            source_quote=item["quote"],
                            post_id=f"{name}-{n}",
                            topic="t",
                        )
                    )
    for n, entry in enumerate(_lines(CORPUS)):
        if entry["rule"] != "duplicate":
            continue
        for fields in (entry.get("duplicate_of"), entry["card"]):
            if fields:
                cards.append(Card(**{**fields, "post_id": f"corpus-{n}", "topic": "t"}))
    return cards


def _alike_cards(count: int, seed: int = 3) -> list[Card]:
    """Cards of copies of a few posts, each copy with its own figures and some renamed
    terms, shuffled with exact and reworded repeats."""
    rng = random.Random(seed)
    templates = [
        ("Kafka по умолчанию хранит сообщения {n} часов.", "{n}"),
        ("Топик Kafka делится на {n} партиций.", "{n}"),
        ("Adam по умолчанию использует beta1 = 0.{n}.", "0.{n}"),
        ("The base model has {n} encoder layers.", "{n}"),
        ("Reward-модель {t} обучается над претрейном.", "{t}"),
    ]
    cards = []
    for i in range(count):
        quote, answer = rng.choice(templates)
        n, t = str(rng.randint(1, count // 3)), rng.choice(["RM", "PRM", f"RM{i % 7}"])
        text = quote.format(n=n, t=t)
        filled = answer.format(n=n, t=t)
        question = text.replace(filled, "{{c1::" + filled + "}}", 1)
        if rng.random() < 0.3:
            question = "Итак, " + question[0].lower() + question[1:]
        cards.append(
            Card(
                kind="cloze",
                question=question,
                answer="",
                source_quote=text,
                post_id=f"p{i % 40}",
                topic="t",
            )
        )
    return cards


def _embed(texts: list[str]) -> list[list[float]]:
    return [trigram_vector(text) for text in texts]


@pytest.mark.parametrize("embed", [None, _embed], ids=["shingles", "embeddings"])
@pytest.mark.parametrize("source", ["labelled", "alike"])
def test_the_index_gives_the_verdicts_of_every_pair(embed, source) -> None:  # type: ignore[no-untyped-def]
    cards = _labelled_cards() if source == "labelled" else _alike_cards(600)
    config = CheckConfig()
    indexed = find_duplicates(cards, config, embed)
    exhaustive = find_duplicates(cards, config, embed, exhaustive=True)
    assert indexed == exhaustive
    # The sets hold duplicates of both kinds, so the comparison means something.
    reasons = {reason for reason, _ in exhaustive.values()}
    assert "near-duplicate" in reasons or source == "labelled"
    assert len(exhaustive) >= 10


@pytest.mark.parametrize(("question", "answer"), [(0.3, 0.4), (0.5, 0.5), (0.7, 0.6), (0.9, 1.0)])
def test_the_index_is_exact_at_any_threshold(question: float, answer: float) -> None:
    """The prefixes' lengths, and whether pairs or single tokens are filed, follow the
    thresholds: every setting a user may choose gives the exhaustive verdicts."""
    cards = _labelled_cards() + _alike_cards(300, seed=5)
    config = CheckConfig(near_question_similarity=question, near_answer_similarity=answer)
    exhaustive = find_duplicates(cards, config, exhaustive=True)
    assert find_duplicates(cards, config) == exhaustive
    assert any(reason == "near-duplicate" for reason, _ in exhaustive.values())


def _one_answer_cards(count: int, seed: int = 9) -> list[Card]:
    """Cards that all delete one term from sentences of a few common words: every
    question shares tokens with every other, so only the sketches' bound narrows the
    search, and a few questions are near (a sentence repeated with one word changed)."""
    rng = random.Random(seed)
    vocabulary = (
        "модель данные слой батч метрика токен loss градиент обучение датасет внимание "
        "оптимизатор валидация инференс эмбеддинг архитектура претрейн трансформер"
    ).split()
    sentences: list[str] = []
    for _ in range(count):
        if sentences and rng.random() < 0.2:
            words = rng.choice(sentences).split()
            words[rng.randrange(len(words))] = rng.choice(vocabulary)
        else:
            words = rng.choices(vocabulary, k=rng.randint(3, 9))
        sentences.append(" ".join(words))
    return [
        Card(
            kind="cloze",
            question=f"{text} {{{{c1::encoder}}}}.",
            answer="",
            source_quote=f"{text} encoder.",
            post_id=f"p{i}",
            topic="t",
        )
        for i, text in enumerate(sentences)
    ]


@pytest.mark.parametrize("question", [0.5, 0.7, 0.9])
def test_one_answer_many_questions_keeps_the_verdicts_and_skips_most_tests(
    question: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hundreds of cards of one answer: the bound of the question sketches rules out
    most pairs before the test, and never one the test would have found near."""
    from flashgen.check import dedup

    cards = _one_answer_cards(600)
    config = CheckConfig(near_question_similarity=question)
    tests = {"count": 0}
    test = dedup._near_by_text

    def counted(a, b, c):  # type: ignore[no-untyped-def]
        tests["count"] += 1
        return test(a, b, c)

    monkeypatch.setattr(dedup, "_near_by_text", counted)
    exhaustive = find_duplicates(cards, config, exhaustive=True)
    assert sum(reason == "near-duplicate" for reason, _ in exhaustive.values()) >= 20
    with monkeypatch.context() as unbounded:
        unbounded.setattr(dedup, "_FEW_CANDIDATES", len(cards) + 1)
        tests["count"] = 0
        assert find_duplicates(cards, config) == exhaustive
        without_bound = tests["count"]
    tests["count"] = 0
    assert find_duplicates(cards, config) == exhaustive
    assert tests["count"] < without_bound / 3
