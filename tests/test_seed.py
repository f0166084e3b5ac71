"""The user's real sample: 11 posts, nothing lost, nothing twice, no UI noise, stable ids."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from flashgen import read_posts
from flashgen.clean import is_noise, is_variant, line_key
from flashgen.cli import main

CHANNELS = [
    "Душный NLP",
    "gonzo-обзоры ML статей",
    "Новости психофизиологии",
    "data будни (Sasha Mikhailov)",
    "DevFM",
    "что-то на DL-ском",
    "Карьера в FAANG",
    "DeepSchool",
    "LLM под капотом",
    "LLM под капотом",
    "Quant Valerian",
]


def _blocks(text: str) -> list[list[str]]:
    """The seed's lines split at `Forwarded from` headers, header included."""
    blocks: list[list[str]] = []
    for line in text.split("\n"):
        if line.startswith("Forwarded from "):
            blocks.append([])
        blocks[-1].append(line)
    return blocks


def test_posts_json_has_eleven_posts_with_their_channels(seed_path: Path) -> None:
    result = CliRunner().invoke(main, ["posts", str(seed_path), "--json"])
    assert result.exit_code == 0, result.output
    posts = json.loads(result.output)
    assert [p["channel"] for p in posts] == CHANNELS
    for post in posts:
        assert set(post) == {"id", "channel", "date", "url", "text", "links"}
        assert post["date"] is None and post["url"] is None
        assert isinstance(post["links"], list)


def test_every_content_line_survives_exactly_once(seed_path: Path) -> None:
    posts = read_posts([seed_path])
    for block, post in zip(_blocks(seed_path.read_text(encoding="utf-8")), posts, strict=True):
        out_lines = post.text.split("\n")
        out_keys = [line_key(line) for line in out_lines]
        for line in block[1:]:
            if not line.strip() or is_noise(line):
                continue
            key = line_key(line)
            # Lost: not there, neither as itself nor inside its longer variant.
            holders = [
                k for k in out_keys if k == key or (is_variant(k, key) and len(k) >= len(key))
            ]
            assert holders, f"{post.channel}: lost line {line[:60]!r}"
        # Twice: prose lines are unique and no kept line is a variant of another. Code
        # lines such as `)` legitimately repeat inside one code block.
        prose = [k for k in out_keys if len(k) >= 16]
        for i, a in enumerate(prose):
            for b in prose[i + 1 :]:
                assert not is_variant(a, b), f"{post.channel}: doubled {a[:50]!r} / {b[:50]!r}"


def test_longer_variants_win(seed_path: Path) -> None:
    text = "\n".join(p.text for p in read_posts([seed_path]))
    # Strikethrough glued into a word in one copy; the other copy truncated there.
    assert "не мог нормальногорокет саентиста главного инженера в SpaceX найти" in text
    assert "Разбор подготовил❣ Алексей Зотов" in text
    assert "перевалило за 3к😍" in text
    assert "и я так считаю (хотя первая интенция была попробовать" in text


def test_code_only_one_copy_has_is_kept_in_place(seed_path: Path) -> None:
    swarm = next(p for p in read_posts([seed_path]) if "Swarm" in p.text)
    lines = swarm.text.split("\n")
    start = lines.index("refund_agent = Agent(")
    assert lines[start : start + 5] == [
        "refund_agent = Agent(",
        'name="Refund Agent",',
        'instructions="You are a refund agent. Help the user with refunds.",',
        "tools=[execute_refund],",
        ")",
    ]
    # The code sits between the sentences that surround it in the full copy.
    assert lines[start - 1].startswith("Под капотом нет ничего сверхъестественного")
    assert lines.count(")") == 3
    triage = lines.index("triage_agent = Agent(")
    assert lines[triage - 1].startswith("Для красоты они еще добавляют TriageAgent")


def test_a_first_line_only_the_second_copy_has_keeps_its_place(seed_path: Path) -> None:
    post = next(p for p in read_posts([seed_path]) if "Enterprise RAG Challenge" in p.text)
    lines = post.text.split("\n")
    kettle = next(i for i, line in enumerate(lines) if line.startswith("Заварил чайник"))
    assert lines[kettle - 1].startswith("Самый частый комментарий")
    assert lines[kettle + 1].startswith("Я и сам удивился")
    code = lines.index("response = client.beta.chat.completions.parse(")
    assert lines[code - 1] == "Пара подсказок сразу:"
    assert lines[code + 5].startswith("(1) Не используем function calling")


def test_no_ui_noise_and_previews_kept_once(seed_path: Path) -> None:
    posts = read_posts([seed_path])
    text = "\n".join(p.text for p in posts)
    assert "Please open Telegram to view this post" not in text
    assert "VIEW IN TELEGRAM" not in text
    # Link-preview titles and descriptions are content, once.
    assert text.count("The Fourth Pillar of Deep Learning Revolution") == 1
    assert text.count("Scaling Monosemanticity Extracting Interpretable Features") == 1
    assert text.count("Сегодня в 15.40 я выступаю на конференции ArchDays") == 1


def test_urls_are_collected_into_links(seed_path: Path) -> None:
    by_channel = {p.channel: p for p in read_posts([seed_path])}
    assert by_channel["gonzo-обзоры ML статей"].links == (
        "https://gonzoml.substack.com/p/deep-learning-frameworks",
    )
    assert by_channel["data будни (Sasha Mikhailov)"].links == (
        "https://ytsaurus.tech/ru/platform-overview",
    )
    assert by_channel["DeepSchool"].links == (
        "https://deepschool-pro.notion.site/a1f2b9a395844218977e1c95bac85d5e?pvs=4",
    )


@pytest.mark.parametrize("seed_value", [1, 2, 3])
def test_ids_survive_reordering(seed_path: Path, tmp_path: Path, seed_value: int) -> None:
    original = read_posts([seed_path])
    blocks = _blocks(seed_path.read_text(encoding="utf-8"))
    random.Random(seed_value).shuffle(blocks)
    shuffled = tmp_path / "shuffled.txt"
    shuffled.write_text("\n".join("\n".join(b) for b in blocks), encoding="utf-8")
    reordered = read_posts([shuffled])
    assert {p.id: p.text for p in reordered} == {p.id: p.text for p in original}
    assert len({p.id for p in original}) == 11
