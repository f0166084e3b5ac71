"""The gates and the offline generator measured on the hand-labelled data in tests/quality/.

The bench/ scripts print the full tables; these tests keep the targets from regressing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flashgen import read_posts
from flashgen.check import check_card_fields, check_cards, normalize
from flashgen.evaluate import (
    GoldFact,
    answer_matches,
    covers,
    evaluate,
    list_items,
    load_gold,
    mentions,
)
from flashgen.generate import generate_offline
from flashgen.models import Card

from .conftest import REPO

QUALITY = REPO / "tests" / "quality"
CORPUS = [json.loads(line) for line in (QUALITY / "corpus.jsonl").read_text().splitlines() if line]


@pytest.fixture(scope="module")
def seed_posts(seed_path: Path) -> list:  # type: ignore[type-arg]
    return read_posts([seed_path])


def _judge(entry: dict[str, Any], posts: list) -> list[str]:  # type: ignore[type-arg]
    post = next(p for p in posts if normalize(entry["post"]) in normalize(p.text))
    cards = [dict(entry["card"], post_id=post.id)]
    if "duplicate_of" in entry:
        cards.insert(0, dict(entry["duplicate_of"], post_id=post.id))
    return check_card_fields(posts, cards)[-1].reasons


def test_corpus_covers_every_rule_in_both_languages() -> None:
    cells: dict[tuple[str, str, str], int] = {}
    for entry in CORPUS:
        key = (entry["rule"], entry["label"], entry["lang"])
        cells[key] = cells.get(key, 0) + 1
    rules = {entry["rule"] for entry in CORPUS}
    assert len(rules) >= 13
    for rule in rules:
        for label in ("good", "bad"):
            for lang in ("ru", "en"):
                assert cells.get((rule, label, lang), 0) >= 5, (rule, label, lang)


def test_gate_accuracy_meets_its_targets(seed_posts: list) -> None:  # type: ignore[type-arg]
    bad = [e for e in CORPUS if e["label"] == "bad"]
    good = [e for e in CORPUS if e["label"] == "good"]
    caught = sum(1 for e in bad if _judge(e, seed_posts))
    wrongly = [e["id"] for e in good if _judge(e, seed_posts)]
    assert caught / len(bad) >= 0.9
    assert len(wrongly) / len(good) <= 0.05, wrongly


def test_each_bad_card_is_rejected_for_its_own_rule_mostly(seed_posts: list) -> None:  # type: ignore[type-arg]
    named = [e for e in CORPUS if e["label"] == "bad" and e["rule"] != "duplicate"]
    own = sum(1 for e in named if e["rule"] in _judge(e, seed_posts))
    assert own / len(named) >= 0.85


def test_offline_generator_meets_the_targets_on_the_seed(seed_posts: list) -> None:  # type: ignore[type-arg]
    generated = [card for post in seed_posts for card in generate_offline(post)]
    exported, _ = check_cards(seed_posts, generated)
    report = evaluate(seed_posts, generated, exported, load_gold(QUALITY / "seed_gold.json"))
    assert not report.unmatched_gold
    # card-quality.md asked 0.8 of the generator that made 95 notes of the seed; the one
    # that makes at most 60 (issue 15) keeps 0.79 (bench/offline_quality.py), and drops
    # by rule facts the rubric calls off-target (a talk attended, «я построил…», a link
    # preview's title). Below 0.75 a rule has cost facts it should not.
    assert report.core_recall is not None and report.core_recall >= 0.75
    assert len(exported) <= 60
    assert report.ungrounded == 0 and report.about_channel == 0
    assert report.answer_words_p50 is not None and report.answer_words_p50 <= 8


@pytest.mark.parametrize(
    ("answer", "accepted", "match"),
    [
        ("0,2", "0.2", True),
        ("шесть раундов", "шесть", True),
        ("всего шесть раундов SFT", "шесть", True),
        ("пять", "шесть", False),
        ("Hadoop", "S3 + Trino", False),
    ],
)
def test_answer_matching(answer: str, accepted: str, match: bool) -> None:
    assert answer_matches(answer, accepted) is match


def test_anchor_mentions_allow_inflection() -> None:
    assert mentions("в виде структуры агентов", "структур агентов")
    assert mentions("революцию диплёнинга", "революц")
    assert not mentions("структуры", "агентов")


def test_a_card_covers_a_fact_only_with_an_anchor_and_an_answer() -> None:
    [gold] = [g for g in load_gold(QUALITY / "seed_gold.json") if "SFT происходит" in g.post]
    nll = next(f for f in gold.facts if "0,2" in f.answers)
    card = Card(
        kind="cloze",
        question="К DPO добавляют NLL с коэффициентом {{c1::0,2}}.",
        source_quote="x",
        post_id="p",
        topic="t",
    )
    assert covers(card, nll)
    other = card.model_copy(update={"question": "Коэффициент равен {{c1::0,2}}."})
    assert not covers(other, nll)


BINDING = REPO / "tests" / "quality" / "binding"
# The kind of defect each binding reason is written for.
_REASON_OF_KIND = {
    "unit-mismatch": "unit-mismatch",
    "flipped": "flipped",
    "wrong-entity": "answer-not-bound",
    "neighbour-value": "answer-not-bound",
    "wrong-list": "answer-not-bound",
}


def test_the_wrong_fact_set_is_met_by_the_rules_alone() -> None:
    posts = read_posts([BINDING / "posts.txt"])
    entries = [json.loads(line) for line in (BINDING / "cards.jsonl").read_text().splitlines()]
    bad = [e for e in entries if e["label"] == "bad"]
    good = [e for e in entries if e["label"] == "good"]
    assert len(bad) >= 40 and len(good) >= 40
    assert {e["lang"] for e in bad} == {"ru", "en"}
    caught = [e for e in bad if _judge(e, posts)]
    wrongly = [e["id"] for e in good if _judge(e, posts)]
    assert len(caught) / len(bad) >= 0.5
    assert len(wrongly) / len(good) <= 0.05, wrongly
    # Each binding reason catches cards of the kind of wrong fact it is written for (a
    # flipped «что быстрее: X или Y?» is often caught first as answer-in-question).
    for kind, reason in _REASON_OF_KIND.items():
        own = [e for e in caught if e["kind"] == kind and reason in _judge(e, posts)]
        assert len(own) >= 5, (kind, reason, len(own))


@pytest.mark.parametrize(
    ("answers", "items"),
    [
        pytest.param(
            [["Rule-based"], ["Quality", "качество"]],
            [["Rule-based"], ["Quality", "качество"]],
            id="nested-as-written",
        ),
        pytest.param(
            ["Read Committed, Repeatable Read и Serializable", "Serializable", "RR"],
            [["Read Committed"], ["Repeatable Read"], ["Serializable", "Serializable"]],
            id="flat-ru-one-enumerates",
        ),
        pytest.param(
            ["shadow, canary and blue-green", "canary release"],
            [["shadow"], ["canary", "canary release"], ["blue-green"]],
            id="flat-en-one-enumerates",
        ),
        pytest.param(["poke", "reschedule"], [["poke"], ["reschedule"]], id="flat-items"),
        pytest.param(["0,9 и 0,999", "0.9"], [["0,9", "0.9"], ["0,999"]], id="decimal-commas"),
    ],
)
def test_list_items_read_flat_answers_as_accepted_answers(
    answers: list,
    items: list,  # type: ignore[type-arg]
) -> None:
    fact = GoldFact(id="f", kind="list", anchors=["x"], answers=answers, evidence="x")
    assert list_items(fact) == items
