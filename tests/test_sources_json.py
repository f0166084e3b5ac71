"""Telegram Desktop JSON exports: entity lists, service messages, captions, the exporter's
`\\xNN` escapes, full-account exports, chat selection, links, and errors with positions."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from flashgen import read_posts
from flashgen.cli import main
from flashgen.errors import FlashgenError, InputError
from flashgen.models import Post, ReadOptions
from flashgen.sources.jsonstream import JsonStream

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
CHANNEL = EXPORTS / "channel_json" / "result.json"
FULL = EXPORTS / "full_json" / "result.json"


def _by_id(posts: list[Post]) -> dict[str, Post]:
    return {post.id: post for post in posts}


def test_channel_export_keeps_only_messages_with_text() -> None:
    posts = read_posts([CHANNEL])
    # 1, 8: service (create_channel, pin_message); 5: sticker; 7: photo without caption;
    # 12: unsupported; 14: a poll without text.
    assert [p.id for p in posts] == [f"1712345678/{n}" for n in (2, 3, 4, 6, 9, 10, 11, 13)]


def test_entity_list_is_joined_with_links_code_and_hashtags_kept() -> None:
    post = _by_id(read_posts([CHANNEL]))["1712345678/3"]
    assert post.text == (
        "Attention is all you need\n"
        "Разбор статьи и код на github.com/karpathy/nanoGPT:\n"
        "def attention(q, k, v):\n"
        "    scores = q @ k.T / sqrt(d)\n"
        "    return softmax(scores) @ v\n"
        "Вызов attention(q, k, v) для @nlp_chat\n"
        "#transformers"
    )
    # text_link hrefs and bare links (given https), not mentions; `text` wins over a
    # shorter `text_entities`.
    assert post.links == (
        "https://papers.example.org/attention",
        "https://github.com/karpathy/nanoGPT",
    )


def test_nested_entities_are_flattened_with_their_links() -> None:
    post = _by_id(read_posts([CHANNEL]))["1712345678/4"]
    assert post.text == "Жирный текст с курсивной ссылкой внутри одного поста."
    assert post.links == ("https://example.org/nested",)


def test_plain_string_text_and_its_bare_link() -> None:
    post = _by_id(read_posts([CHANNEL]))["1712345678/2"]
    assert post.text == (
        "Adam хранит скользящие средние градиента и его квадрата.\n"
        "Подробнее: https://arxiv.org/abs/1412.6980."
    )
    assert post.links == ("https://arxiv.org/abs/1412.6980",)


def test_hex_escapes_are_repaired_and_escaped_backslashes_left_alone() -> None:
    post = _by_id(read_posts([CHANNEL]))["1712345678/9"]
    # \x0C and \x0B become line breaks; `\\x41` is a backslash and "x41"; `\\\x0C` is a
    # backslash and a form feed.
    assert post.text == ("Разделы:\nпервый\nвторой. Путь C:\\x41 не экранирование, а C:\\\n — да.")


@pytest.mark.parametrize(
    ("message_id", "channel"),
    [
        ("1712345678/10", "Душный NLP"),  # forwarded_from wins; `from` is null
        ("1712345678/11", "ML Notes"),  # forwarded_from null: the chat's name
        ("1712345678/2", "ML Notes"),
    ],
)
def test_channel_is_the_forward_source_else_the_chat(message_id: str, channel: str) -> None:
    assert _by_id(read_posts([CHANNEL]))[message_id].channel == channel


def test_captions_are_posts_and_placeholders_never_leak() -> None:
    posts = _by_id(read_posts([CHANNEL]))
    assert posts["1712345678/6"].text == "Схема multi-head attention на одной картинке."
    assert posts["1712345678/13"].text == "Слайды лекции про RLHF в PDF."
    everything = json.dumps([p.model_dump() for p in posts.values()], ensure_ascii=False)
    for placeholder in ("File not included", "exceeds maximum size", "Change data exporting"):
        assert placeholder not in everything


def test_date_is_utc_from_unixtime_and_url_links_the_chat() -> None:
    post = _by_id(read_posts([CHANNEL]))["1712345678/2"]
    assert post.date == "2024-03-05T09:15:02+00:00"
    assert post.url == "https://t.me/c/1712345678/2"


@pytest.mark.parametrize("username", ["ml_notes", "@ml_notes", "https://t.me/ml_notes/"])
def test_username_gives_public_links(username: str) -> None:
    posts = read_posts([CHANNEL], ReadOptions(username=username))
    assert posts[0].url == "https://t.me/ml_notes/2"


def test_an_edited_post_keeps_its_id_and_is_kept_once(tmp_path: Path) -> None:
    data = json.loads(CHANNEL.read_text(encoding="utf-8").replace("\\x0", "\\u000"))
    edited = next(m for m in data["messages"] if m["id"] == 2)
    edited["text"] = "Adam: исправленный текст поста."
    edited["edited_unixtime"] = "1709900000"
    later = tmp_path / "later.json"
    later.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    posts = read_posts([CHANNEL, later])
    assert [p.id for p in posts] == [p.id for p in read_posts([CHANNEL])]
    assert _by_id(posts)["1712345678/2"].text.startswith("Adam хранит")


def test_full_export_reads_channels_and_saved_messages_by_default() -> None:
    posts = read_posts([FULL])
    assert [(p.id, p.channel) for p in posts] == [
        ("5550001/101", "DevFM"),  # saved from DevFM
        ("5550001/102", "Saved Messages"),
        # DevFM's own copy of 101 is the same post: kept once. "Мама" (personal) and
        # "ML чат" (group) are not read unless named.
        ("1800000003/9", "Старый канал"),  # left_chats
    ]
    assert posts[1].url is None  # Saved Messages has no t.me link


def test_chat_option_picks_exactly_the_chats_named() -> None:
    posts = read_posts([FULL], ReadOptions(chats=("мама", "  ML   чат ")))
    assert [(p.id, p.channel, p.text) for p in posts] == [
        ("5550002/201", "Мама", "Позвони, когда освободишься."),
        ("1700000002/5", "ML чат", "Кто-нибудь пробовал SemDedup на своих данных?"),
    ]


def test_chat_option_filters_single_chat_exports_by_name() -> None:
    options = ReadOptions(chats=("ML Notes",))
    posts = read_posts([CHANNEL, FULL], options)
    assert {p.id.split("/")[0] for p in posts} == {"1712345678"}


def test_unknown_chat_is_one_clear_error() -> None:
    with pytest.raises(FlashgenError) as caught:
        read_posts([FULL], ReadOptions(chats=("DevFM", "Несуществующий")))
    message = str(caught.value)
    assert '--chat "Несуществующий": no such chat' in message
    assert '"DevFM"' not in message.split("chats found")[0]
    assert '"Saved Messages", "Мама", "DevFM", "ML чат", "Старый канал"' in message


def test_export_with_no_posts_says_so(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text(
        json.dumps(
            {
                "name": "Тихий канал",
                "type": "private_channel",
                "id": 1,
                "messages": [
                    {"id": 1, "type": "service", "action": "create_channel", "text": ""},
                    {"id": 2, "type": "message", "media_type": "sticker", "text": ""},
                ],
            }
        ),
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="holds no posts"):
        read_posts([path])


# Streaming: the same values at every chunk size, escapes split anywhere.


def _walk(stream: JsonStream) -> Any:
    """Rebuild a document through the stream's stepping API, as the readers use it."""
    char = stream.peek()
    if char == "{":
        result = {}
        for key in stream.members():
            result[key] = _walk(stream)
        return result
    if char == "[":
        items = []
        for _ in stream.items():
            items.append(_walk(stream))
        return items
    return stream.value()


