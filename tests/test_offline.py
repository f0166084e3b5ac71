"""The offline generator: one card per fact, each grounded in its post, in Russian and English.

Every rule of issue 15 has a case in each language: what a sentence's one card asks, which
sentences give none, lists and definitions, the subject prefix, the fields, and the noise
of real posts (signatures, reactions, keycaps, calls to act, link previews, hashtags).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flashgen import read_posts
from flashgen.check import check_cards, normalize
from flashgen.export import shown_quote
from flashgen.generate import generate_offline
from flashgen.generate.offline import (
    best_card,
    card_budget,
    colon_list_cloze,
    not_a_fact,
    ordered_list_cloze,
    sentence_cards,
)
from flashgen.models import Post, cloze_deletions
from flashgen.text import split_sentences


def _post(text: str, channel: str = "ML Notes") -> Post:
    return Post(id="p1", channel=channel, text=text)


def _answers(question: str) -> list[str]:
    return [answer for _, answer in cloze_deletions(question)]


def _asked(sentence: str) -> list[str]:
    """The answers of the one card a sentence gives; there must be one."""
    card = best_card(sentence, set())
    assert card is not None, sentence
    return _answers(card.question)


def _all_answers(cards: list) -> set[str]:  # type: ignore[type-arg]
    return {answer for card in cards for answer in card.answers}


# --- the seed ---------------------------------------------------------------------------


def test_seed_llama_post_deletes_the_nll_coefficient(seed_path: Path) -> None:
    post = next(p for p in read_posts([seed_path]) if p.channel == "Душный NLP")
    cards = [c for c in generate_offline(post) if "NLL" in c.question and "DPO" in c.question]
    assert any(_answers(c.question) == ["0,2"] for c in cards), cards
    # The issue's own example: the post's subject before a sentence that lacks it.
    assert any(c.question.startswith("(LlaMA 3.1) ") for c in cards), cards


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
        assert len(cards) <= card_budget(post.text)
        for card in cards:
            total += 1
            assert card.post_id == post.id and card.topic == post.channel
            assert normalize(card.source_quote) in normalize(post.text)
            for answer in card.answers:
                assert normalize(answer) in normalize(post.text)
    assert total >= 30


# --- one card per fact ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "answers"),
    [
        # The number with what it measures, not a model's size or a version.
        ("За один раунд SFT 405B-модель проходит 576 тысяч сэмплов.", ["576 тысяч"]),
        ("LoRA for GPT-3 175B cut trainable parameters by 10 000 times.", ["10 000"]),
        ("В LLaMA 2 и ArchDays 2024 было 6 раундов SFT.", ["6"]),
        ("The default segment size of the write-ahead log is 16 MB.", ["16 MB"]),
        # A figure and its restatement give each other away: one deletion asks both. The
        # unit stays in view as the cue («{{c1::7}} дней»).
        ("По умолчанию log.retention.hours = 168, то есть 7 дней.", ["168", "7"]),
        ("By default the segment is 1 GiB, i.e. 1024 MiB on disk.", ["1", "1024"]),
        # A term the rest of the sentence points at, not its subject.
        ("Чтобы схлопнуть дубли на лету, используют модификатор FINAL в запросе.", ["FINAL"]),
        ("Если в LLaMA 2 использовался PPO, то в LlaMA 3 — DPO.", ["DPO"]),
        (
            "To read only committed records, consumers use the setting read_committed.",
            ["read_committed"],
        ),
        # What each of them has details the figure before it.
        (
            "Bigger files go through multipart upload: up to 10,000 parts, each from 5 MB.",
            ["10,000"],
        ),
        ("В модели h = 8 голов внимания, каждая работает с d_k = 64.", ["8"]),
        # What comes with the sentence's figure («с перекрытием», "with an overlap of") is
        # its detail; a version the sentence says a thing came in is no figure to detail.
        ("Для RAG берут чанки по 512 токенов с перекрытием 50 токенов.", ["512"]),
        ("Most corpora do well with chunks of 512 tokens with an overlap of 50 tokens.", ["512"]),
        (
            "Serializable в PostgreSQL с версии 9.1 откатывает транзакцию с ошибкой 40001.",
            ["40001"],
        ),
        # Inline code is a name even as one plain word: never emphasis.
        (
            "Sealed classes, final in Java 17, restrict who may extend a type with the "
            "`permits` clause.",
            ["permits"],
        ),
        ("Запрос без блокировок пишут с `nowait`, и он падает сразу.", ["nowait"]),
    ],
)
def test_a_sentence_gives_one_card_with_its_best_deletion(
    sentence: str, answers: list[str]
) -> None:
    card = best_card(sentence, set())
    assert card is not None and card.kind == "cloze"
    assert _answers(card.question) == answers


@pytest.mark.parametrize(
    ("text", "answers"),
    [
        pytest.param(
            "Размерность модели d_model равна 512, а число голов внимания равно 8.",
            [["512"], ["8"]],
            id="ru",
        ),
        pytest.param(
            "The checkpoint timeout defaults to 5 minutes, and max_wal_size defaults to 1 GB.",
            [["5"], ["1 GB"]],
            id="en",
        ),
    ],
)
def test_two_clauses_with_a_number_each_are_two_facts(text: str, answers: list) -> None:  # type: ignore[type-arg]
    cards = generate_offline(_post(text))
    assert sorted(card.answers for card in cards) == sorted(answers)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            "Кластер YTsaurus держит 40 тысяч узлов.\nКластер YTsaurus держит 40 тысяч узлов "
            "без деградации.",
            id="ru",
        ),
        pytest.param(
            "A Kafka segment is 1 GB by default.\nBy default, a Kafka segment holds 1 GB.",
            id="en",
        ),
    ],
)
def test_one_fact_is_asked_once(text: str) -> None:
    cards = generate_offline(_post(text))
    assert len(cards) == 1, cards


# --- sentences a learner would not study ---------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        ("На мок-интервью я узнал от кандидата 3 вещи.", "first person"),
        ("I usually set the temperature to 0.2 for code.", "first person"),
        ("14 декабря в 19:00 расскажу про Airflow в проде.", "announcement"),
        ("Join us on Thursday at 6 pm for a webinar on Kafka.", "announcement"),
        ("На днях коллега поймал баг с lost update в Read Committed.", "anecdote"),
        ("Next week we will look at the planner in 3 parts.", "anecdote"),
        ("Вот вы пришли на собес, а вас спрашивают про L1 и L2.", "hypothetical"),
        ("Imagine you have 1% fraud in 10 million transactions.", "hypothetical"),
        ("Всем привет! Сегодня разберём Kafka за 5 минут.", "call to act"),
        ("Вчера коллега поймал 2 бага с lost update.", "anecdote"),
        ("Сохраняйте пост и пересылайте коллегам, их тут 12.", "call to act"),
        ("Don't forget to share it with 2 friends in the comments.", "call to act"),
        ("Subscribe so you don't miss part 2 on the outbox pattern.", "call to act"),
        ("Помню, что Маск где-то рассказывал про 3 инженеров SpaceX.", "first person"),
        ("В новой статье мы погрузимся в 2 подхода к детекции текста.", "anecdote"),
        ("In this post we will look at 3 ways to shard a table.", "anecdote"),
        ("И вот чел из Airbnb рассказал, как они росли 5 лет.", "anecdote"),
        ("Подписывайтесь и не пропустите часть 2 про outbox.", "call to act"),
        ("Читайте новую статью про 3 детектора текста по ссылке.", "call to act"),
        ("Read the full article on the 3 text detectors on Notion.", "call to act"),
        ("Это даёт прирост в 2 раза на больших таблицах.", "pronoun subject"),
        ("It gives a 2x speed-up on large tables.", "pronoun subject"),
        ("I once spent 2 days chasing a handshake failure in TLS 1.3.", "first person"),
        ("I just moved 3 services from REST to gRPC.", "first person"),
        ("Однажды дашборд выручки показал +40% за неделю.", "anecdote"),
        ("Backend Bits, a newsletter for people who run Postgres at 3 a.m.", "announcement"),
        ("The Kafka office hours start at 6pm, 2 slots left.", "announcement"),
        ("Зато могу представить и 3 минуса такого подхода.", "first person"),
        ("А если сервис вызывается раз в неделю, то это 5 центов в год.", "hypothetical"),
        ("And if the job runs once a week, that is 5 cents a year.", "hypothetical"),
    ],
)
def test_sentences_not_worth_a_card(sentence: str, reason: str) -> None:
    assert not_a_fact(sentence) == reason
    assert best_card(sentence, set()) is None


@pytest.mark.parametrize(
    "sentence",
    [
        "Там, где нужна классификация, используем Literal.",
        "There are three delivery semantics in Kafka.",
        "Доклад Виталия Минко был про 5 архитектурных принципов.",
    ],
)
def test_sentences_that_only_look_like_noise_still_count(sentence: str) -> None:
    assert not_a_fact(sentence) is None


@pytest.mark.parametrize(
    "sentence",
    [
        "Как вы думаете, что будет дальше с этой моделью?",
        "Нас уже 3000 подписчиков на канале, спасибо вам!",
        "Просто длинное предложение без чисел и без терминов вообще.",
        "Коротко о 5.",
        'response = client.parse(model="gpt-4o-2024-08-06")',
        "В итоге посмотреть код можно на Github.",
    ],
)
def test_sentences_without_a_fact_give_no_card(sentence: str) -> None:
    card = best_card(sentence, set())
    assert card is None or card.score < 1.5


def test_english_prose_with_brackets_is_not_code() -> None:
    card = best_card("In torch.nn.Dropout the default rate is p = 0.5 (see the docs).", set())
    assert card is not None and _answers(card.question) == ["0.5"]


# --- definitions and lists ------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "question", "answer"),
    [
        (
            "Партиция — это упорядоченный append-only лог, и порядок гарантируется в ней.",
            "Что такое партиция?",
            "упорядоченный append-only лог",
        ),
        (
            "Training-serving skew is a difference between training and serving, caused by code.",
            "What is Training-serving skew?",
            "a difference between training and serving",
        ),
    ],
)
def test_a_definition_becomes_a_question(sentence: str, question: str, answer: str) -> None:
    card = best_card(sentence, set())
    assert card is not None and card.kind == "basic"
    assert (card.question, card.answer) == (question, answer)


@pytest.mark.parametrize(
    "sentence",
    ["Ещё одно важное отличие — это специализация.", "The main idea is a simple one here."],
)
def test_a_vague_head_is_no_definition(sentence: str) -> None:
    card = best_card(sentence, set())
    assert card is None or card.kind != "basic"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        pytest.param(
            "В MLflow четыре основных компонента:\n1️⃣ Tracking — логирование метрик;\n"
            "2️⃣ Projects — упаковка кода;\n3️⃣ Models — формат моделей;\n"
            "4️⃣ Model Registry — версии моделей.",
            ["Tracking", "Projects", "Models", "Model Registry"],
            id="ru-keycaps",
        ),
        pytest.param(
            "Executors in Airflow:\n👉 SequentialExecutor — one task at a time;\n"
            "👉 LocalExecutor — processes on one machine;\n👉 CeleryExecutor — a worker pool.",
            ["SequentialExecutor", "LocalExecutor", "CeleryExecutor"],
            id="en-emoji-bullets",
        ),
        pytest.param(
            "Этапы пайплайна:\n1.\nExtract — читаем сырые данные;\n2.\nTransform — чистим;\n"
            "3.\nLoad — пишем.",
            ["Extract", "Transform", "Load"],
            id="ru-markers-on-their-own-lines",
        ),
        pytest.param(
            "Stages of a query:\n• parser\n• rewriter\n• planner\n• executor",
            ["parser", "rewriter", "planner", "executor"],
            id="en-short-items",
        ),
    ],
)
def test_a_list_becomes_one_ordered_cloze_of_its_names(text: str, names: list[str]) -> None:
    cards = generate_offline(_post(text))
    lists = [c for c in cards if "\n1. " in c.question]
    assert len(lists) == 1, cards
    assert _answers(lists[0].question) == names
    assert [n for n, _ in cloze_deletions(lists[0].question)] == list(range(1, len(names) + 1))
    assert "️⃣" not in lists[0].question and "👉" not in lists[0].question
    # Its intro's count is the list card's, not a second card.
    assert not any(c.question.endswith(":") for c in cards)


@pytest.mark.parametrize(
    "items",
    [
        [
            "Подготовьте 5–7 историй заранее и адаптируйте их под разные вопросы.",
            "Держите 2 минуты.",
        ],
        ["Prepare five stories in advance and adapt them to every question.", "Keep it short."],
    ],
)
def test_a_list_of_advice_is_no_list_card(items: list[str]) -> None:
    assert ordered_list_cloze("Советы:", items) is None


@pytest.mark.parametrize(
    ("sentence", "names"),
    [
        ("Три главных table format'а: Apache Iceberg, Delta Lake и Apache Hudi.", [
            "Apache Iceberg", "Delta Lake", "Apache Hudi"
        ]),
        ("The three delivery semantics are: at-most-once, at-least-once and exactly-once.", [
            "at-most-once", "at-least-once", "exactly-once"
        ]),
        ("Среды вычислений: YQL, CHYT (ClickHouse over YT), SPYT (Spark over YT).", [
            "YQL", "CHYT (ClickHouse over YT)", "SPYT (Spark over YT)"
        ]),
    ],
)  # fmt: skip
def test_an_enumeration_after_a_colon_is_one_cloze(sentence: str, names: list[str]) -> None:
    cloze = colon_list_cloze(sentence)
    assert cloze is not None and _answers(cloze) == names


@pytest.mark.parametrize(
    "sentence",
    [
        "Difficulty оценивается по числу интентов: чем их больше, тем сложнее запрос.",
        "Большинство пакетов вызывает мысль: ууух, понаписал-то!",
        "The rule is simple: when in doubt, measure it again.",
    ],
)
def test_a_colon_before_clauses_is_no_list(sentence: str) -> None:
    assert colon_list_cloze(sentence) is None


# --- cards that stand alone, and their fields -------------------------------------------


@pytest.mark.parametrize(
    ("text", "prefix"),
    [
        pytest.param(
            "Apache Flink: окна и время\n\nПо умолчанию интервал watermark равен 200 мс.",
            "(Apache Flink) ",
            id="ru",
        ),
        pytest.param(
            "Notes on Kafka, explained\n\nBy default a segment file holds 1 GB of records.",
            "(Kafka) ",
            id="en",
        ),
    ],
)
def test_a_card_without_its_subject_gets_it_as_a_prefix(text: str, prefix: str) -> None:
    cards = generate_offline(_post(text))
    assert cards and all(c.question.startswith(prefix) for c in cards), cards
    # The heading is each card's Extra, and no card of its own.
    title = text.split("\n")[0]
    assert all(c.answer == title for c in cards if c.kind == "cloze")


@pytest.mark.parametrize(
    "text",
    [
        "Kafka: основы\n\nВ Kafka сегмент по умолчанию равен 1 ГБ.",
        "Kafka basics\n\nIn Kafka a segment is 1 GB by default.",
    ],
)
def test_a_card_that_names_its_subject_has_no_prefix(text: str) -> None:
    cards = generate_offline(_post(text))
    assert cards and not any(c.question.startswith("(") for c in cards)


@pytest.mark.parametrize(
    ("before", "sentence", "after"),
    [
        (
            "Каждая партиция хранится как набор сегментов.",
            "По умолчанию размер сегмента равен 1 ГБ.",
            "Удаляются данные целыми сегментами.",
        ),
        (
            "Every partition is stored as a set of segments.",
            "By default a segment holds 1 GB of records.",
            "Data is deleted a whole segment at a time.",
        ),
    ],
)
def test_the_quote_shows_the_context_not_the_sentence(
    before: str, sentence: str, after: str
) -> None:
    (card,) = generate_offline(_post(f"{before} {sentence} {after}"))
    assert normalize(card.source_quote) == normalize(f"{before} {sentence} {after}")
    assert shown_quote(card) == f"{before} … {after}"


# --- real posts' noise ------------------------------------------------------------------


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
            {"3 replicas", "200 partitions", "3", "200"},
            id="en-keycap-list",
        ),
    ],
)
def test_keycap_bullets_are_never_deletions(text: str, fact: set[str]) -> None:
    cards = generate_offline(_post(text))
    answers = _all_answers(cards)
    assert not answers & {"1", "2", "1️⃣", "2️⃣"}  # no bullet number is asked
    assert fact & answers  # the facts of the items still are


@pytest.mark.parametrize(
    ("text", "channel"),
    [
        pytest.param(
            "Kafka хранит сообщения 7 дней по умолчанию.\n\nПодписывайтесь, тут 100500 фактов!\n"
            "@de_channel\n#kafka #de\nИнженерия данных | подписаться",
            "Инженерия данных",
            id="ru",
        ),
        pytest.param(
            "Kafka keeps messages for 7 days by default.\n\nSubscribe for 100 more tips!\n"
            "@data_weekly\n#kafka #de\nData Eng Weekly",
            "Data Eng Weekly",
            id="en",
        ),
    ],
)
def test_signatures_calls_and_hashtag_lines_give_no_card(text: str, channel: str) -> None:
    cards = generate_offline(_post(text, channel=channel))
    assert [c.answers for c in cards] == [["7"]]
    assert cards[0].tags == ("kafka", "de")


@pytest.mark.parametrize(
    "preview",
    [
        "Data skew в Spark: как победить 3 проблемы\nhabr.com\nРазбор 5 приёмов на практике",
        "Feast: 2 stores in one feature store\ndocs.feast.dev",
    ],
)
def test_a_link_preview_gives_no_card(preview: str) -> None:
    text = f"По умолчанию Spark держит 200 партиций после shuffle.\n\n{preview}"
    cards = generate_offline(_post(text))
    assert [c.answers for c in cards] == [["200"]]


@pytest.mark.parametrize(
    "line",
    ["Source: PyTorch documentation, torch.optim and torch.nn.", "Источник: PostgreSQL 16 docs"],
)
def test_an_attribution_line_gives_no_card(line: str) -> None:
    cards = generate_offline(_post(f"Adam uses a learning rate of 0.001 by default.\n{line}"))
    assert [c.answers for c in cards] == [["0.001"]]


def test_a_line_broken_sentence_is_read_whole() -> None:
    text = "Ближайший аналог YTsaurus в опенсорсном\nмире — тот самый Hadoop."
    (card,) = generate_offline(_post(text))
    assert card.answers == ["Hadoop"] and "опенсорсном мире" in card.question


def test_thousands_are_one_number() -> None:
    card = best_card("У GPT-2 словарь состоит из 50 257 токенов.", set())
    assert card is not None and _answers(card.question) == ["50 257"]


def test_abbreviations_do_not_split_sentences() -> None:
    assert split_sentences("Отчёт Long et al. «Taking AI Welfare Seriously» вышел. Второе.") == [
        "Отчёт Long et al. «Taking AI Welfare Seriously» вышел.",
        "Второе.",
    ]


def test_post_hashtags_become_card_tags() -> None:
    cards = generate_offline(_post("Кластер держит 40 тысяч узлов без деградации.\n#systemdesign"))
    assert cards and all(c.tags == ("systemdesign",) for c in cards)


def test_every_card_passes_the_gates_on_a_noisy_post() -> None:
    text = (
        "📣 Друзья, 14 декабря в 19:00 выступаю на митапе в Москве.\n\n"
        "DAG — это направленный ациклический граф задач.\n"
        "Параметр parallelism по умолчанию равен 32.\n\n🔥48👍12\n@airflow_ru"
    )
    post = _post(text, channel="Airflow по-русски")
    cards = generate_offline(post)
    kept, rejected = check_cards([post], cards)
    assert kept == cards and not rejected
    assert {c.kind for c in cards} == {"basic", "cloze"}
    assert not any("19" in a or "14" in a for a in _all_answers(cards))


@pytest.mark.parametrize(
    ("sentence", "answers"),
    [
        # One example of several is no answer: the named thing the sentence is about is.
        ("Узкие трансформации, например map и filter, не требуют shuffle в Spark.", []),
        ("Narrow transformations such as map and filter never need a Spark shuffle.", []),
        # A pair is asked together: either alone the other gives away.
        (
            "Все table format'ы умеют schema evolution и time travel из коробки.",
            ["time travel", "schema evolution"],
        ),
        (
            "To see what blocks a query, Postgres exposes pg_stat_activity and pg_locks.",
            ["pg_stat_activity", "pg_locks"],
        ),
        # A name a dash names, or one the sentence goes on to explain after a dash.
        (
            "Чтобы поднять качество, добавляют реранкер — cross-encoder, который сортирует.",
            ["cross-encoder"],
        ),
        ("To raise quality, teams add a reranker — ColBERT, which reorders results.", ["ColBERT"]),
        (
            "Все table format'ы умеют schema evolution и time travel — чтение прошлого snapshot'а.",
            ["schema evolution", "time travel"],
        ),
        # What a negated clause is set against is the point.
        (
            "Не используем function calling syntax для структуры, а передаём response_format.",
            ["response_format"],
        ),
        (
            "We do not rely on function calling here, but pass response_format instead.",
            ["response_format"],
        ),
    ],
)
def test_which_term_a_sentence_asks(sentence: str, answers: list[str]) -> None:
    card = best_card(sentence, set())
    got = sorted(_answers(card.question)) if card and card.fact == "term" else []
    assert got == sorted(answers), card


@pytest.mark.parametrize(
    "sentence",
    [
        "При T < 1 распределение становится острее, а при T > 1 — более случайным.",
        "With T < 1 the distribution gets sharper; with T > 1 it gets flatter.",
    ],
)
def test_a_number_printed_twice_is_not_asked(sentence: str) -> None:
    card = best_card(sentence, set())
    assert card is None or "1" not in _answers(card.question)


def test_a_quoted_idiom_is_no_term() -> None:
    card = best_card(
        "Каждый индекс замедляет запись, так что «на всякий случай» их не создают.", set()
    )
    assert card is None or "на всякий случай" not in _answers(card.question)
    named = best_card("В статье «Attention Is All You Need» описан трансформер целиком.", set())
    assert named is not None and _answers(named.question) == ["Attention Is All You Need"]


# --- what a review of the generator found ---------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Шаблоны Helm:\n- image: {{ .Values.image }}\n- replicas: {{ .Values.replicas }}",
        "Шаблон {{ x }}:\n- Kafka\n- Flink",
        "Helm values:\n- Kafka — broker }}\n- Flink — engine",
    ],
)
def test_template_braces_in_a_list_give_no_card_and_no_error(text: str) -> None:
    post = _post(text)
    cards = generate_offline(post)
    assert all("{{ " not in c.question and " }}" not in c.question for c in cards)
    assert check_cards([post], cards)[0] == cards


@pytest.mark.parametrize(
    "text",
    [
        "🔥 Kafka хранит данные 7 дней 👍 по умолчанию в каждом топике.",
        "Про Kafka:\n- Kafka хранит данные 7 дней 🔥 по умолчанию в каждом топике.\n"
        "- Сегмент лога по умолчанию равен 1 ГБ.",
        "👉 Spark keeps 200 shuffle partitions 🔥 by default in every job.",
    ],
)
def test_emoji_inside_a_sentence_keep_its_quote_verbatim(text: str) -> None:
    post = _post(text)
    cards = generate_offline(post)
    kept, rejected = check_cards([post], cards)
    assert cards and kept == cards, rejected
    assert not any("🔥" in c.question or "👍" in c.question for c in cards)
    assert all(normalize(a) in normalize(text) for c in cards for a in c.answers)


@pytest.mark.parametrize(
    ("text", "cards"),
    [
        # A file, a module or a package is no site's name, and the lines around it stay.
        ("Размер сегмента в Kafka равен 1 ГБ.\nNode.js\nПул потоков libuv содержит 4 потока.", 2),
        ("The default segment is 1 GB in Kafka.\nREADME.md\nThe thread pool holds 4 threads.", 2),
        # Words that only look like noise: an environment, a channel of Go, a subscriber.
        ("Среда выполнения JVM по умолчанию выделяет 256 МБ под стек.", 1),
        ("В Go каналы по умолчанию имеют буфер из 0 элементов.", 1),
        ("A Kafka consumer subscribes to a topic and reads 500 records per poll.", 1),
        ("A Type I error rejects a true null hypothesis at alpha = 0.05.", 1),
        ("IT-компании используют Kafka для 90% потоков событий.", 1),
    ],
)
def test_facts_that_look_like_noise_keep_their_cards(text: str, cards: int) -> None:
    assert len(generate_offline(_post(text))) == cards


@pytest.mark.parametrize(
    "sentence",
    [
        "Самовнимание — это механизм взвешивания токенов по релевантности.",
        "Одноранговая сеть — это сеть равноправных узлов без сервера.",
    ],
)
def test_a_head_that_only_starts_like_a_vague_word_is_defined(sentence: str) -> None:
    card = best_card(sentence, set())
    assert card is not None and card.kind == "basic"


@pytest.mark.parametrize(
    "sentence",
    [
        "Функции высшего порядка, e.g. map и filter, принимают функцию как аргумент.",
        "Higher-order functions, e.g. map and filter, take a function as an argument.",
    ],
)
def test_an_abbreviated_example_is_an_example(sentence: str) -> None:
    card = best_card(sentence, set())
    assert card is None or not {"map", "filter"} & set(_answers(card.question))


def test_one_answer_is_asked_once_even_with_a_comparison() -> None:
    text = (
        "Kafka — это распределённый лог сообщений, а не очередь задач.\n"
        "Pulsar — это распределённый лог сообщений, а не очередь задач."
    )
    assert len(generate_offline(_post(text))) == 1


@pytest.mark.parametrize(
    "text",
    [
        "Форматы:\n–\nIceberg\n–\nDelta Lake\n–\nHudi",
        "Formats:\n*\nIceberg\n*\nDelta Lake\n*\nHudi",
    ],
)
def test_any_bullet_alone_on_its_line_opens_an_item(text: str) -> None:
    lists = [c for c in generate_offline(_post(text)) if "\n1. " in c.question]
    assert len(lists) == 1 and _answers(lists[0].question) == ["Iceberg", "Delta Lake", "Hudi"]


@pytest.mark.parametrize(
    ("text", "quote"),
    [
        (
            "По умолчанию размер сегмента равен 1 ГБ. Удаляются данные целыми сегментами.",
            "… Удаляются данные целыми сегментами.",
        ),
        (
            "Партиция хранится сегментами. Kafka хранит данные 7 дней 🔥 по умолчанию.",
            "Партиция хранится сегментами. …",
        ),
    ],
)
def test_the_quote_marks_where_the_front_stood(text: str, quote: str) -> None:
    (card,) = generate_offline(_post(text))
    assert shown_quote(card) == quote


def test_a_very_long_latin_run_is_read_in_linear_time() -> None:
    # Not a timing: the same answer whatever the run's length, and no pathological search
    # (a $-anchored pattern retried at every position took seconds here).
    for n in (10, 20_000):
        card = best_card("Ключ " + "d" * n + " действует 7 дней по умолчанию.", set())
        assert card is not None and _answers(card.question) == ["7"]


def test_a_raw_post_with_nul_characters_does_not_break_a_list() -> None:
    card = best_card("Три формата: Iceberg\x00, Delta Lake и Hudi.", set())
    assert card is None or all(
        a in "Три формата: Iceberg\x00, Delta Lake и Hudi." for a in _answers(card.question)
    )


@pytest.mark.parametrize(
    ("sentence", "answers"),
    [
        # English names in lower case, announced by the words before them.
        (
            "An LSM tree buffers writes in a structure called the memtable and flushes it.",
            ["memtable"],
        ),
        ("The background process that merges SSTables is called compaction.", ["compaction"]),
        ("For machine-to-machine calls the spec says to use the client credentials flow.", [
            "client credentials flow"
        ]),
    ],
)  # fmt: skip
def test_english_names_that_the_sentence_announces(sentence: str, answers: list[str]) -> None:
    card = best_card(sentence, set())
    assert card is not None and _answers(card.question) == answers, card


def test_announced_names_are_an_english_rule() -> None:
    # In Russian the Latin-script name is the term already; «называется» is its cue.
    card = best_card("Фоновый процесс слияния сегментов называется compaction.", set())
    assert card is not None and _answers(card.question) == ["compaction"]


def test_an_english_name_is_a_run_of_named_words() -> None:
    sentence = "Under the hood gRPC runs on HTTP/2 and uses protobuf as its wire format."
    card = best_card(sentence, set())
    assert card is not None and not any(" " in a for a in _answers(card.question)), card


@pytest.mark.parametrize(
    ("sentence", "answers"),
    [
        # A capitalised name after the kind of thing it names, in Russian.
        ("Проще всего применить поправку Бонферрони к уровню значимости каждой гипотезы.", [
            "Бонферрони"
        ]),
        ("Для проверки ряда на стационарность используют тест Дики–Фуллера с лагами.", [
            "Дики–Фуллера"
        ]),
        # What an English default is, is a name.
        ("The default policy is noeviction: the server returns errors on writes.", [
            "noeviction"
        ]),
        # An abbreviation with its expansion opens a sentence about what it does.
        ("MRR (Mean Reciprocal Rank) смотрит только на позицию первого релевантного ответа.", [
            "MRR (Mean Reciprocal Rank)"
        ]),
        ("AOF (append-only file) logs every write operation the server receives.", [
            "AOF (append-only file)"
        ]),
    ],
)  # fmt: skip
def test_names_a_sentence_gives_away_by_their_kind(sentence: str, answers: list[str]) -> None:
    card = best_card(sentence, set())
    assert card is not None and _answers(card.question) == answers, card


@pytest.mark.parametrize(
    "sentence",
    [
        # Not an expansion: the words in brackets do not spell the abbreviation.
        "GIL (как я выяснил) мешает потокам работать быстрее на нескольких ядрах.",
        # A name after a kind word must be capitalised: «тест прошёл» names nothing.
        "Вчера тест прошёл без ошибок на всех окружениях нашего кластера.",
        # "the default is" followed by a number is a number fact, not a name.
        "The default is sixteen workers per node in every cluster.",
    ],
)
def test_words_that_only_look_like_a_named_kind_are_no_name(sentence: str) -> None:
    card = best_card(sentence, set())
    asked = _answers(card.question) if card else []
    assert "GIL (как я выяснил)" not in asked and "прошёл" not in asked
    assert not any(a.startswith("sixteen workers") for a in asked)


@pytest.mark.parametrize(
    ("sentence", "answers"),
    [
        ("Каждая из инструкций RUN, COPY и ADD в Dockerfile создаёт новый слой образа.", [
            "RUN", "COPY", "ADD"
        ]),
        ("We compared GPT-4, LLaMA and PaLM on the same benchmark suite.", [
            "GPT-4", "LLaMA", "PaLM"
        ]),
    ],
)  # fmt: skip
def test_three_names_in_a_row_are_one_list(sentence: str, answers: list[str]) -> None:
    card = best_card(sentence, set())
    assert card is not None and card.fact == "list" and _answers(card.question) == answers


@pytest.mark.parametrize(
    "sentence",
    [
        # Examples of a kind, not the members of a list.
        "Есть функции высшего порядка, например map, filter и reduce, они есть везде.",
        # In English, steps in a row are no list of names.
        "Read the docs, run the tests and ship it before the release.",
    ],
)
def test_examples_and_plain_words_in_a_row_are_no_list(sentence: str) -> None:
    card = best_card(sentence, set())
    assert card is None or card.fact != "list", card


def test_a_restated_figure_is_asked_with_the_one_it_restates() -> None:
    card = best_card("Стандартная мощность в индустрии — 80%, то есть β = 0.2.", set())
    assert card is not None and card.question.count("{{c1::") == 2
    # Two figures without «то есть» between them are two facts: the later is asked alone.
    card = best_card("Модель весит 7 GB, а в int4 — 3.5 GB.", set())
    assert card is not None and _answers(card.question) == ["3.5 GB"]


@pytest.mark.parametrize(
    ("text", "heading"),
    [
        (
            "🐍 GIL: почему потоки в Python не ускоряют счётчик\n\n"
            "Интервал переключения потоков по умолчанию равен 0.005 секунды.",
            "GIL: почему потоки в Python не ускоряют счётчик",
        ),
        (
            "🚀 Kafka retention in practice\n\n"
            "By default Kafka keeps messages for 168 hours before it deletes them.",
            "Kafka retention in practice",
        ),
    ],
)
def test_an_emoji_opens_a_heading(text: str, heading: str) -> None:
    """A Telegram heading often opens with an emoji: it is the post's title (the Extra),
    not a list item and not a sentence to card."""
    cards = generate_offline(_post(text))
    assert cards
    assert all(card.answer == heading for card in cards)
    assert not any(heading.split(":")[0] in card.source_quote for card in cards)


@pytest.mark.parametrize(
    "text",
    [
        "🔹 Kafka хранит сообщения 7 дней по умолчанию.\n🔹 Flink держит состояние в RocksDB.",
        "🔹 Kafka keeps messages for 7 days by default.\n🔹 Flink keeps its state in RocksDB.",
    ],
)
def test_an_emoji_list_starts_with_an_item_not_a_heading(text: str) -> None:
    cards = generate_offline(_post(text))
    assert cards and all(card.answer == "" for card in cards)
    assert any("7" in card.answers for card in cards)


@pytest.mark.parametrize(
    ("sentence", "answer"),
    [
        ("α обычно берут 0.05 — это допустимая вероятность ошибки первого рода.", "0.05"),
        ("Alpha set at 0.05 is the accepted rate of false positives in a test.", "0.05"),
    ],
)
def test_a_head_that_states_a_figure_is_not_defined(sentence: str, answer: str) -> None:
    """«X — это Y» where X is a clause with a figure: asking «Что такое α обычно берут
    0.05?» makes no sense; the card asks the figure."""
    card = best_card(sentence, set())
    assert card is not None and card.kind == "cloze"
    assert _answers(card.question) == [answer]


@pytest.mark.parametrize(
    "sentence",
    [
        "Если релевантный айтем стоит на 3-м месте, вклад пользователя в метрику равен 1/3.",
        "When the first relevant item is at rank 3, the user adds 1/3 to the metric.",
    ],
)
def test_a_fraction_is_one_number(sentence: str) -> None:
    assert _asked(sentence) == ["1/3"]


@pytest.mark.parametrize(
    ("sentence", "answer"),
    [
        (
            "Для мониторинга дрейфа признаков часто используют Population Stability Index (PSI).",
            "Population Stability Index (PSI)",
        ),
        (
            "Redis пишет журнал AOF (append-only file) на диск раз в секунду.",
            "AOF (append-only file)",
        ),
        (
            "For drift monitoring teams usually compute the Population Stability Index (PSI).",
            "Population Stability Index (PSI)",
        ),
    ],
)
def test_an_abbreviation_is_asked_with_its_expansion(sentence: str, answer: str) -> None:
    """Either side of «Population Stability Index (PSI)» left in view gives the other away:
    a card that asks one asks both."""
    assert _asked(sentence) == [answer]


@pytest.mark.parametrize(
    "sentence",
    [
        "DistilBERT — это классический пример: он сохраняет 97% качества BERT и на 40% меньше.",
        "DistilBERT is the classic example: it keeps 97% of what BERT scores and is 40% smaller.",
    ],
)
def test_an_example_is_no_definition(sentence: str) -> None:
    card = best_card(sentence, set())
    assert card is not None and card.kind == "cloze"
    assert _answers(card.question)[0].endswith("%")


@pytest.mark.parametrize(
    ("sentence", "answer"),
    [
        (
            "Берите slim-базу: python:3.12-slim весит порядка 150 МБ против 1 ГБ у полного.",
            "150 МБ",
        ),
        (
            "Take the slim base: python:3.12-slim weighs about 150 MB versus 1 GB for full.",
            "150 MB",
        ),
    ],
)
def test_a_figure_set_against_another_is_not_asked(sentence: str, answer: str) -> None:
    """The version inside an image name is no figure, and of «150 МБ против 1 ГБ» the card
    asks what the sentence states, not what it compares it with."""
    assert _asked(sentence) == [answer]


@pytest.mark.parametrize(
    "sentence",
    ["Для этого есть SCD (Slowly Changing Dimensions).", "For this — use Apache Flink."],
)
def test_marks_are_no_context_for_a_term(sentence: str) -> None:
    """What is left of the sentence must say enough to determine the term: three words and
    a dash or a parenthesis are not enough."""
    assert best_card(sentence, set()) is None


@pytest.mark.parametrize(
    "sentence",
    [
        "gRPC runs on HTTP/2 and uses Protocol Buffers as its interface language and format.",
        "Сервис поддерживает HTTP/2 и отвечает быстрее, чем по старому протоколу.",
    ],
)
def test_a_protocol_version_stays_with_its_name(sentence: str) -> None:
    """«HTTP/2» is one name: a deletion of «HTTP» alone leaves «/2» behind it."""
    card = best_card(sentence, set())
    assert card is not None
    assert "{{c1::HTTP}}/" not in card.question
    assert all(not answer.startswith("2") for answer in _answers(card.question))


@pytest.mark.parametrize(
    ("text", "subject"),
    [
        (
            "gRPC vs REST — заметки после миграции\n\n"
            "Размер сообщения по умолчанию ограничен 4 МБ в большинстве реализаций.",
            "gRPC vs REST",
        ),
        (
            "gRPC vs REST — notes from our migration\n\n"
            "The default maximum message size in most implementations is 4 MB.",
            "gRPC",
        ),
    ],
)
def test_a_heading_may_open_with_a_lowercase_name(text: str, subject: str) -> None:
    """«gRPC vs REST» is a heading, not a sentence cut by a line break, and names what the
    post is about."""
    heading = text.split("\n", 1)[0]
    cards = generate_offline(_post(text))
    assert cards and all(card.answer == heading for card in cards)
    assert all(card.question.startswith(f"({subject}) ") for card in cards)


@pytest.mark.parametrize(
    "sentence",
    [
        "Since Kafka 3.0, enable.idempotence defaults to true, and it requires acks=all.",
        "gRPC runs on HTTP/2 and uses Protocol Buffers as its interface definition language.",
    ],
)
def test_english_names_in_an_opening_run_and_no_version_as_a_name(sentence: str) -> None:
    """The names after a sentence's first Latin word are still names («gRPC runs on
    HTTP/2»); a version alone («Kafka 3.0») is no name to ask."""
    card = best_card(sentence, set())
    assert card is not None
    answers = _answers(card.question)
    assert answers and not any(re.fullmatch(r"[\d.]+", answer) for answer in answers)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (
            "У git reset три режима:\n• --soft двигает только HEAD, индекс не трогает;\n"
            "• --mixed сбрасывает ещё и индекс, но не файлы;\n"
            "• --hard откатывает и индекс, и рабочую директорию.",
            ["--soft", "--mixed", "--hard"],
        ),
        (
            "git reset has three modes:\n• --soft moves only HEAD and keeps the index;\n"
            "• --mixed also resets the index but keeps the files;\n"
            "• --hard resets the index and the working tree as well.",
            ["--soft", "--mixed", "--hard"],
        ),
    ],
)
def test_a_flag_opening_an_item_is_its_name(text: str, names: list[str]) -> None:
    cards = [c for c in generate_offline(_post(text)) if len(c.answers) > 1]
    assert [card.answers for card in cards] == [names]


@pytest.mark.parametrize(
    ("text", "second"),
    [
        (
            "Классический пайплайн состоит из трёх этапов:\n1. разбиение документов на чанки;\n"
            "2. построение эмбеддингов и индексация в векторной базе;\n"
            "3. генерация ответа моделью по найденному контексту.",
            "построение эмбеддингов и индексация",
        ),
        (
            "The classic pipeline has three stages:\n1. splitting documents into chunks;\n"
            "2. embedding and indexing the chunks in a vector database;\n"
            "3. generating the answer from the retrieved context.",
            "embedding and indexing the chunks",
        ),
    ],
)
def test_a_step_is_named_up_to_where_or_how(text: str, second: str) -> None:
    """A step of several words is named by what is done; the name ends where a preposition
    opens where or how it is done."""
    cards = [c for c in generate_offline(_post(text)) if len(c.answers) > 1]
    assert len(cards) == 1
    assert cards[0].answers[1] == second


@pytest.mark.parametrize(
    ("sentence", "names"),
    [
        (
            "Сенсоры умеют работать в двух режимах: poke, когда сенсор держит слот всё время, "
            "и reschedule, когда он освобождает слот между проверками.",
            ["poke", "reschedule"],
        ),
        (
            "ARIMA(p, d, q) has three parts: p is the autoregressive order, d is the number "
            "of differences, and q is the moving-average order.",
            ["p", "d", "q"],
        ),
        (
            "A feature store has two parts: an offline store for historical data in training, "
            "and an online store with fast lookups for inference.",
            ["offline store", "online store"],
        ),
    ],
)
def test_a_counted_list_of_explained_items_is_one_cloze(sentence: str, names: list[str]) -> None:
    """As many items as the count announces, each named by its head: the explanations
    after «когда», "is" or a preposition are what the learner reads, not what is asked."""
    assert _answers(colon_list_cloze(sentence) or "") == names


@pytest.mark.parametrize(
    "sentence",
    [
        "Есть два подхода: можно дообучить модель целиком, когда данных много, а можно LoRA.",
        "There are two options: you can retrain the whole model when data is plentiful.",
    ],
)
def test_a_count_that_the_items_do_not_match_is_no_list(sentence: str) -> None:
    assert colon_list_cloze(sentence) is None


@pytest.mark.parametrize(
    ("sentence", "answer"),
    [
        # A default is what the sentence tells.
        (
            "В Spark кодек задаётся параметром spark.sql.parquet.compression.codec, "
            "и по умолчанию это snappy.",
            "snappy",
        ),
        ("The codec is set by parquet.compression and defaults to ZSTD in this build.", "ZSTD"),
        # The negated one is what the fact is not.
        ("По таймауту сенсор получает статус SKIPPED, а не FAILED.", "SKIPPED"),
        ("On timeout the sensor gets the state SKIPPED, not FAILED.", "SKIPPED"),
        # In Russian an identifier is more the point than English jargon around it.
        (
            "Адаптер можно влить в базовую модель через merge_and_unload(), и на inference "
            "не будет задержки.",
            "merge_and_unload",
        ),
        (
            "Merge the adapter with merge_and_unload() so inference has no extra latency.",
            "merge_and_unload",
        ),
        # A header and a kind after the name announce it.
        (
            "Клиенту стоит отвечать с заголовком Retry-After, чтобы он не долбил сервер.",
            "Retry-After",
        ),
        (
            "Proxies forward the header X-Request-ID so logs can be joined across services.",
            "X-Request-ID",
        ),
        ("Nginx's limit_req module is based on the leaky bucket method.", "leaky bucket"),
        (
            "An LSM tree buffers writes in a structure called the memtable and flushes it "
            "to immutable SSTables.",
            "memtable",
        ),
        (
            "Классическая иллюстрация — квартет Энскомба: наборы данных выглядят по-разному.",
            "Энскомба",
        ),
    ],
)
def test_which_name_a_sentence_points_at(sentence: str, answer: str) -> None:
    assert _asked(sentence) == [answer]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (
            "Рабочий план из трёх шагов:\n\n1️⃣ Требования. Сначала уточните, что система "
            "делает и для кого.\n\n2️⃣ Оценка нагрузки. Это расчёт: запросы в секунду и объём "
            "данных.\n\n3️⃣ Deep dive. Интервьюер выбирает одно место, и вы углубляетесь.",
            ["Требования", "Оценка нагрузки", "Deep dive"],
        ),
        (
            "There are two classic algorithms, and they behave differently under bursts.\n\n"
            "1) Token bucket. A bucket holds up to N tokens and is refilled at a fixed rate.\n\n"
            "2) Leaky bucket. Requests enter a queue and leave it at a constant rate.",
            ["Token bucket", "Leaky bucket"],
        ),
    ],
)
def test_items_titled_by_a_short_sentence_under_a_counting_intro(
    text: str, names: list[str]
) -> None:
    """An item's short first sentence is its name; the intro may stand a blank line above
    it, and counts the items even without a colon."""
    cards = [c for c in generate_offline(_post(text)) if len(c.answers) > 1]
    assert [card.answers for card in cards] == [names]
    assert cards[0].question.startswith(text.split("\n", 1)[0][:20])


@pytest.mark.parametrize(
    ("sentence", "figure"),
    [
        (
            "PgBouncer — это лёгкий пулер соединений для PostgreSQL, по умолчанию он "
            "слушает порт 6432.",
            "6432",
        ),
        (
            "PgBouncer is a lightweight connection pooler for PostgreSQL, and by default it "
            "listens on port 6432.",
            "6432",
        ),
    ],
)
def test_a_definition_with_a_figure_after_it_gives_both(sentence: str, figure: str) -> None:
    cards = sentence_cards(sentence, set())
    assert [card.kind for card in cards] == ["basic", "cloze"]
    assert _answers(cards[1].question) == [figure]


@pytest.mark.parametrize(
    "sentence",
    [
        "If your CV is a fancy two-column PDF with icons, the parser will mangle it.",
        "When the queue is a bottleneck, consumers fall behind within minutes.",
        "where m is the number of periods in one season, for monthly data twelve.",
    ],
)
def test_a_condition_is_no_definition(sentence: str) -> None:
    card = best_card(sentence, set())
    assert card is None or card.kind == "cloze"


def test_a_defined_name_is_asked_without_its_article() -> None:
    card = best_card("The memtable is an in-memory structure that buffers writes.", set())
    assert card is not None and card.question == "What is memtable?"


@pytest.mark.parametrize(
    ("sentence", "answer"),
    [
        (
            "Поэтому при обучении в fp16 нужен loss scaling: loss умножают на большой "
            "коэффициент перед backward.",
            "loss scaling",
        ),
        (
            "To train in fp16 you need LossScaling: the loss is multiplied by a large "
            "factor before the backward pass.",
            "LossScaling",
        ),
    ],
)
def test_a_name_its_colon_explains_is_asked(sentence: str, answer: str) -> None:
    assert _asked(sentence) == [answer]


@pytest.mark.parametrize(
    ("sentence", "answers"),
    [
        ("Опциональные поля помечаем как Optional, используем смело Dict/List.", ["Dict/List"]),
        ("Inside the cluster most services still talk plain TCP/IP between pods.", ["TCP/IP"]),
        # Shares that make up a whole give each other away.
        (
            "В итоге AI кода в решении — 5%, а все остальные 95% — обычные интеграции.",
            ["5%", "95%"],
        ),
        (
            "In the end AI code is 5% of the solution and the other 95% is integration work.",
            ["5%", "95%"],
        ),
    ],
)
def test_what_gives_the_answer_away_is_asked_with_it(sentence: str, answers: list[str]) -> None:
    assert _asked(sentence) == answers


@pytest.mark.parametrize(
    "sentence",
    [
        "Размер кучи задают флагом JVM (-Xmx4g), по умолчанию это четверть памяти.",
        "The heap size is set with a JVM (-Xmx4g) flag, a quarter of memory by default.",
        "Сенсор работает в 1e999 режимах: poke, когда он держит слот, и reschedule, когда нет.",
        "Both services rely on the same method to sign their requests with a shared key.",
        "Everyone agreed on the following protocol for retries between the services.",
    ],
)
def test_odd_sentences_give_no_error_and_no_empty_name(sentence: str) -> None:
    """A dash opening a parenthesis, an infinite count, "the same method": no exception,
    and no card that asks an adjective."""
    cards = sentence_cards(sentence, set())
    for card in cards:
        assert not {"same", "following"} & set(_answers(card.question))


def test_a_counted_item_is_found_where_its_word_starts() -> None:
    sentence = (
        "Логгер пишет на двух уровнях: debug, когда всё подряд уходит в changelog, "
        "и log, когда пишутся только ошибки."
    )
    cloze = colon_list_cloze(sentence) or ""
    assert "change{{" not in cloze
    assert _answers(cloze) in ([], ["debug", "log"])


def test_a_step_name_is_the_item_as_written() -> None:
    text = (
        "Пайплайн из двух этапов:\n1. построение эмбеддингов (embeddings) и индексация в "
        "векторной базе данных;\n2. генерация ответа моделью по найденному контексту."
    )
    for card in generate_offline(_post(text)):
        for answer in card.answers:
            assert answer in text


@pytest.mark.parametrize(
    ("sentence", "figure"),
    [
        (
            "DistilBERT сохраняет примерно 97% качества BERT, будучи на 40% меньше и на 60% "
            "быстрее.",
            "97%",
        ),
        (
            "DistilBERT keeps about 97% of what BERT scores while being 40% smaller and 60% "
            "faster.",
            "97%",
        ),
    ],
)
def test_a_hedged_figure_is_the_one_stated(sentence: str, figure: str) -> None:
    assert _asked(sentence) == [figure]


# --- round 4: what unseen posts (dev4) showed ---------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "Рекомендуемый подход на сегодня — Argon2id с 19 MiB памяти.",
        "For web and mobile apps the recommended flow today is the code flow with PKCE.",
    ],
)
def test_today_inside_a_sentence_is_nowadays_not_a_story(sentence: str) -> None:
    assert not_a_fact(sentence) is None
    assert best_card(sentence, set()) is not None


@pytest.mark.parametrize(
    ("sentence", "items"),
    [
        (
            "Сегодня разберём три алгоритма токенизации: BPE, WordPiece и Unigram.",
            ["BPE", "WordPiece", "Unigram"],
        ),
        (
            "Он состоит из трёх типов таблиц: хабы, линки и сателлиты.",
            ["хабы", "линки", "сателлиты"],
        ),
        ("It has three layers: bronze, silver and gold.", ["bronze", "silver", "gold"]),
        (
            "Today we cover three isolation levels: READ COMMITTED, REPEATABLE READ and "
            "SERIALIZABLE.",
            ["READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"],
        ),
    ],
)
def test_a_teaser_or_a_pronoun_still_gives_the_count_it_announces(
    sentence: str, items: list[str]
) -> None:
    assert not_a_fact(sentence) in {"anecdote", "pronoun subject"}
    assert _asked(sentence) == items


@pytest.mark.parametrize(
    "sentence",
    [
        "Сегодня в 15.40 я выступаю с тремя темами: Kafka, Flink и Spark.",
        "Today I will cover three topics: Kafka, Flink and Spark.",
        "Он перечисляет варианты: Kafka, Flink и Spark.",
    ],
)
def test_a_story_or_an_uncounted_pronoun_sentence_gives_no_list(sentence: str) -> None:
    assert best_card(sentence, set()) is None


@pytest.mark.parametrize(
    ("sentence", "answer"),
    [
        (
            "Ещё один приём на стороне сервинга — PagedAttention из vLLM: кэш хранится "
            "блоками фиксированного размера.",
            "PagedAttention",
        ),
        (
            "Another serving trick is PagedAttention from vLLM: the cache is kept in blocks "
            "of a fixed size.",
            "PagedAttention",
        ),
    ],
)
def test_where_a_name_comes_from_is_not_what_is_asked(sentence: str, answer: str) -> None:
    assert _asked(sentence) == [answer]


@pytest.mark.parametrize(
    ("sentence", "answer"),
    [
        (
            "gRPC runs on HTTP/2 and uses Protocol Buffers as its wire format.",
            "Protocol Buffers",
        ),
        (
            "To make POST safe to retry, the client sends a unique value in the "
            "Idempotency-Key header, typically a UUID v4.",
            "Idempotency-Key",
        ),
        (
            "The capacity factor limits how many tokens each expert can take per batch.",
            "capacity factor",
        ),
        (
            "A standard filter cannot delete; a counting Bloom filter replaces each bit "
            "with a small counter.",
            "counting Bloom filter",
        ),
    ],
)
def test_english_names_of_several_words(sentence: str, answer: str) -> None:
    assert _asked(sentence) == [answer]


@pytest.mark.parametrize(
    ("sentence", "not_asked"),
    [
        (
            "CAP says nothing about the normal case, which is why PACELC extends it: if "
            "there is a Partition, choose Availability or Consistency.",
            {"Partition", "Availability", "Consistency"},
        ),
        (
            "The recommended flow is the code flow with PKCE (Proof Key for Code Exchange).",
            {"Key", "Code", "Exchange", "Code Exchange"},
        ),
        (
            "The leader appends client commands to its log and replicates them with "
            "AppendEntries RPCs.",
            {"leader appends client"},
        ),
        # A title capitalises its words: a link preview's, a paper's.
        ("The Fourth Pillar of Deep Learning Revolution", {"Deep Learning Revolution"}),
    ],
)
def test_capitals_for_emphasis_an_expansion_or_a_verb_are_not_names(
    sentence: str, not_asked: set[str]
) -> None:
    card = best_card(sentence, set())
    assert card is None or not set(_answers(card.question)) & not_asked


@pytest.mark.parametrize(
    ("sentence", "answers"),
    [
        (
            "Ответ: 429 Too Many Requests, желательно вместе с заголовком Retry-After.",
            [["429"], ["Retry-After"]],
        ),
        (
            "Cassandra controls them with the num_tokens setting, which defaults to 16.",
            [["16"], ["num_tokens"]],
        ),
        (
            "Отношение DAU к MAU называют stickiness: DAU/MAU = 0,2 значит 6 дней из 30.",
            [["stickiness"], ["6"]],
        ),
    ],
)
def test_a_name_its_kind_announces_is_a_card_beside_the_figure(
    sentence: str, answers: list[list[str]]
) -> None:
    cards = sentence_cards(sentence, set())
    assert [_answers(card.question) for card in cards] == answers
    # Second to the first, so a post's budget takes it only when it can: a name the
    # sentence gives («называют stickiness») is its point, a figure is second to it.
    assert cards[1].score < cards[0].score


@pytest.mark.parametrize(
    ("sentence", "items"),
    [
        (
            "Сравнивайте не оклады, а total compensation: оклад, годовой бонус, акции и ДМС.",
            ["оклад", "годовой бонус", "акции", "ДМС"],
        ),
        (
            "Compare total compensation, not salaries: base salary, bonus, equity and benefits.",
            ["base salary", "bonus", "equity", "benefits"],
        ),
        (
            "Последствия три: лишние перерисовки, перепутанное локальное состояние компонентов "
            "(например, текст в input) и сброс фокуса.",
            ["лишние перерисовки", "перепутанное локальное состояние компонентов", "сброс фокуса"],
        ),
        (
            "The consequences are three: extra re-renders, mixed up local component state "
            "(typed text moves) and lost focus.",
            ["extra re-renders", "mixed up local component state", "lost focus"],
        ),
    ],
)
def test_enumerations_after_a_colon(sentence: str, items: list[str]) -> None:
    assert _asked(sentence) == items


@pytest.mark.parametrize(
    "sentence",
    [
        "The classic schedule vests over 4 years with a 1-year cliff: nothing vests in the "
        "first 12 months, then 25% vests at once, and the rest monthly or quarterly.",
        "Опцион вестится 4 года с порогом в 1 год: первые 12 месяцев ничего, потом сразу "
        "25%, а остальное помесячно или поквартально.",
    ],
)
def test_a_figure_far_from_the_colon_counts_no_items(sentence: str) -> None:
    card = best_card(sentence, set())
    assert card is None or card.fact != "list"


@pytest.mark.parametrize(
    ("sentence", "items"),
    [
        (
            "Для generation в RAGAS есть faithfulness, answer relevancy и context precision.",
            ["faithfulness", "answer relevancy", "context precision"],
        ),
        (
            "Для квантования после обучения называют GPTQ, AWQ и формат GGUF из llama.cpp.",
            ["GPTQ", "AWQ", "GGUF"],
        ),
        (
            "Window functions run after WHERE, GROUP BY and HAVING in the same query.",
            ["WHERE", "GROUP BY", "HAVING"],
        ),
        (
            "In HTTP, GET, PUT and DELETE are idempotent by definition, while POST is not.",
            ["HTTP", "GET", "PUT", "DELETE"],
        ),
        # English lists ordinary words too: each item runs to an article or a preposition.
        (
            "Before modelling, look at an STL decomposition, which splits a series into "
            "trend, seasonal and remainder components.",
            ["trend", "seasonal", "remainder components"],
        ),
        (
            "Put your current title, stack and years of experience in the top third.",
            ["current title", "stack", "years of experience"],
        ),
    ],
)
def test_listed_names_of_several_words(sentence: str, items: list[str]) -> None:
    assert _asked(sentence) == items


@pytest.mark.parametrize(
    ("sentence", "answer"),
    [
        (
            "BRIN хранит только min/max по диапазону блоков (по умолчанию 128 страниц), поэтому "
            "весит в сотни раз меньше B-tree.",
            "128",
        ),
        (
            "Redis samples a few keys (by default 5) and evicts the best candidate of them.",
            "5",
        ),
    ],
)
def test_the_figure_a_default_names_even_in_parentheses(sentence: str, answer: str) -> None:
    assert _asked(sentence) == [answer]


@pytest.mark.parametrize(
    "sentence",
    [
        "allkeys-lfu вытесняет редко используемые ключи (появилась в Redis 4.0).",
        "allkeys-lfu evicts the least frequently used keys (added in Redis 4.0).",
    ],
)
def test_a_version_in_parentheses_is_no_figure(sentence: str) -> None:
    card = best_card(sentence, set())
    assert card is None or "4.0" not in _answers(card.question)


@pytest.mark.parametrize(
    "sentence",
    [
        "С марта 2024 года метрика FID больше не входит в набор Core Web Vitals.",
        "Since March 2024 the FID metric is no longer part of Core Web Vitals.",
    ],
)
def test_a_year_gives_way_to_the_sentences_name(sentence: str) -> None:
    answers = _asked(sentence)
    assert "2024" not in answers and answers


@pytest.mark.parametrize(
    ("sentence", "question"),
    [
        (
            "Минимальный детектируемый эффект, или MDE, — это наименьшая разница между группами.",
            "Что такое минимальный детектируемый эффект, или MDE?",
        ),
        (
            "Коротко про персистентность: RDB — это периодический снапшот памяти на диск.",
            "Что такое RDB?",
        ),
        ("In short: AOF is a log of every write the server received.", "What is AOF?"),
    ],
)
def test_a_definitions_head_without_its_lead_in(sentence: str, question: str) -> None:
    card = best_card(sentence, set())
    assert card is not None and card.question == question


@pytest.mark.parametrize(
    ("channel", "text"),
    [
        (
            "Качество данных",
            "Качество данных обычно раскладывают на шесть измерений: полнота, уникальность, "
            "своевременность, валидность, точность и согласованность.",
        ),
        (
            "Data Quality",
            "Data quality is usually split into six dimensions: completeness, uniqueness, "
            "timeliness, validity, accuracy and consistency.",
        ),
    ],
)
def test_a_channel_named_for_its_topic_keeps_the_topics_cards(channel: str, text: str) -> None:
    post = _post(text, channel=channel)
    cards = generate_offline(post)
    assert len(cards) == 1 and len(cards[0].answers) == 6
    exported, _ = check_cards([post], cards)
    assert exported == cards


@pytest.mark.parametrize(
    ("channel", "text"),
    [
        ("Качество данных", "Подписывайтесь на канал Качество данных: 3 поста в неделю."),
        ("Data Quality", "Data Quality is our channel: 3 posts a week on data checks."),
    ],
)
def test_a_topic_named_channel_beside_a_channel_word_is_still_about_the_channel(
    channel: str, text: str
) -> None:
    assert generate_offline(_post(text, channel=channel)) == []


@pytest.mark.parametrize(
    ("sentence", "asked", "not_asked"),
    [
        (
            "Блокирующий код выносят в поток через asyncio.to_thread(), он появился в Python 3.9.",
            "asyncio.to_thread",
            "Python 3.9",
        ),
        (
            "Blocking code goes to a thread with asyncio.to_thread(), added in Python 3.9.",
            "asyncio.to_thread",
            "Python 3.9",
        ),
    ],
)
def test_a_name_with_its_version_says_when_not_what(
    sentence: str, asked: str, not_asked: str
) -> None:
    assert _asked(sentence) == [asked]


@pytest.mark.parametrize(
    "sentence",
    [
        "DENSE_RANK() вернёт 1, 1, 2 — ранги идут без пропусков.",
        "DENSE_RANK() returns 1, 1, 2 — the ranks have no gaps.",
    ],
)
def test_a_run_of_bare_numbers_is_an_example_not_a_figure(sentence: str) -> None:
    assert generate_offline(_post(sentence)) == []


@pytest.mark.parametrize(
    ("sentence", "answers"),
    [
        (
            "AWQ (Activation-aware Weight Quantization) исходит из того, что около 1% весов "
            "критичны для качества.",
            [["1%"], ["AWQ (Activation-aware Weight Quantization)"]],
        ),
        (
            "MRR (Mean Reciprocal Rank) looks only at the first relevant item: at rank 3 a "
            "user adds 1/3.",
            [["1/3"], ["MRR (Mean Reciprocal Rank)"]],
        ),
        (
            "T = 0 на практике означает greedy decoding.",
            [["greedy decoding"], ["0"]],
        ),
        ("In practice T = 0 means greedy decoding.", [["greedy decoding"], ["0"]]),
    ],
)
def test_what_a_sentence_names_is_a_card_beside_its_figure(
    sentence: str, answers: list[list[str]]
) -> None:
    # The name first where a word of naming gives it («означает», "means"); the figure
    # first where the sentence only spells an abbreviation out.
    cards = sentence_cards(sentence, set())
    assert [_answers(card.question) for card in cards] == answers
    assert cards[1].score < cards[0].score


@pytest.mark.parametrize(
    ("sentence", "answer"),
    [
        (
            "That is why Mixtral has about 47B total parameters but only about 13B active "
            "parameters per token.",
            "13B",
        ),
        ("Вот почему у Mixtral на токен активны только около 13B параметров.", "13B"),
    ],
)
def test_a_count_of_parameters_is_a_figure_not_a_models_name(sentence: str, answer: str) -> None:
    assert not_a_fact(sentence) is None
    assert _asked(sentence) == [answer]


@pytest.mark.parametrize(
    ("sentence", "answer"),
    [
        (
            "Argon2id, the winner of the Password Hashing Competition in 2015, is the first "
            "choice today.",
            "Argon2id",
        ),
        (
            "Most teams pick Redis, the in-memory store, for rate limiting counters.",
            "Redis",
        ),
    ],
)
def test_an_english_name_its_appositive_describes_is_asked(sentence: str, answer: str) -> None:
    assert _asked(sentence) == [answer]


@pytest.mark.parametrize(
    ("sentence", "answers"),
    [
        (
            "OWASP's minimum for it is 19 MiB of memory, 2 iterations and 1 degree of parallelism.",
            ["19", "2", "1"],
        ),
        ("Минимум OWASP для него — 19 MiB памяти, 2 итерации и 1 поток.", ["19", "2", "1"]),
    ],
)
def test_figures_listed_side_by_side_are_one_list(sentence: str, answers: list[str]) -> None:
    card = best_card(sentence, set())
    assert card is not None and card.fact == "list"
    assert _answers(card.question) == answers


@pytest.mark.parametrize(
    "sentence",
    [
        "For a 7B model with 32 layers, 32 KV heads, head_dim 128 and fp16, that is about "
        "0.5 MB per token.",
        "Для 7B-модели с 32 слоями, 32 головами и head_dim 128 это около 0,5 МБ на токен.",
    ],
)
def test_figures_a_sentence_computes_from_are_no_list(sentence: str) -> None:
    card = best_card(sentence, set())
    assert card is None or card.fact != "list"


@pytest.mark.parametrize(
    ("text", "subject"),
    [
        (
            "Mixture of Experts (MoE) — the short version\n\n"
            "Each token is sent to 2 of the 8 experts of a layer.",
            "MoE",
        ),
        (
            "Mixture of Experts (MoE) — коротко\n\nКаждый токен уходит к 2 из 8 экспертов слоя.",
            "Mixture of Experts",
        ),
        (
            "ARIMA in plain English\n\nThe d in ARIMA(p, d, q) is how many times the series "
            "is differenced, usually 1.",
            None,
        ),
        (
            "Raft in plain English\n\nA leader sends heartbeats every 50 ms to keep its "
            "followers from an election.",
            None,
        ),
        (
            "Случайный лес vs градиентный бустинг — объясняю на пальцах\n\n"
            "В бустинге деревья строятся последовательно, обычно их 100–1000.",
            None,
        ),
    ],
)
def test_a_heading_names_its_subject_not_a_language_or_a_comparison(
    text: str, subject: str | None
) -> None:
    cards = generate_offline(_post(text))
    assert cards
    for card in cards:
        prefix = re.match(r"\(([^)]*)\) ", card.question)
        assert (prefix.group(1) if prefix else None) == subject, card.question


def test_english_sentence_openers_are_no_subject() -> None:
    text = (
        "For web apps the recommended flow is the code flow with a 43-character verifier.\n"
        "For mobile apps the same flow needs a custom URL scheme with 1 redirect.\n"
        "For servers the client credentials flow takes 2 secrets at most.\n"
        "OAuth 2.0 is an authorization framework, not an authentication protocol."
    )
    assert all(not card.question.startswith("(For") for card in generate_offline(_post(text)))


@pytest.mark.parametrize(
    ("text", "subject"),
    [
        (
            "Оконные функции: ROW_NUMBER, RANK и DENSE_RANK\n\n"
            "На таблице в 10 млн строк запрос с подзапросом шёл 40 секунд.",
            "Оконные функции",
        ),
        (
            "Window functions: ROW_NUMBER, RANK and DENSE_RANK\n\n"
            "On a table of 10 million rows the subquery version took 40 seconds.",
            "Window functions",
        ),
        (
            "Mixture of Experts in one screen\n\nEach token is sent to 2 of the 8 experts.",
            "Mixture of Experts",
        ),
        (
            "Kafka: offsets, lag and rebalances\n\nA consumer commits offsets every 5 seconds "
            "by default.",
            "Kafka",
        ),
        ("Update: new defaults\n\nThe default batch size is now 32 rows per request.", None),
        (
            "Метод главных компонент за минуту\n\nОбычно оставляют столько компонент, чтобы "
            "объяснить 95% дисперсии.",
            None,
        ),
    ],
)
def test_a_heading_that_lists_names_or_opens_with_one_of_several_words(
    text: str, subject: str | None
) -> None:
    cards = generate_offline(_post(text))
    assert cards
    prefix = re.match(r"\(([^)]*)\) ", cards[0].question)
    assert (prefix.group(1) if prefix else None) == subject, cards[0].question


@pytest.mark.parametrize(
    "text",
    [
        "dbt: materializations и тесты за 5 минут\n\nДефолтная материализация — view, и "
        "её меняют в dbt_project.yml для 100 моделей сразу.",
        "kubectl: three commands for every day\n\nBy default kubectl logs prints the last "
        "10 lines only with --tail.",
    ],
)
def test_a_lowercase_heading_a_blank_line_sets_apart_is_the_title(text: str) -> None:
    heading = text.split("\n", 1)[0]
    cards = generate_offline(_post(text))
    assert cards and all(card.answer == heading for card in cards)
    assert all(heading not in card.question for card in cards)


@pytest.mark.parametrize(
    ("text", "question"),
    [
        (
            "Q: Что такое CUPED?\nA: CUPED — это метод снижения дисперсии метрики в A/B-тесте.",
            "Что такое CUPED?",
        ),
        (
            "Q: What is CUPED?\nA: CUPED is a variance reduction method for A/B tests.",
            "What is CUPED?",
        ),
    ],
)
def test_a_qa_posts_answer_marker_is_no_part_of_the_fact(text: str, question: str) -> None:
    cards = generate_offline(_post(text))
    assert [card.question for card in cards] == [question]


@pytest.mark.parametrize(
    ("sentence", "items"),
    [
        (
            "Остальные типы — docs, refactor, test, chore, ci — версию не меняют.",
            ["docs", "refactor", "test", "chore", "ci"],
        ),
        (
            "The other types — docs, refactor, test, chore and ci — leave the version alone.",
            ["docs", "refactor", "test", "chore", "ci"],
        ),
    ],
)
def test_names_set_off_by_dashes_are_one_list(sentence: str, items: list[str]) -> None:
    assert _asked(sentence) == items


@pytest.mark.parametrize(
    ("sentence", "not_asked"),
    [
        ("В команде из 5 человек их 10, а из 10 человек — уже 45.", "10"),
        ("In a team of 5 there are 10 channels, and in a team of 10 there are 45.", "10"),
    ],
)
def test_a_figure_printed_twice_in_two_parts_is_not_asked(sentence: str, not_asked: str) -> None:
    assert not_asked not in _asked(sentence)


def test_a_figure_printed_twice_in_one_part_is_asked_with_its_repeat() -> None:
    sentence = "PSI от 0.1 до 0.25 — умеренный сдвиг, больше 0.25 — значимый сдвиг."
    assert _asked(sentence) == ["0.25", "0.25"]


@pytest.mark.parametrize(
    "sentence",
    [
        'Mirror the exact keywords from the job description, e.g. "Kafka", not just "streaming".',
        "Keep the default settings, i.e. the ones etc. lists in its docs.",
    ],
)
def test_latin_abbreviations_are_no_names(sentence: str) -> None:
    card = best_card(sentence, set())
    answers = _answers(card.question) if card else []
    assert not {"e.g", "i.e", "etc", "e.g.", "i.e.", "etc."} & set(answers)


@pytest.mark.parametrize(
    "sentence",
    [
        "Bracket retention считают по интервалам: например, неделя, месяц и так далее.",
        "Bracket retention is counted by intervals: for example, week, month and so on.",
    ],
)
def test_an_enumeration_of_examples_is_no_list(sentence: str) -> None:
    card = best_card(sentence, set())
    assert card is None or card.fact != "list"


@pytest.mark.parametrize(
    ("sentence", "answer"),
    [
        ("Моржовый оператор `:=` появился в Python 3.8 (PEP 572).", "3.8"),
        ("The walrus operator `:=` was added in Python 3.8 (PEP 572).", "3.8"),
        ("Виртуальные потоки вышли в JDK 21 и планируются JVM, а не ОС.", "21"),
        ("Virtual threads shipped in JDK 21 and are scheduled by the JVM, not the OS.", "21"),
    ],
)
def test_the_version_a_thing_came_in_is_a_figure(sentence: str, answer: str) -> None:
    assert _asked(sentence) == [answer]


@pytest.mark.parametrize(
    ("sentence", "answer"),
    [
        (
            "The planner's cost model assumes `random_page_cost = 4.0` against "
            "`seq_page_cost = 1.0`.",
            "4.0",
        ),
        ("Планировщик считает `random_page_cost = 4.0` против `seq_page_cost = 1.0`.", "4.0"),
    ],
)
def test_inline_code_in_prose_and_the_figure_set_against(sentence: str, answer: str) -> None:
    assert _asked(sentence) == [answer]


@pytest.mark.parametrize(
    ("sentence", "items"),
    [
        (
            "BERT предобучали сразу на двух задачах — Masked Language Modeling (MLM) и Next "
            "Sentence Prediction (NSP).",
            ["Masked Language Modeling (MLM)", "Next Sentence Prediction (NSP)"],
        ),
        (
            "BERT was pre-trained on two tasks — Masked Language Modeling (MLM) and Next "
            "Sentence Prediction (NSP).",
            ["Masked Language Modeling (MLM)", "Next Sentence Prediction (NSP)"],
        ),
        # The names, not the clause after them about them all.
        (
            "ICE проще: Impact, Confidence, Ease, каждый по шкале от 1 до 10.",
            ["Impact", "Confidence", "Ease"],
        ),
        (
            "ICE is simpler: Impact, Confidence, Ease, each scored from 1 to 10.",
            ["Impact", "Confidence", "Ease"],
        ),
        # A teaser's list of three or more names is a fact.
        (
            "Остальная семья движков: SummingMergeTree, AggregatingMergeTree, "
            "CollapsingMergeTree — о них в следующих постах.",
            ["SummingMergeTree", "AggregatingMergeTree", "CollapsingMergeTree"],
        ),
        (
            "The rest of the family: SummingMergeTree, AggregatingMergeTree, "
            "CollapsingMergeTree — more on them next week.",
            ["SummingMergeTree", "AggregatingMergeTree", "CollapsingMergeTree"],
        ),
        # Markdown's backticks stay outside the deletions.
        (
            "Параметр `tool_choice` принимает три значения: `auto`, `none` и `required`.",
            ["auto", "none", "required"],
        ),
        (
            "The `tool_choice` parameter takes three string values: `auto`, `none` and `required`.",
            ["auto", "none", "required"],
        ),
        # A run of figures ends where its conjunction does; «plus» is one.
        (
            "Reminder: the LTS releases are 8, 11, 17 and 21, plus 25 since 2025.",
            ["8", "11", "17", "21", "25"],
        ),
        ("Reminder: the LTS releases are 8, 11 and 17, then 21 in 2023.", ["8", "11", "17"]),
        ("LTS-релизы Java — 8, 11, 17 и 21, а с 2025 года ещё и 25.", ["8", "11", "17", "21"]),
    ],
)
def test_lists_after_a_dash_a_teaser_or_before_a_clause(sentence: str, items: list[str]) -> None:
    assert _asked(sentence) == items


@pytest.mark.parametrize(
    "sentence",
    [
        "Он перечисляет варианты: Kafka, Flink и Spark.",
        "He lists the options: Kafka, Flink and Spark.",
    ],
)
def test_a_pronouns_uncounted_list_gives_no_card(sentence: str) -> None:
    assert not_a_fact(sentence) == "pronoun subject"
    assert best_card(sentence, set()) is None


@pytest.mark.parametrize(
    "sentence",
    [
        "В событии есть поле op: c — вставка, u — обновление, d — удаление, r — чтение при "
        "начальном снапшоте.",
        "Each event has an op field: c — insert, u — update, d — delete, r — read during the "
        "initial snapshot.",
    ],
)
def test_items_explained_by_dashes_keep_their_last_explanation(sentence: str) -> None:
    card = best_card(sentence, set())
    answers = _answers(card.question) if card else []
    assert not any(answer in {"r", "c — вставка", "c — insert"} for answer in answers)


@pytest.mark.parametrize(
    ("sentence", "answer"),
    [
        (
            "Эффект «Lost in the Middle» (Liu et al., 2023): модели хуже используют середину "
            "длинного контекста.",
            "Lost in the Middle",
        ),
        (
            'The "Lost in the Middle" effect (Liu et al., 2023): models recall facts placed '
            "mid-context worst.",
            "Lost in the Middle",
        ),
    ],
)
def test_a_citations_year_is_no_figure(sentence: str, answer: str) -> None:
    assert _asked(sentence) == [answer]


@pytest.mark.parametrize(
    ("sentence", "answer"),
    [
        (
            "Если передать tools, `auto` стоит по умолчанию и даёт модели решать, звать ли "
            "инструмент.",
            "auto",
        ),
        (
            "When tools are passed, `auto` is the default and lets the model decide whether to "
            "call a tool.",
            "auto",
        ),
    ],
)
def test_the_value_a_sentence_calls_the_default_is_asked(sentence: str, answer: str) -> None:
    assert _asked(sentence) == [answer]


@pytest.mark.parametrize(
    ("sentence", "answers"),
    [
        (
            "Serializable в PostgreSQL построен на SSI (Serializable Snapshot Isolation) и "
            "откатывает транзакцию с ошибкой 40001.",
            [["40001"], ["SSI (Serializable Snapshot Isolation)"]],
        ),
        (
            "Serializable in PostgreSQL is built on SSI (Serializable Snapshot Isolation) and "
            "aborts a transaction with error 40001.",
            [["40001"], ["SSI (Serializable Snapshot Isolation)"]],
        ),
    ],
)
def test_an_abbreviation_spelled_out_is_a_card_beside_the_figure(
    sentence: str, answers: list[list[str]]
) -> None:
    assert [_answers(card.question) for card in sentence_cards(sentence, set())] == answers


def test_a_russian_qa_answer_marker_is_dropped_too() -> None:
    text = "В: Что такое CUPED?\nО: CUPED — это метод снижения дисперсии метрики в A/B-тесте."
    assert [card.question for card in generate_offline(_post(text))] == ["Что такое CUPED?"]


@pytest.mark.parametrize(
    ("sentence", "answer"),
    [
        ("Спецификации: RFC 9000 для QUIC, RFC 9114 для HTTP/3.", "9114"),
        ("Specs: RFC 9000 for QUIC, RFC 9114 for HTTP/3.", "9114"),
    ],
)
def test_a_documents_number_is_a_figure_not_a_version(sentence: str, answer: str) -> None:
    assert _asked(sentence) == [answer]


@pytest.mark.parametrize(
    ("sentence", "answers"),
    [
        (
            "У RecursiveCharacterTextSplitter по умолчанию chunk_size = 4000 и "
            "chunk_overlap = 200 символов.",
            ["4000", "200"],
        ),
        (
            "RecursiveCharacterTextSplitter defaults to chunk_size = 4000 and "
            "chunk_overlap = 200 characters.",
            ["4000", "200"],
        ),
    ],
)
def test_settings_listed_with_their_values_are_one_list(sentence: str, answers: list[str]) -> None:
    card = best_card(sentence, set())
    assert card is not None and card.fact == "list" and _answers(card.question) == answers


@pytest.mark.parametrize(
    "sentence",
    [
        "Собрал дайджест по retrieval за неделю: пять коротких заметок из чатов.",
        "Here is this week's retrieval digest: five short notes from chats and papers.",
        "Десять лет пишу на Python, а про половину этого списка узнал в прошлом году.",
    ],
)
def test_the_authors_digest_and_verbs_give_no_card(sentence: str) -> None:
    assert not_a_fact(sentence) is not None
    assert best_card(sentence, set()) is None


@pytest.mark.parametrize(
    "line",
    ["FROM golang:1.22 AS build", "SELECT user_id, count(*) FROM events GROUP BY 1"],
)
def test_dockerfile_and_sql_lines_are_code(line: str) -> None:
    cards = generate_offline(_post(f"Сборка образа идёт в 3 стадии.\n{line}"))
    assert cards and all("FROM" not in card.question for card in cards)


@pytest.mark.parametrize(
    "sentence",
    [
        'Пишите exec form: `CMD ["python", "app.py"]`, тогда сигналы дойдут до процесса.',
        'Use the exec form: `CMD ["python", "app.py"]`, so signals reach the process.',
    ],
)
def test_a_comma_inside_inline_code_splits_no_list(sentence: str) -> None:
    card = best_card(sentence, set())
    assert card is None or card.fact != "list"


@pytest.mark.parametrize(
    ("text", "answers"),
    [
        (
            "Три столпа observability: logs, metrics и traces. Сегодня про метрики.",
            [["logs", "metrics", "traces"]],
        ),
        (
            "The three pillars of observability: logs, metrics and traces. Today: metrics.",
            [["logs", "metrics", "traces"]],
        ),
    ],
)
def test_a_short_aside_after_a_statement_is_not_glued_to_it(
    text: str, answers: list[list[str]]
) -> None:
    assert [card.answers for card in generate_offline(_post(text))] == answers


@pytest.mark.parametrize(
    "sentence",
    [
        "Thought: I need the current EUR/USD rate from the 2 sources.",
        "Из личного: в прошлом году мы перевели биллинг на Serializable и забыли про retry.",
        "Personal note: last year we moved billing to Serializable and forgot the 1 retry.",
    ],
)
def test_an_example_trace_or_a_personal_note_gives_no_card(sentence: str) -> None:
    assert not_a_fact(sentence) is not None


def test_a_sql_line_with_a_comment_in_any_language_is_code() -> None:
    text = "Сравнение с NULL даёт NULL в 3 случаях из 3.\nSELECT NULL = NULL;   -- NULL, а не TRUE"
    cards = generate_offline(_post(text))
    assert all("SELECT" not in card.question for card in cards)


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        (
            "**3) В контекст сборки улетает всё подряд.** Файл `.dockerignore` исключает "
            "`node_modules` и ещё 2 каталога из контекста.",
            "2",
        ),
        (
            "**3) Everything goes into the build context.** The `.dockerignore` file keeps "
            "`node_modules` and 2 more folders out of it.",
            "2",
        ),
    ],
)
def test_a_bold_heading_ends_at_its_closing_asterisks(text: str, answer: str) -> None:
    cards = generate_offline(_post(text))
    assert [card.answers for card in cards] == [[answer]]
    assert "**" not in cards[0].question


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        ("Спрашивали на позицию NLP-инженера, middle, в 2 компаниях.", "anecdote"),
        ("Asked at an interview for an NLP engineer, middle, in 2 companies.", "anecdote"),
        ("Вопросы — в комменты, на следующей неделе разберём joins.", "call to act"),
        ("Наш inference-сервис год назад весил 9 GB и собирался 20 минут.", "first person"),
        ("Our inference service weighed 9 GB a year ago and built in 20 minutes.", "first person"),
    ],
)
def test_the_teams_story_and_an_interview_retold_are_no_facts(sentence: str, reason: str) -> None:
    assert not_a_fact(sentence) == reason
    assert best_card(sentence, set()) is None


@pytest.mark.parametrize(
    "sentence",
    [
        'Пишите exec form: CMD ["python", "serve.py"], тогда сигнал дойдёт до процесса.',
        'Use the exec form: CMD ["python", "serve.py"], so the signal reaches the process.',
        "Norming — нормирование: договорились о правилах, процессах и зонах ответственности.",
        "Take a batch of N image-text pairs, embed both sides and compute the N × N matrix.",
    ],
)
def test_brackets_verbs_and_steps_make_no_list(sentence: str) -> None:
    card = best_card(sentence, set())
    assert card is None or card.fact != "list"


@pytest.mark.parametrize(
    "text",
    [
        "gRPC vs REST — заметки о нашей миграции\n\nЛимит сообщения по умолчанию — 4 МБ.",
        "gRPC vs REST — notes from our migration\n\nThe default message limit is 4 MB.",
    ],
)
def test_a_heading_in_the_first_person_is_still_the_heading(text: str) -> None:
    heading = text.split("\n", 1)[0]
    cards = generate_offline(_post(text))
    assert cards and all(card.answer == heading for card in cards)


@pytest.mark.parametrize(
    "text",
    [
        "Остальные типы — docs, refactor, 🔥 — версию не меняют.",
        "The other types — docs, refactor and 🔥 — leave the version alone.",
        "Для старта хватит трёх вещей: Kafka, Flink и ☕",
        "Three things get you started: Kafka, Flink and ☕",
    ],
)
def test_an_item_that_is_only_an_emoji_never_breaks_a_build(text: str) -> None:
    for card in generate_offline(_post(text)):
        assert all(answer.strip() for answer in card.answers)


@pytest.mark.parametrize(
    "sentence",
    [
        "Put your current , title, stack and years of experience in the top third.",
        "Put your big  fat, stack and years  of experience in the top third.",
    ],
)
def test_an_enumerations_deletions_are_whole_words_whatever_the_spacing(sentence: str) -> None:
    card = best_card(sentence, set())
    assert card is not None
    for answer in _answers(card.question):
        assert re.search(rf"(?<!\w){re.escape(answer)}(?!\w)", sentence), answer


@pytest.mark.parametrize(
    ("sentence", "answer"),
    [
        (
            "Коротко про персистентность: RDB — это снапшот всей базы на диск который Redis "
            "делает по расписанию в отдельном дочернем процессе через системный вызов fork.",
            "RDB",
        ),
        (
            "In short about persistence: RDB is a snapshot of the whole dataset that Redis "
            "writes on a schedule from a child process it starts with the fork system call.",
            "RDB",
        ),
    ],
)
def test_a_long_definitions_deletion_is_its_trimmed_head(sentence: str, answer: str) -> None:
    card = best_card(sentence, set())
    assert card is not None and _answers(card.question) == [answer]


@pytest.mark.parametrize(
    ("sentence", "answer"),
    [
        ("Порог классификации (по умолчанию 10.5) задаёт отсечку классов.", "10.5"),
        ("The classification threshold (by default 10.5) sets the class cut-off.", "10.5"),
        ("Размер блока (по умолчанию 128 МБ) задаёт гранулярность хранения.", "128 МБ"),
    ],
)
def test_a_figure_a_parenthesis_closes_on_is_asked_whole(sentence: str, answer: str) -> None:
    assert _asked(sentence) == [answer]


@pytest.mark.parametrize(
    ("text", "card", "name"),
    [
        (
            "PCA ищет ортогональные направления, вдоль которых дисперсия данных максимальна. "
            "Эти направления и называются главными компонентами.",
            "PCA ищет ортогональные направления, вдоль которых дисперсия данных максимальна. "
            "Эти направления и называются {{c1::главными компонентами}}.",
            "главными компонентами",
        ),
        (
            "Recall is the share of actual positives the model finds, TP / (TP + FN). "
            "Their harmonic mean is known as F1.",
            "Recall is the share of actual positives the model finds, TP / (TP + FN). "
            "Their harmonic mean is known as {{c1::F1}}.",
            "F1",
        ),
        (
            "In HTTP/2 all streams share one TCP connection, so one lost packet stalls all. "
            "That problem is known as head-of-line blocking, and QUIC removes it.",
            "In HTTP/2 all streams share one TCP connection, so one lost packet stalls all. "
            "That problem is known as {{c1::head-of-line blocking}}, and QUIC removes it.",
            "head-of-line blocking",
        ),
        (
            # A colon that leads to an example ends no name.
            "Моржовый оператор `:=` появился в Python 3.8. Официально он называется "
            "assignment expression и позволяет присвоить значение внутри выражения:",
            "Моржовый оператор `:=` появился в Python 3.8. Официально он называется "
            "{{c1::assignment expression}} и позволяет присвоить значение внутри выражения",
            "assignment expression",
        ),
        (
            # Here the sentence itself says what is named: it stands alone.
            "В обоих случаях виновата третья переменная, которая влияет и на лечение, и на "
            "результат, — её называют конфаундером (вмешивающейся переменной).",
            "В обоих случаях виновата третья переменная, которая влияет и на лечение, и на "
            "результат, — её называют {{c1::конфаундером}} (вмешивающейся переменной).",
            "конфаундером",
        ),
    ],
)
def test_a_name_given_is_asked_with_what_it_names(text: str, card: str, name: str) -> None:
    cards = generate_offline(_post(text))
    assert [c.question for c in cards if name in _answers(c.question)] == [card]


@pytest.mark.parametrize(
    "text",
    [
        # Nothing before the pronoun says what it names.
        "Их гармоническое среднее называют F1.",
        "That problem is known as head-of-line blocking, and QUIC removes it.",
        # What is before is not a fact either.
        "Вчера я полдня дебажил прод. Это называют «пятничный деплой».",
    ],
)
def test_a_name_given_of_nothing_is_no_card(text: str) -> None:
    assert generate_offline(_post(text)) == []


@pytest.mark.parametrize(
    ("sentence", "answer"),
    [
        ("My go-to starting point: chunks of 512 tokens with an overlap of 50 tokens.", "512"),
        ("Мой совет: держите ответ на behavioral-вопрос в пределах 2–3 минут.", "2–3"),
    ],
)
def test_what_the_author_introduces_with_a_colon_is_a_fact(sentence: str, answer: str) -> None:
    assert not_a_fact(sentence) == "first person"
    assert _asked(sentence) == [answer]


@pytest.mark.parametrize(
    "sentence",
    [
        "In my opinion: 80% of prompt problems are solved by a plain task description.",
        "Моё мнение: 80% проблем с промптами решаются описанием задачи.",
        # The first person after the colon tells the author's story.
        "Мой совет: я бы держал ответ в пределах 2–3 минут.",
        "Стартовая настройка, с которой я начинаю, — 512 токенов на чанк.",
    ],
)
def test_an_opinion_or_a_story_after_a_colon_is_no_fact(sentence: str) -> None:
    assert best_card(sentence, set()) is None


@pytest.mark.parametrize(
    ("sentence", "answer"),
    [
        (
            "The first number said out loud becomes the anchor, a reference point for the "
            "rest of the negotiation.",
            "anchor",
        ),
        (
            "A MoE layer replaces one feed-forward block with N experts and a router, the "
            "gating network that picks the experts of each token.",
            "router",
        ),
        (
            "Distillation trains the student on the teacher's soft targets, its full "
            "distribution over classes.",
            "teacher's soft targets",
        ),
    ],
)
def test_a_lowercase_name_an_appositive_explains_is_asked(sentence: str, answer: str) -> None:
    assert _asked(sentence) == [answer]


@pytest.mark.parametrize(
    ("sentence", "not_asked"),
    [
        (
            "With the default appendfsync everysec, a crash costs at most one second of writes.",
            "default appendfsync everysec",
        ),
        ("When the failure rate crosses a threshold, the breaker trips to open.", "threshold"),
        (
            "Stationarity means that the mean, the variance and the autocovariance stay "
            "constant over time.",
            "mean",
        ),
        ("If the bucket is empty, the request is rejected with a 429.", "bucket is empty"),
    ],
)
def test_an_opening_phrase_or_a_list_is_no_appositive(sentence: str, not_asked: str) -> None:
    card = best_card(sentence, set())
    assert card is None or not_asked not in _answers(card.question)


@pytest.mark.parametrize(
    ("sentence", "answer"),
    [
        (
            "Естественный ключ перестаёт быть уникальным, и вводят суррогатный ключ — "
            "искусственный идентификатор версии строки.",
            "суррогатный ключ",
        ),
        (
            "Убрали NSP и перешли на динамическое маскирование — маска генерируется заново "
            "при каждой подаче примера.",
            "динамическое маскирование",
        ),
        (
            "Тест relationships проверяет ссылочную целостность: каждое значение внешнего "
            "ключа есть в родительской модели.",
            "ссылочную целостность",
        ),
    ],
)
def test_a_russian_name_a_dash_or_colon_explains_is_asked(sentence: str, answer: str) -> None:
    assert _asked(sentence) == [answer]


@pytest.mark.parametrize(
    ("sentence", "not_asked"),
    [
        (
            "Отсюда золотое правило: не ребейзьте ветку, которую уже запушили.",
            "золотое правило",
        ),
        (
            "Стиль руководителя зависит от уровня сотрудника в конкретной задаче — то есть "
            "от компетентности и мотивации.",
            "конкретной задаче",
        ),
        ("Ещё одно важное отличие — это специализация моделей.", "важное отличие"),
        (
            "Мораль для продуктовой аналитики: разрежьте данные по ключевым сегментам.",
            "продуктовой аналитики",
        ),
    ],
)
def test_a_heading_or_a_circumstance_is_no_explained_name(sentence: str, not_asked: str) -> None:
    card = best_card(sentence, set())
    assert card is None or not_asked not in _answers(card.question)


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        (
            "An operation is idempotent if performing it several times has the same effect "
            "as performing it once.",
            "idempotent",
        ),
        (
            "Операцию называют идемпотентной, если повторный вызов даёт тот же результат, "
            "что и первый.",
            "идемпотентной",
        ),
    ],
)
def test_the_word_a_condition_defines_is_asked(text: str, answer: str) -> None:
    [card] = generate_offline(_post(text))
    assert _answers(card.question) == [answer]


@pytest.mark.parametrize(
    "sentence",
    [
        "The model is ready if the loss stops falling.",
        "A request is rejected if the bucket is empty.",
    ],
)
def test_a_state_or_a_passive_under_a_condition_defines_nothing(sentence: str) -> None:
    assert best_card(sentence, set()) is None


@pytest.mark.parametrize(
    ("sentence", "answer"),
    [
        # «он же …» says what the name before it is.
        ("Команда CREATE INDEX без USING создаёт B-tree, он же тип по умолчанию.", "B-tree"),
        # A word of naming ends the phrase before it and begins the name.
        (
            "Envoy uses a related scheme called ring hash in its load balancer.",
            "ring hash",
        ),
        ("Without USING, CREATE INDEX builds a B-tree, the default index type.", "B-tree"),
    ],
)
def test_a_name_its_sentence_goes_on_to_describe_is_asked(sentence: str, answer: str) -> None:
    assert _asked(sentence) == [answer]


@pytest.mark.parametrize(
    "text",
    [
        "Вот вы своим улучшением уменьшили p90 latency на 10% во всех сервисах команды.\n"
        "Невозможно отрицать, что снижение p90 latency на 10% — это улучшение для бизнеса.",
        "Imagine you cut p90 latency by 10% across all of your team's services.\n"
        "A 10% drop in p90 latency is an improvement nobody can deny.",
    ],
)
def test_a_scenarios_figure_is_asked_nowhere_in_the_post(text: str) -> None:
    assert "10%" not in _all_answers(generate_offline(_post(text)))


@pytest.mark.parametrize(
    ("text", "prefix", "names"),
    [
        (
            "📊 NPS за одну минуту\n"
            "NPS придумал Фред Райхельд, он считается по одному вопросу о рекомендации.\n"
            "🙂 9–10 — промоутеры\n😐 7–8 — нейтралы\n🙁 0–6 — критики",
            "(NPS) ",
            ["9–10", "7–8", "0–6"],
        ),
        (
            "PSI in plain English\n"
            "PSI compares a feature's bins today with the bins at training time.\n"
            "🟢 below 0.1 — no shift\n🟡 0.1 to 0.25 — a moderate shift\n🔴 above 0.25 — retrain",
            "(PSI) ",
            ["below 0.1", "0.1 to 0.25", "above 0.25"],
        ),
    ],
)
def test_emoji_bullets_that_differ_are_one_list(text: str, prefix: str, names: list[str]) -> None:
    lists = [c for c in generate_offline(_post(text)) if len(_answers(c.question)) > 1]
    assert [_answers(c.question) for c in lists] == [names]
    # A list no intro announces is prefixed with what the post is about.
    assert lists[0].question.startswith(prefix)


@pytest.mark.parametrize(
    "text",
    [
        "📌 Kafka хранит сообщения 7 дней по умолчанию.\n🔥 Размер сегмента лога равен 1 ГБ.\n"
        "💡 Фактор репликации по умолчанию равен 1.",
        "📌 By default Kafka keeps messages for 7 days.\n🔥 A log segment is 1 GB by default.\n"
        "💡 The default replication factor is 1.",
    ],
)
def test_emoji_that_open_statements_are_no_list(text: str) -> None:
    cards = generate_offline(_post(text))
    # Each statement is a card of its own, its figure asked; none is a list item.
    assert [_answers(c.question) for c in cards] in (
        [["7"], ["1 ГБ"], ["1"]],
        [["7"], ["1 GB"], ["1"]],
    )


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        (
            "Диапазон эфемерных портов по умолчанию в Linux — 32768–60999 на одну пару адресов:\n"
            "cat /proc/sys/net/ipv4/ip_local_port_range",
            "32768–60999",
        ),
        (
            "On Linux the default ephemeral port range is 32768–60999 for each address pair:\n"
            "cat /proc/sys/net/ipv4/ip_local_port_range",
            "32768–60999",
        ),
    ],
)
def test_a_figure_stated_before_its_example_is_a_card(text: str, answer: str) -> None:
    [card] = generate_offline(_post(text))
    assert _answers(card.question) == [answer] and not card.question.endswith(":")


@pytest.mark.parametrize(
    ("text", "name"),
    [
        (
            "Stable Diffusion собрана из трёх компонентов: VAE, U-Net и текстового энкодера.\n"
            "Это latent diffusion: denoising идёт не в пикселях, а в latent space VAE.",
            "latent diffusion",
        ),
        (
            "FlashAttention computes attention block by block in fast on-chip memory.\n"
            "This is tiling: the full attention matrix never has to sit in HBM at once.",
            "tiling",
        ),
    ],
)
def test_this_is_a_name_explained_is_asked_with_the_sentence_before(text: str, name: str) -> None:
    [card] = [c for c in generate_offline(_post(text)) if name in _answers(c.question)]
    before, _ = text.split("\n")
    assert card.question.startswith(before)


def test_this_with_a_name_but_no_colon_names_nothing() -> None:
    text = "Там, где важен формат ответа, ставим описание и примеры в Field. Это GPT тоже увидит."
    assert "GPT" not in _all_answers(generate_offline(_post(text)))
