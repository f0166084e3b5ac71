"""Answer binding: each rule, in Russian and English, on a wrong card and on its right twin."""

from __future__ import annotations

import pytest

from flashgen.check import check_cards
from flashgen.check.binding import binding_problem
from flashgen.models import Card, Post

pytestmark = pytest.mark.unit

RU = (
    "Если в LLaMA 2 использовался PPO, то в LLaMA 3 — DPO. "
    "Сервисы: CHYT (ClickHouse over YT), SPYT (Spark over YT).\n"
    "По умолчанию retention.ms равен 7 дней, а segment.ms — 1 час. "
    "Flink быстрее Spark в 3 раза. Kafka не поддерживает очереди с приоритетами. "
    "Датасет вырос до 576 тысяч примеров."
)
EN = (
    "Mistral 7B uses sliding window attention, while Falcon uses multi-query attention. "
    "The default batch.size is 16 KB and buffer.memory is 32 MB. "
    "DuckDB is faster than SQLite on analytical queries. "
    "Parquet does not support in-place updates. Training took 14 days on 512 GPUs. "
    "Kafka came from LinkedIn, while the Spark project came from UC Berkeley."
)

# (post, question, answer, expected reason or None, a word the evidence must quote)
CASES = [
    # an attribute given to the wrong entity of the sentence
    (RU, "Какой метод использовался в LLaMA 2?", "DPO", "answer-not-bound", "PPO"),
    (RU, "Какой метод использовался в LLaMA 3?", "DPO", None, None),
    (RU, "Как расшифровывается SPYT?", "ClickHouse over YT", "answer-not-bound", "Spark"),
    (RU, "Как расшифровывается SPYT?", "Spark over YT", None, None),
    (EN, "Which attention does Falcon use?", "sliding window attention", None, None),
    (EN, "Where did the Spark project come from?", "LinkedIn", "answer-not-bound", "UC"),
    (EN, "Where did the Spark project come from?", "UC Berkeley", None, None),
    # the value of one setting given to its neighbour
    (RU, "Чему по умолчанию равен segment.ms?", "7 дней", "answer-not-bound", "1"),
    (RU, "Чему по умолчанию равен segment.ms?", "1 час", None, None),
    (EN, "What is the default buffer.memory?", "16 KB", "answer-not-bound", "32"),
    (EN, "What is the default batch.size?", "16 KB", None, None),
    # a unit or a magnitude swapped
    (RU, "Чему по умолчанию равен retention.ms?", "7 часов", "unit-mismatch", "7 дней"),
    (RU, "До скольки примеров вырос датасет?", "576 миллионов", "unit-mismatch", "576 тысяч"),
    (RU, "До скольки примеров вырос датасет?", "576 тысяч", None, None),
    (EN, "How long did training take?", "14 hours", "unit-mismatch", "14 days"),
    (EN, "What is the default batch.size?", "16 MB", "unit-mismatch", "16 kb"),
    # a comparison or a negation turned round
    (RU, "Что медленнее Spark в 3 раза?", "Flink", "flipped", "быстрее"),
    (RU, "Что быстрее Spark в 3 раза?", "Flink", None, None),
    (RU, "Что поддерживает Kafka?", "очереди с приоритетами", "flipped", "поддерживает"),
    (RU, "Чего не поддерживает Kafka?", "очереди с приоритетами", None, None),
    (
        EN,
        "Which engine is slower than SQLite on analytical queries?",
        "DuckDB",
        "flipped",
        "faster",
    ),
    (EN, "Which engine is faster than SQLite on analytical queries?", "DuckDB", None, None),
    (EN, "What does Parquet support?", "in-place updates", "flipped", "support"),
    (EN, "What does Parquet not support?", "in-place updates", None, None),
]


@pytest.mark.parametrize(("post", "question", "answer", "reason", "quoted"), CASES)
def test_binding_rules(
    post: str, question: str, answer: str, reason: str | None, quoted: str | None
) -> None:
    found = binding_problem(question, answer, post)
    if reason is None:
        assert found is None
    else:
        assert found is not None and found[0] == reason
        assert quoted is not None and quoted.casefold() in found[1].casefold()


def test_a_question_that_names_nothing_near_its_answer_is_left_alone() -> None:
    # «(LLaMA) …» labels the subject; nothing else of the question is in the answer's
    # sentence, so nearness cannot say it is wrong.
    assert binding_problem("(LLaMA) Какой метод в итоге выбрали?", "DPO", RU) is None


