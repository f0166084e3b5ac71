"""Quality gates: each rule, with good and bad cards in Russian and English."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from flashgen.check import CheckConfig, card_from_fields, check_cards, count_reasons
from flashgen.models import Card, Post
from flashgen.text import latin_terms, number_values, similarity

POST = Post(
    id="p1",
    channel="Душный NLP",
    text=(
        "SFT происходит в шесть раундов. Если в LLaMA 2 использовался PPO, то в LlaMA 3 — DPO.\n"
        "Кроме того, к DPO добавляют NLL (CE) с коэффициентом 0,2.\n"
        "Quality — качественными считаются 25% ответов с наибольшим скором.\n"
        "За один раунд SFT 405B-модель суммарно проходит 576 тысяч сэмплов.\n"
        "А ещееее, очень рада, что число людей, читающих канал, перевалило за 3к"
    ),
)
Q_NLL = "Кроме того, к DPO добавляют NLL (CE) с коэффициентом 0,2."
Q_SFT = "SFT происходит в шесть раундов."


def basic(question: str, answer: str, quote: str = Q_NLL) -> dict[str, Any]:
    return {"kind": "basic", "question": question, "answer": answer, "source_quote": quote}


def cloze(text: str, quote: str = Q_NLL, extra: str = "") -> dict[str, Any]:
    return {"kind": "cloze", "question": text, "answer": extra, "source_quote": quote}


def reasons_of(fields: dict[str, Any]) -> list[str]:
    card = Card(**fields, post_id="p1", topic="NLP")
    _, rejected = check_cards([POST], [card])
    return list(rejected[0].reasons) if rejected else []


GOOD = [
    basic("С каким коэффициентом к DPO добавляют NLL в LLaMA 3.1?", "0,2"),
    basic("What coefficient does LLaMA 3.1 give the NLL term added to DPO?", "0.2"),
    basic("Сколько раундов SFT у LLaMA 3.1?", "шесть", Q_SFT),
    basic("How many SFT rounds does LLaMA 3.1 go through?", "Six", Q_SFT),
    basic("Какой лосс LLaMA 3.1 добавляет к DPO?", "NLL (CE)"),
    basic("Which loss is added to DPO in LLaMA 3.1?", "NLL"),
    cloze("Кроме того, к DPO добавляют NLL (CE) с коэффициентом {{c1::0,2}}."),
    cloze("In LLaMA 3.1 the NLL term is added to {{c1::DPO}} with weight 0.2."),
    basic(
        "Какая доля ответов считается качественной в фильтре Quality LLaMA 3.1?",
        "25% с наибольшим скором",
        "Quality — качественными считаются 25% ответов с наибольшим скором.",
    ),
    basic(
        "Сколько сэмплов проходит 405B-модель LLaMA 3.1 за раунд SFT?",
        "576 тысяч",
        "За один раунд SFT 405B-модель суммарно проходит 576 тысяч сэмплов.",
    ),
]


@pytest.mark.parametrize("fields", GOOD, ids=lambda f: f["question"][:40])
def test_good_cards_pass_every_rule(fields: dict[str, Any]) -> None:
    assert reasons_of(fields) == []


BAD = [
    ("quote-not-in-post", basic("Какой коэффициент у NLL в DPO?", "0,2", "NLL весит 0,2.")),
    ("quote-not-in-post", basic("What is the NLL weight?", "0.2", "NLL is weighted by 0.2.")),
    ("number-not-in-post", basic("С каким коэффициентом к DPO добавляют NLL?", "0,5")),
    ("number-not-in-post", basic("How many SFT rounds are there?", "Seven", Q_SFT)),
    ("number-not-in-post", basic("Сколько раундов SFT у LLaMA 3.1?", "пять", Q_SFT)),
    ("term-not-in-post", basic("Какой лосс добавляют к DPO?", "KL-дивергенцию из RLHF")),
    ("term-not-in-post", basic("Which loss is added to DPO?", "Focal loss from RetinaNet")),
    ("multiple-questions", basic("Что добавляют к DPO и почему?", "NLL")),
    ("multiple-questions", basic("What is added to DPO, and why?", "NLL")),
    ("multiple-questions", basic("Что добавляют к DPO? С каким коэффициентом?", "NLL, 0,2")),
    ("answer-too-long", basic("Что добавляют к DPO?", " ".join(["NLL"] + ["слово"] * 15))),
    ("unordered-list", basic("Перечислите лоссы LLaMA 3.1.", "DPO")),
    ("unordered-list", basic("Which methods are mentioned?", "SFT, PPO, DPO", Q_SFT)),
    ("yes-no-question", basic("Верно ли, что к DPO добавляют NLL?", "Да")),
    ("yes-no-question", basic("Добавляют ли NLL к DPO в LLaMA 3.1?", "0,2")),
    ("yes-no-question", basic("Is NLL added to DPO in LLaMA 3.1?", "Yes")),
    ("yes-no-question", basic("Is it true that DPO replaced PPO?", "True")),
    ("answer-in-question", basic("Коэффициент NLL в DPO равен 0,2 — какой он?", "0,2")),
    ("answer-in-question", cloze("К {{c1::DPO}} добавляют NLL; DPO — метод.")),
    ("vague-question", basic("Расскажите о DPO в LLaMA 3.1.", "NLL 0,2")),
    ("vague-question", basic("Tell me about DPO in LLaMA 3.1.", "NLL 0.2")),
    ("not-self-contained", basic("Какой коэффициент NLL упоминается в посте?", "0,2")),
    ("not-self-contained", basic("Какой коэффициент NLL выбрал автор?", "0,2")),
    ("not-self-contained", basic("What coefficient does the author use for NLL?", "0.2")),
    ("not-self-contained", basic("Какой коэффициент у NLL в этом подходе?", "0,2")),
    ("about-channel", basic("Сколько людей читают канал?", "3к", POST.text.split("\n")[-1])),
    (
        "about-channel",
        basic("How many subscribers does the channel have?", "3k", POST.text.split("\n")[-1]),
    ),
]


@pytest.mark.parametrize(("reason", "fields"), BAD, ids=lambda x: x if isinstance(x, str) else "")
def test_bad_cards_are_rejected_for_their_reason(reason: str, fields: dict[str, Any]) -> None:
    assert reason in reasons_of(fields)


@pytest.mark.parametrize(
    ("fields", "reasons"),
    [
        (cloze("no deletion here"), ["cloze-syntax"]),
        (cloze("empty {{c1::}} deletion"), ["cloze-syntax"]),
        (cloze("broken {{c1::x} brace"), ["cloze-syntax"]),
        (basic("Question?", ""), ["empty-answer"]),
        ({"kind": "flash", "question": "Q?"}, ["invalid-card"]),
    ],
)
def test_malformed_cards_from_elsewhere_get_reasons(
    fields: dict[str, Any], reasons: list[str]
) -> None:
    assert card_from_fields({**fields, "post_id": "p1"}, topic="t") == reasons


def _card(fields: dict[str, Any]) -> Card:
    return Card(**fields, post_id="p1", topic="NLP")


def test_exact_and_near_duplicates_keep_the_better_card() -> None:
    first = _card(basic("Сколько раундов SFT у LLaMA 3.1?", "шесть раундов", Q_SFT))
    exact = _card(basic("Сколько  раундов SFT у LLaMA 3.1 ?", "Шесть раундов", Q_SFT))
    near = _card(basic("Сколько раундов SFT проходит LLaMA 3.1?", "шесть", Q_SFT))
    reverse = _card(basic("Чего в LLaMA 3.1 шесть?", "раундов SFT", Q_SFT))
    accepted, rejected = check_cards([POST], [first, exact, near, reverse])
    # `near` has the shorter answer, so it takes the place of the first card.
    assert accepted == [near, reverse]
    assert {r.card.question: r.reasons for r in rejected} == {
        first.question: ("near-duplicate",),
        exact.question: ("duplicate",),
    }
    assert count_reasons(rejected) == {"duplicate": 1, "near-duplicate": 1}


def test_embeddings_decide_near_duplicates_when_given() -> None:
    a = _card(basic("Сколько раундов SFT у LLaMA 3.1?", "шесть", Q_SFT))
    b = _card(basic("Number of supervised rounds in LLaMA 3.1?", "6", Q_SFT))
    # Shingles cannot see a translation; an embedder that maps both to one vector can.
    assert check_cards([POST], [a, b])[1] == []
    accepted, rejected = check_cards([POST], [a, b], embed=lambda texts: [[1.0, 0.0]] * len(texts))
    assert accepted == [a] and rejected[0].reasons == ("near-duplicate",)


def test_thresholds_are_configurable() -> None:
    card = _card(basic("Какой лосс добавляют к DPO в LLaMA 3.1?", "NLL с весом 0,2"))
    assert check_cards([POST], [card], CheckConfig(max_answer_words=3))[1][0].reasons == (
        "answer-too-long",
    )
    assert check_cards([POST], [card], CheckConfig(max_answer_words=4))[1] == []


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("коэффициент 0,2", {0.2}),
        ("в шесть раундов", {6.0}),
        ("по трём критериям", {3.0}),
        ("четырёх уровней", {4.0}),
        ("576 тысяч сэмплов", {576.0, 576000.0}),
        ("25% ответов и 1M QPS", {25.0, 1.0, 1e6}),
        ("six rounds", {6.0}),
        ("модель p90 и S3", set()),
    ],
)
def test_number_values(text: str, values: set[float]) -> None:
    assert number_values(text) == values


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("к DPO добавляют NLL", ["DPO", "NLL"]),
        ("метка edited", ["edited"]),
        ("Six rounds of SFT", ["SFT"]),
        ("It uses Hadoop and S3", ["Hadoop", "S3"]),
        ("the answer is plain english", []),
    ],
)
def test_latin_terms(text: str, terms: list[str]) -> None:
    assert latin_terms(text) == terms


def test_similarity_ignores_punctuation_and_case() -> None:
    assert similarity("Сколько раундов SFT?", "сколько раундов sft") == 1.0
    assert similarity("Сколько раундов SFT?", "Какой коэффициент у NLL?") < 0.3


def test_blocking_finds_the_same_duplicates_as_comparing_every_pair(
    seed_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flashgen import read_posts
    from flashgen.check import dedup
    from flashgen.generate import generate_offline

    posts = read_posts([seed_path])
    cards = [c for p in posts for c in generate_offline(p)]
    # Reworded twins of every third card, so there is something to find.
    cards += [
        c.model_copy(update={"question": c.question.replace(" ", "  ", 1) + " "})
        for c in cards[::3]
    ]
    cards += [
        c.model_copy(update={"question": c.question.replace("{{c1::", "Итак, {{c1::", 1)})
        for c in cards[1::4]
    ]
    config = CheckConfig()
    blocked = dedup.find_duplicates(cards, config)
    assert dedup.find_duplicates(cards, config, exhaustive=True) == blocked
    assert len(blocked) > len(cards) // 4


def test_checking_cards_as_they_arrive_gives_the_verdict_of_checking_them_at_the_end(
    seed_path: Path,
) -> None:
    import random

    from flashgen import read_posts
    from flashgen.check import Checker
    from flashgen.check.dedup import find_duplicates
    from flashgen.check.rules import card_reasons
    from flashgen.generate import generate_offline

    posts = read_posts([seed_path])
    cards = [c for p in posts for c in generate_offline(p)]
    cards += [c.model_copy(update={"question": c.question + " "}) for c in cards[::3]]
    cards += [c.model_copy(update={"source_quote": "не из поста"}) for c in cards[::5]]
    cards.append(cards[0].model_copy(update={"post_id": "no-such-post"}))
    # The reference: every card's rules, then duplicates among those that pass them.
    reasons = [
        card_reasons(c, next((p for p in posts if p.id == c.post_id), None), CheckConfig())
        for c in cards
    ]
    passing = [i for i, r in enumerate(reasons) if not r]
    for local, (reason, _) in find_duplicates([cards[i] for i in passing], CheckConfig()).items():
        reasons[passing[local]].append(reason)
    expected = [(c.question, tuple(r)) for c, r in zip(cards, reasons, strict=True)]
    assert sum(1 for _, r in expected if r) > len(cards) // 4

    checker = Checker(posts)
    arrival = cards[: len(cards) - 7]  # some cards are only seen at the end
    random.Random(7).shuffle(arrival)
    for start in range(0, len(arrival), 5):
        checker.add(arrival[start : start + 5])
    # A card checked earlier and then replaced by an equal copy is checked again.
    checker.add([cards[1].model_copy(update={"question": "Вопрос, которого нет в сборке?"})])
    accepted, rejected = checker.finish(cards)
    verdict = {id(r.card): r.reasons for r in rejected}
    assert [(c.question, verdict.get(id(c), ())) for c in cards] == expected
    assert accepted == [c for c, (_, r) in zip(cards, expected, strict=True) if not r]
    assert check_cards(posts, cards) == (accepted, rejected)


def test_thresholds_come_from_flashgen_toml(tmp_path: Path) -> None:
    from flashgen.config import ConfigError, load_check_config

    assert load_check_config(tmp_path) == CheckConfig()
    (tmp_path / "flashgen.toml").write_text("[checks]\nmax_answer_words = 6\n", encoding="utf-8")
    assert load_check_config(tmp_path).max_answer_words == 6
    (tmp_path / "flashgen.toml").write_text("[checks]\nmax_answer_wrds = 6\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"checks\.max_answer_wrds"):
        load_check_config(tmp_path)


def test_whole_word_search_agrees_with_the_regex_it_replaces() -> None:
    import random
    import re

    from flashgen.check.rules import _contains_words

    def by_regex(haystack: str, needle: str) -> bool:
        needle = needle.strip(" .,;:!?")
        pattern = rf"(?<!\w){re.escape(needle)}(?!\w)"
        return len(needle) >= 2 and re.search(pattern, haystack) is not None

    rng = random.Random(5)
    alphabet = list("ab_ 1.,éя!-?Ж٣")
    for _ in range(20000):
        haystack = "".join(rng.choices(alphabet, k=rng.randint(0, 12)))
        needle = "".join(rng.choices(alphabet, k=rng.randint(0, 4)))
        assert _contains_words(haystack, needle) == by_regex(haystack, needle), (haystack, needle)
    assert _contains_words("ставка 0,2 и 0,25", "0,25") and not _contains_words("x 0,25", "0,2")


@pytest.mark.parametrize(
    ("text", "about_channel"),
    [
        ("A Kafka consumer subscribes to a topic and reads {{c1::500}} records per poll.", False),
        ("Consumers subscribe to {{c1::one or more}} topics and poll them in a loop.", False),
        ("Консьюмер подписывается на топик и читает {{c1::500}} записей за poll.", False),
        ("Subscribe to the channel so you don't miss part {{c1::2}}.", True),
        ("Thanks to our {{c1::3k}} subscribers for the support!", True),
        ("Подписывайтесь на канал, чтобы не пропустить {{c1::вторую}} часть.", True),
    ],
)
def test_subscribing_to_a_topic_is_not_about_the_channel(text: str, about_channel: bool) -> None:
    plain = re.sub(r"\{\{c1::(.*?)\}\}", r"\1", text)
    post = Post(id="p2", channel="Data Notes", text=plain)
    card = Card(**cloze(text, plain), post_id="p2", topic="Data Notes")
    _, rejected = check_cards([post], [card])
    reasons = [reason for rejection in rejected for reason in rejection.reasons]
    assert ("about-channel" in reasons) is about_channel
