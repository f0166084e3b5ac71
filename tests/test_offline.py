"""The offline generator: deterministic cloze cards from facts, each grounded in its post."""

from __future__ import annotations

from pathlib import Path

import pytest

from flashgen import read_posts
from flashgen.check import normalize
from flashgen.generate import generate_offline
from flashgen.generate.offline import list_cloze, sentence_cloze, split_sentences
from flashgen.models import Post, cloze_deletions


def _post(text: str, channel: str = "ML Notes") -> Post:
    return Post(id="p1", channel=channel, text=text)


def test_seed_llama_post_deletes_the_nll_coefficient(seed_path: Path) -> None:
    post = next(p for p in read_posts([seed_path]) if p.channel == "Душный NLP")
    cards = [c for c in generate_offline(post) if "NLL" in c.question and "DPO" in c.question]
    assert any([a for _, a in cloze_deletions(c.question)] == ["0,2"] for c in cards), cards


def test_seed_ytsaurus_post_gives_one_ordered_cloze_over_its_layers(seed_path: Path) -> None:
    post = next(p for p in read_posts([seed_path]) if "YTsaurus" in p.text)
    lists = [c for c in generate_offline(post) if "\n1. " in c.question]
    assert len(lists) == 1
    deletions = cloze_deletions(lists[0].question)
    assert [n for n, _ in deletions] == [1, 2, 3]
    assert "Cypress" in deletions[0][1]
    assert "MapReduce" in deletions[1][1]


def test_cards_are_deterministic_grounded_and_valid(seed_path: Path) -> None:
    posts = read_posts([seed_path])
    first = [generate_offline(p) for p in posts]
    assert first == [generate_offline(p) for p in posts]
    total = 0
    for post, cards in zip(posts, first, strict=True):
        for card in cards:
            total += 1
            assert card.post_id == post.id and card.topic == post.channel
            assert normalize(card.source_quote) in normalize(post.text)
            for answer in card.answers:
                assert normalize(answer) in normalize(post.text)
    assert total >= 30


@pytest.mark.parametrize(
    ("sentence", "answers"),
    [
        ("Модель обучали на 15 триллионах токенов в течение 54 дней.", ["15", "54"]),
        ("Точность выросла на 12% после дообучения модели.", ["12%"]),
        ("Базовый размер батча составляет 4M токенов за один шаг.", ["4M"]),
        ("Retention в Kafka по умолчанию составляет 168 часов.", ["168"]),
        ("SFT проходит в шесть раундов для каждой модели.", ["шесть"]),
        ("The base model has 6 layers and 8 attention heads.", ["6", "8"]),
        ("В LLaMA 2 и ArchDays 2024 было 6 раундов SFT.", ["6"]),
        ("Вместо PPO в новой версии используют DPO для алайнмента.", ["PPO", "DPO"]),
        ("Главное отличие новой версии — это специализация.", ["специализация"]),
        ("Dropout is a regularization technique that zeroes random activations.", ["Dropout"]),
    ],
)
def test_sentence_facts(sentence: str, answers: list[str]) -> None:
    cloze = sentence_cloze(sentence, set())
    assert cloze is not None
    assert [a for _, a in cloze_deletions(cloze)] == answers


@pytest.mark.parametrize(
    "sentence",
    [
        "Как вы думаете, что будет дальше с этой моделью?",
        "Нас уже 3000 подписчиков на канале, спасибо вам!",
        "Просто длинное предложение без чисел и без терминов вообще.",
        "Коротко о 5.",
        'response = client.parse(model="gpt-4o-2024-08-06")',
    ],
)
def test_sentences_without_a_fact_give_no_card(sentence: str) -> None:
    assert sentence_cloze(sentence, set()) is None


def test_list_cloze_deletes_heads_or_short_items() -> None:
    cloze = list_cloze(
        "Этапы пайплайна:",
        ["1. Extract — читаем сырые данные;", "2. Transform — чистим;", "3. Load — пишем."],
    )
    assert cloze is not None
    assert [a for _, a in cloze_deletions(cloze)] == ["Extract", "Transform", "Load"]
    assert cloze.startswith("Этапы пайплайна:\n1. {{c1::Extract}} — читаем")


def test_list_with_long_items_gives_no_list_card() -> None:
    long_item = "очень длинный пункт списка, в котором слишком много слов для одной карточки вообще"
    assert list_cloze(None, [f"1. {long_item}", f"2. {long_item}"]) is None


def test_abbreviations_do_not_split_sentences() -> None:
    assert split_sentences("Отчёт Long et al. «Taking AI Welfare Seriously» вышел. Второе.") == [
        "Отчёт Long et al. «Taking AI Welfare Seriously» вышел.",
        "Второе.",
    ]


def test_post_hashtags_become_card_tags() -> None:
    cards = generate_offline(_post("Кластер держит 40 тысяч узлов без деградации.\n#systemdesign"))
    assert cards and all(c.tags == ("systemdesign",) for c in cards)


@pytest.mark.parametrize(
    ("text", "fact"),
    [
        pytest.param(
            "Три правила ретеншна в Kafka:\n1️⃣ Kafka хранит сообщения 7 дней по умолчанию.\n"
            "2️⃣ Сегмент лога закрывается через 168 часов.",
            {"7", "168"},
            id="ru-keycap-list",
        ),
        pytest.param(
            "Spark tips:\n1️⃣ Spark keeps 3 replicas of each cached block.\n"
            "2️⃣ A shuffle writes 200 partitions by default.",
            {"3", "200"},
            id="en-keycap-list",
        ),
    ],
)
def test_keycap_bullets_are_never_deletions(text: str, fact: set[str]) -> None:
    cards = generate_offline(_post(text))
    answers = {answer for card in cards for _, answer in cloze_deletions(card.question)}
    assert not answers & {"1", "2", "3️⃣"} - fact  # no bullet number is asked
    assert fact & answers  # the facts of the items still are
    assert all("{{c1::1}}" not in card.question for card in cards)