def _reference(text: str) -> Any:
    # An independent repair: a regex over the whole text, not chunk by chunk.
    repaired = re.sub(r"(?<!\\)((?:\\\\)*)\\x([0-9A-Fa-f]{2})", r"\1\\u00\2", text)
    return json.loads(repaired, strict=False)


TRICKY = '{"a": "\\x0C\\\\x41\\\\\\x0B", "b": [1, 23456, true, null, "\\\\"], "c": "x\\x1F"}'


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 4, 5, 7, 64, 4096])
@pytest.mark.parametrize("source", ["channel", "full", "tricky"])
def test_stream_gives_the_same_document_at_any_chunk_size(source: str, chunk_size: int) -> None:
    text = {
        "channel": CHANNEL.read_text(encoding="utf-8"),
        "full": FULL.read_text(encoding="utf-8"),
        "tricky": TRICKY,
    }[source]
    stream = JsonStream(io.BytesIO(text.encode()), Path("x.json"), chunk_size=chunk_size)
    assert _walk(stream) == _reference(text)
    stream.end()


def test_stream_keeps_only_a_window_of_a_large_file(monkeypatch: pytest.MonkeyPatch) -> None:
    message = {"id": 1, "type": "message", "date_unixtime": "1", "text": "слово " * 100}
    body = ",\n".join(json.dumps(dict(message, id=i), ensure_ascii=False) for i in range(3000))
    data = f'{{"name": "Big", "type": "public_channel", "id": 9, "messages": [{body}]}}'.encode()
    assert len(data) > 3_000_000
    stream = JsonStream(io.BytesIO(data), Path("big.json"), chunk_size=64 * 1024)
    widest = 0
    count = 0
    for key in stream.members():
        if key != "messages":
            stream.value()
            continue
        for _ in stream.items():
            stream.value()
            count += 1
            widest = max(widest, len(stream._buf))
    assert count == 3000
    assert widest < 3 * 64 * 1024


