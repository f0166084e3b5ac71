"""Cleaning pasted posts: each case is a preview copy and a full copy that disagree."""

from __future__ import annotations

from pathlib import Path

import pytest

from flashgen import read_posts
from flashgen.clean import find_links, is_noise, is_variant, merge_copies, post_id

A = "Первое предложение о том, как устроен планировщик задач."
B = "Второе предложение про хранилище метаданных и его реплики."
C = "Третье предложение о том, сколько узлов нужно кластеру."


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param([A, B, C, A, B, C], [A, B, C], id="identical-copies"),
        pytest.param([A, B, C, A, B, C[:25]], [A, B, C], id="second-copy-truncated-at-the-end"),
        pytest.param([A, B[:20] + "…", C, A, B, C], [A, B, C], id="preview-line-cut-with-ellipsis"),
        pytest.param(
            [
                "Он не мог найти нормальногорокет саентиста главного инженера.",
                "Он не мог найти нормального главного инженера.",
            ],
            ["Он не мог найти нормальногорокет саентиста главного инженера."],
            id="strikethrough-glued-in-one-copy",
        ),
        pytest.param(
            [A, "Пример:", B, A, "Пример:", "x = f(", "y,", ")", B],
            [A, "Пример:", "x = f(", "y,", ")", B],
            id="code-only-in-the-full-copy",
        ),
        pytest.param(
            ["Заголовок поста", A, B, "Другое начало второй копии.", A, B],
            ["Заголовок поста", "Другое начало второй копии.", A, B],
            id="first-lines-differ",
        ),
        pytest.param(
            [A, B, C, "А что думаете вы?", A, B, C[:30]],
            [A, B, C, "А что думаете вы?"],
            id="truncated-copy-keeps-the-first-copy-tail",
        ),
        pytest.param(
            [A, "Please open Telegram to view this post", "VIEW IN TELEGRAM", B],
            [A, B],
            id="ui-noise-goes",
        ),
        pytest.param(
            [A, "https://example.org/x", "https://example.org/x", B],
            [A, "https://example.org/x", B],
            id="repeated-url-once",
        ),
        pytest.param(
            ["def f():", "return (", "1", ")", "def g():", "return (", "2", ")"],
            ["def f():", "return (", "1", ")", "def g():", "return (", "2", ")"],
            id="repeats-inside-one-code-block-stay",
        ),
        pytest.param(
            [
                A,
                B,
                "Site",
                "Page title",
                "Описание страницы, которое повторяется дважды.",
                "Описание страницы, которое повторяется дважды.",
            ],
            [A, B, "Site", "Page title", "Описание страницы, которое повторяется дважды."],
            id="preview-description-once",
        ),
    ],
)
def test_merge_copies(lines: list[str], expected: list[str]) -> None:
    assert merge_copies(lines) == expected


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Обучение идёт в шесть раундов SFT.", "Обучение идёт в шесть раундов SFT.", True),
        ("Обучение идёт в шесть раундов SFT.", "Обучение идёт в шесть", True),
        ("Обучение идёт в шесть раундов SFT.", "идёт в шесть раундов SFT.", True),
        ("Обучение идёт в шесть раундов SFT.", "Обучение идёт в пять раундов SFT.", False),
        (")", "),", False),
        ("short one", "short one and more", False),
    ],
)
def test_is_variant(a: str, b: str, same: bool) -> None:
    assert is_variant(a, b) is same
    assert is_variant(b, a) is same


def test_links_are_found_once_without_trailing_punctuation() -> None:
    text = (
        "See https://a.example/p?q=1. Also (https://b.example/x) and "
        "https://a.example/p?q=1, then https://en.wikipedia.org/wiki/Foo_(bar)."
    )
    assert find_links(text) == [
        "https://a.example/p?q=1",
        "https://b.example/x",
        "https://en.wikipedia.org/wiki/Foo_(bar)",
    ]


def test_post_id_depends_on_channel_and_content_only() -> None:
    assert post_id("DevFM", "текст") == post_id("DevFM", "текст  ")
    assert post_id("DevFM", "текст") != post_id("Other", "текст")
    assert post_id("DevFM", "текст") != post_id("DevFM", "другой текст")


@pytest.mark.parametrize(
    ("line", "noise"),
    [
        pytest.param("🔥32👍1", True, id="ru-counters-glued"),
        pytest.param("❤️ 12  😁 3 👏 1", True, id="counters-spaced-with-variation-selector"),
        pytest.param("👍 1,2K 🔥 305", True, id="counters-in-thousands"),
        pytest.param("👍🏻 7", True, id="skin-tone"),
        pytest.param("🔥 3 причины выбрать Kafka", False, id="ru-heading-with-emoji-and-number"),
        pytest.param("👉 5 tips for Spark joins", False, id="en-heading-with-emoji-and-number"),
        pytest.param("2️⃣", False, id="keycap-digit-alone"),
        pytest.param("2️⃣ SLA по доступности данных", False, id="keycap-list-item"),
        pytest.param("12", False, id="a-number-alone"),
        pytest.param("View in Telegram", True, id="en-preview-chrome"),
    ],
)
def test_reaction_counters_are_noise_and_headings_are_not(line: str, noise: bool) -> None:
    assert is_noise(line) is noise


def test_a_pasted_post_loses_its_reaction_line_and_keeps_its_facts() -> None:
    ru = ["Kafka хранит сообщения 7 дней по умолчанию.", "🔥32👍1"]
    en = ["Spark shuffles data between stages.", "❤️ 12 😁 3"]
    assert merge_copies(ru) == ru[:1]
    assert merge_copies(en) == en[:1]


@pytest.mark.parametrize(
    ("title", "first", "second"),
    [
        pytest.param(
            "Kafka за 5 минут",
            "Топик в Kafka — это логическое имя потока сообщений.",
            "По умолчанию Kafka хранит данные 7 дней.",
            id="ru",
        ),
        pytest.param(
            "Spark in five minutes",
            "A stage ends where data is shuffled between executors.",
            "By default Spark SQL uses 200 shuffle partitions.",
            id="en",
        ),
    ],
)
def test_a_pasted_post_keeps_its_paragraph_breaks(title: str, first: str, second: str) -> None:
    lines = [title, "", first, "", "", second]
    assert merge_copies(lines) == [title, "", first, "", second]
    # Pasted twice (a preview, then the whole post): one copy, the breaks where they were.
    assert merge_copies([title, first, *lines]) == [title, "", first, "", second]
    # A blank line with only noise after it, or at the end, opens no paragraph.
    assert merge_copies([first, "", "🔥32👍1", ""]) == [first]


def test_paragraph_breaks_do_not_change_a_pasted_post_id(tmp_path: Path) -> None:
    flat = tmp_path / "flat.txt"
    spaced = tmp_path / "spaced.txt"
    flat.write_text(f"Forwarded from Канал\n{A}\n{B}\n", encoding="utf-8")
    spaced.write_text(f"Forwarded from Канал\n{A}\n\n{B}\n", encoding="utf-8")
    (one,), (two,) = read_posts([flat]), read_posts([spaced])
    assert two.text == f"{A}\n\n{B}" and one.text == f"{A}\n{B}"
    # A user's ledger and Anki notes are keyed by the id: a new reading must keep it.
    assert one.id == two.id