def test_a_paraphrased_answer_is_for_the_grounding_rules() -> None:
    assert binding_problem("Какой метод использовался в LLaMA 3?", "оптимизация", RU) is None


def test_the_build_reports_the_rival_as_evidence() -> None:
    post = Post(id="p1", channel="NLP", text=RU)
    wrong = Card(
        kind="basic",
        question="Какой метод использовался в LLaMA 2?",
        answer="DPO",
        source_quote="Если в LLaMA 2 использовался PPO, то в LLaMA 3 — DPO.",
        post_id="p1",
        topic="NLP",
    )
    right = wrong.model_copy(update={"question": "Какой метод использовался в LLaMA 3?"})
    accepted, rejected = check_cards([post], [wrong, right])
    assert accepted == [right]
    assert rejected[0].reasons == ("answer-not-bound",)
    assert "«PPO»" in rejected[0].evidence["answer-not-bound"]


LISTS_RU = (
    "Сравнили два подхода. Плюсы Airflow: зрелость, огромное сообщество. "
    "Минусы Dagster: молодой проект, мало плагинов.\n"
    "Что помогло на собеседованиях: мок-интервью с друзьями.\n"
    "Что не помогло: заучивание ответов."
)
LISTS_EN = (
    "Pros of Parquet: columnar reads, good compression. Cons of Parquet: slow single-row writes."
)


@pytest.mark.parametrize(
    ("post", "question", "answer", "bad"),
    [
        (LISTS_RU, "Назовите один из плюсов Airflow.", "огромное сообщество", False),
        (LISTS_RU, "Назовите один из плюсов Dagster.", "огромное сообщество", True),
        (LISTS_RU, "Назовите один из минусов Airflow.", "мало плагинов", True),
        (LISTS_RU, "Что помогло на собеседованиях?", "мок-интервью с друзьями", False),
        (LISTS_RU, "Что помогло на собеседованиях?", "заучивание ответов", True),
        (LISTS_RU, "Что не помогло?", "заучивание ответов", False),
        (LISTS_EN, "Name a pro of Parquet.", "good compression", False),
        (LISTS_EN, "Name a pro of Parquet.", "slow single-row writes", True),
        (LISTS_EN, "Name a con of Parquet.", "slow single-row writes", False),
    ],
)
def test_an_item_asked_as_one_of_another_list(
    post: str, question: str, answer: str, bad: bool
) -> None:
    found = binding_problem(question, answer, post)
    if bad:
        assert found is not None and found[0] == "answer-not-bound"
        assert "under" in found[1]
    else:
        assert found is None


def test_odd_posts_and_answers_give_no_verdict_and_no_error() -> None:
    for question, answer, post in [
        ("?", "", ""),
        ("Что?", "и в на", "и в на."),
        ("Что?", "X", "!!! ... ---"),
        ("Сколько процентов?", "5%", "Команда из 5 разработчиков выросла на 12%."),  # not «раз»
        ("Q?", "A", "PPO.В LLaMA"),
    ]:
        assert binding_problem(question, answer, post) is None


def test_a_comparison_is_checked_even_when_the_question_names_nothing_else() -> None:
    found = binding_problem("Что медленнее?", "Flink", "Flink быстрее Spark.")
    assert found == ("flipped", "the post says «быстрее»")


def test_glued_sentences_are_still_two() -> None:
    # «PPO.В» is a missing space, not a dotted name: the sentences stay apart.
    glued = "Если в LLaMA 2 использовался PPO.В LLaMA 3 — DPO."
    spaced = "Если в LLaMA 2 использовался PPO. В LLaMA 3 — DPO."
    for post in (glued, spaced):
        assert binding_problem("Какой метод использовался в LLaMA 2?", "DPO", post) == (
            binding_problem("Какой метод использовался в LLaMA 2?", "DPO", spaced)
        )


def test_rivals_are_sought_in_the_sentences_the_card_quotes() -> None:
    post = (
        "Ответы на уровне Quality оценивают по скору, а на уровне Difficulty оценивают "
        "число интентов. Кроме того, используется LLM-as-judge."
    )
    question = "Какой метод оценки ответов используется на уровне Quality помимо скора?"
    quote = "Кроме того, используется LLM-as-judge."
    # Without its quote, the question's words stand beside «Difficulty»; its quote says
    # which sentence it asks about.
    assert binding_problem(question, "LLM-as-judge", post) is not None
    assert binding_problem(question, "LLM-as-judge", post, quote) is None