# Bad input: one line with the file, line and column.


MALFORMED = {
    "truncated": ('{\n "name": "X",\n "messages": [\n  {"id": 1, "text": "об', 4, 24),
    "missing comma": ('{\n "name": "X"\n "messages": []\n}', 3, 2),
    "bad literal": ('{"messages": [{"id": 1, "from": nul}]}', 1, 33),
    "bad escape after repairs": ('{"messages": [{"text": "\\x0C\\x0C\\q"}]}', 1, 33),
    "trailing text": ('{"messages": []}\n]', 2, 1),
    "empty": ("{", 1, 2),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_json_names_file_line_and_column(tmp_path: Path, case: str) -> None:
    text, line, column = MALFORMED[case]
    path = tmp_path / "result.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_posts([path])
    assert str(caught.value).startswith(f"{path}:{line}:{column}: ")


def test_truncated_export_says_it_ends_early(tmp_path: Path) -> None:
    text = CHANNEL.read_text(encoding="utf-8")
    path = tmp_path / "result.json"
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    cut = text[: len(text) // 2]
    line, column = cut.count("\n") + 1, len(cut.rsplit("\n", 1)[-1]) + 1
    result = CliRunner().invoke(main, ["posts", str(path)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: {path}:{line}:{column}: the JSON ends too early (is the file cut short?)"
    ]
    assert "Traceback" not in result.output + result.stderr


def test_export_that_is_not_utf8_says_where(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_bytes('{"name": "Café", "messages": []}'.encode("latin-1"))
    with pytest.raises(InputError) as caught:
        read_posts([path])
    assert str(caught.value) == f"{path}: is not UTF-8 text (invalid byte 0xe9 at offset 13)"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"foo": 1}', "is JSON but not a Telegram Desktop export"),
        ("[1, 2, 3]", "is JSON but not a Telegram Desktop export"),
        ('{"chats": {"about": "", "list": []}, "x": [1]}', "holds no posts"),
    ],
)
def test_json_that_is_not_an_export_says_so(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "data.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_posts([path])
    assert str(caught.value).startswith(f"{path}: ") and problem in str(caught.value)
