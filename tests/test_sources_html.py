"""Telegram Desktop HTML exports: joined messages, forwarded bodies, text and entities,
dates from titles, pagination, media placeholders, and pages that are not exports."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from click.testing import CliRunner

from flashgen import read_posts
from flashgen.cli import main
from flashgen.errors import InputError
from flashgen.models import Post, ReadOptions
from flashgen.sources.telegram_html import parse_date

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
CHANNEL = EXPORTS / "channel_html"
SAVED = EXPORTS / "saved_html" / "messages.html"


def _by_number(posts: list[Post]) -> dict[str, Post]:
    return {post.id.split("/")[1]: post for post in posts}


def _page(chat: str, messages: list[str], *, history: bool = True) -> str:
    """An export page around message blocks, as the exporter lays it out."""
    body = "\n".join(messages)
    inner = f'<div class="history">\n{body}\n</div>' if history else body
    return (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8"/>\n<title>Exported Data</title>\n'
        '</head>\n<body onload="CheckLocation();">\n<div class="page_wrap">\n'
        '<div class="page_header">\n<div class="content">\n<div class="text bold">\n'
        f'{html.escape(chat)}\n</div>\n</div>\n</div>\n<div class="page_body chat_page">\n'
        f"{inner}\n</div>\n</div>\n</body>\n</html>\n"
    )


def _message(number: int, text: str, sender: str | None = "Канал") -> str:
    name = f'<div class="from_name">\n{sender}\n</div>\n' if sender else ""
    joined = "" if sender else " joined"
    return (
        f'<div class="message default clearfix{joined}" id="message{number}">\n'
        '<div class="body">\n'
        '<div class="pull_right date details" title="05.03.2024 12:00:00 UTC+03:00">\n'
        f'12:00\n</div>\n{name}<div class="text">\n{text}\n</div>\n</div>\n</div>'
    )


def test_channel_export_folder_reads_both_pages_and_skips_styles() -> None:
    posts = read_posts([CHANNEL])
    # 1, 9 and the date separators are service messages; 5 is a sticker without text.
    assert [p.id.split("/")[1] for p in posts] == ["2", "3", "4", "6", "7", "8", "10", "11", "12"]
    assert len({p.id.split("/")[0] for p in posts}) == 1


def test_text_keeps_line_breaks_and_unescapes_entities() -> None:
    post = _by_number(read_posts([CHANNEL]))["2"]
    assert post.text == (
        "Жизненный цикл сообщения в Kafka\n"
        "Kafka хранит сообщения 168 часов & больше, см. документацию.\n"
        "Тег <b> остаётся текстом, как и \"кавычки\" и 'апострофы'.\n"
        "Ещё: confluent.io/blog и @kafka_ru\n"
        "#kafka"
    )
    # Links, not mentions (t.me/<user>) or hashtags (href="").
    assert post.links == ("https://kafka.apache.org/documentation/", "https://confluent.io/blog")


def test_pre_and_code_are_verbatim() -> None:
    post = _by_number(read_posts([CHANNEL]))["3"]
    assert post.text == (
        "Пример продюсера:\n"
        'producer = KafkaProducer(acks="all")\n'
        '    producer.send("topic", b"x")\n'
        "Вызов flush() ждёт подтверждений."
    )


def test_media_placeholders_never_leak_and_captions_are_posts() -> None:
    posts = read_posts([CHANNEL])
    assert _by_number(posts)["4"].text == (
        "Схема партиций: порядок гарантирован только внутри партиции."
    )
    for post in posts:
        for noise in ("Not included", "Photo", "Sticker", "1280x720", "Previous messages"):
            assert noise not in post.text


@pytest.mark.parametrize(
    ("number", "channel", "text"),
    [
        # The forwarded body's from_name, without the original date in its span.
        ("6", "Алексей Зотов", "Reward-модель обучается над претрейном."),
        # A joined forward has no from_name of its own: the previous source's.
        ("7", "Алексей Зотов", "В DPO оставляют только ответы «сильно лучше» и «лучше»."),
        ("8", "Душный NLP", "Алаймент LlaMA 3.1\nSFT происходит в шесть раундов."),
        # " via @ml_bot" and the signature are not part of the channel or the text.
        ("10", "Data Eng", "Дополнение: retention задаётся параметром retention.ms."),
    ],
)
def test_forwarded_bodies_name_their_source(number: str, channel: str, text: str) -> None:
    post = _by_number(read_posts([CHANNEL]))[number]
    assert (post.channel, post.text) == (channel, text)


def test_joined_messages_inherit_the_previous_sender() -> None:
    posts = read_posts([SAVED])
    assert [(p.id.split("/")[1], p.channel) for p in posts] == [
        ("101", "gonzo-обзоры ML статей"),  # Saved Messages shows the source as sender
        ("102", "gonzo-обзоры ML статей"),  # joined: not the chat's name ("Аня")
        ("104", "Аня"),
        ("105", "Аня"),
    ]
    assert posts[0].links == ("https://gonzoml.substack.com/p/deep-learning-frameworks",)


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("05.03.2024 12:15:02 UTC+03:00", "2024-03-05T09:15:02+00:00"),
        ("06.03.2024 08:05:00 UTC-05:30", "2024-03-06T13:35:00+00:00"),
        ("06.03.2024 08:00:00 UTC", "2024-03-06T08:00:00+00:00"),
        ("06.03.2024 08:00:00", "2024-03-06T08:00:00+00:00"),
        ("31.02.2024 08:00:00", None),
        ("вчера", None),
    ],
)
def test_dates_come_from_the_title_as_utc(title: str, expected: str | None) -> None:
    assert parse_date(title) == expected


def test_dates_of_posts() -> None:
    posts = _by_number(read_posts([CHANNEL]))
    assert posts["2"].date == "2024-03-05T09:15:02+00:00"
    assert posts["12"].date == "2024-03-06T13:35:00+00:00"


def _paginated(folder: Path) -> list[Path]:
    folder.mkdir()
    pages = []
    for page in (1, 2, 10):
        name = "messages.html" if page == 1 else f"messages{page}.html"
        path = folder / name
        path.write_text(_page("Канал", [_message(page, f"Пост со страницы {page}.")]), "utf-8")
        pages.append(path)
    return pages


def test_pagination_files_are_read_in_page_order(tmp_path: Path) -> None:
    pages = _paginated(tmp_path / "export")
    expected = ["Пост со страницы 1.", "Пост со страницы 2.", "Пост со страницы 10."]
    assert [p.text for p in read_posts([tmp_path / "export"])] == expected
    # A shell glob passes them as messages.html messages10.html messages2.html.
    by_name = sorted(pages, key=lambda p: p.name)
    assert [p.text for p in read_posts(by_name)] == expected


def test_joined_messages_across_pages_start_fresh(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "messages.html").write_text(
        _page("Канал", [_message(1, "Первый.", sender="Автор")]), "utf-8"
    )
    (folder / "messages2.html").write_text(
        _page("Канал", [_message(2, "Второй.", sender=None)]), "utf-8"
    )
    assert [p.channel for p in read_posts([folder])] == ["Автор", "Канал"]


def test_username_links_html_posts() -> None:
    posts = read_posts([SAVED], ReadOptions(username="saved_by_anya"))
    assert posts[0].url == "https://t.me/saved_by_anya/101"
    assert read_posts([SAVED])[0].url is None  # the HTML export holds no chat id


def _full_export(root: Path) -> None:
    """A full-account HTML export: an index, a chat list, and a folder per chat."""
    (root / "lists").mkdir(parents=True)
    (root / "export_results.html").write_text(_page("Exported Data", [], history=False), "utf-8")
    entries = []
    for folder, name, kind in [("chat_1", "DevFM", "channel"), ("chat_2", "Мама", "private")]:
        entries.append(
            f'<a class="entry block_link clearfix" href="../chats/{folder}/messages.html'
            '#allow_back">\n<div class="pull_left userpic_wrap">\n</div>\n<div class="body">\n'
            f'<div class="pull_right info details">\n{kind}\n</div>\n'
            f'<div class="name bold">\n{name}\n</div>\n</div>\n</a>'
        )
        chat = root / "chats" / folder
        chat.mkdir(parents=True)
        (chat / "messages.html").write_text(
            _page(name, [_message(1, f"Сообщение из чата {name}.", sender=name)]), "utf-8"
        )
    (root / "lists" / "chats.html").write_text(_page("Chats", entries, history=False), "utf-8")


def test_full_html_export_reads_channels_unless_chats_are_named(tmp_path: Path) -> None:
    _full_export(tmp_path / "export")
    assert [p.channel for p in read_posts([tmp_path / "export"])] == ["DevFM"]
    named = read_posts([tmp_path / "export"], ReadOptions(chats=("мама",)))
    assert [p.text for p in named] == ["Сообщение из чата Мама."]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            "<!DOCTYPE html><html><body><h1>My blog</h1><p>Hi</p></body></html>",
            "is HTML but not a Telegram Desktop export",
        ),
        (_page("Exported Data", [], history=False), "without messages"),
        (_page("Канал", ['<div class="message service" id="message1">x</div>']), "no posts"),
    ],
    ids=["foreign page", "index page", "no posts"],
)
def test_bad_html_is_one_clear_line(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "page.html"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_posts([path])
    assert str(caught.value).startswith(f"{path}: ") and problem in str(caught.value)
    result = CliRunner().invoke(main, ["posts", str(path)])
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output + result.stderr
