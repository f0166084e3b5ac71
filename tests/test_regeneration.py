"""Proof in real Anki that regenerated decks update the notes a learner already studies:
GUIDs survive edits and rewordings, review history stays, builds are reproducible, and a
taxonomy decides the decks."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from anki.collection import Collection
from click.testing import CliRunner

from flashgen import read_posts
from flashgen.cli import main
from flashgen.config import Topic
from flashgen.export import slug
from flashgen.group import consolidate, keyword_topic
from flashgen.ledger import Entry, reconcile
from flashgen.models import Card

from .fake_openai import FakeOpenAI, Reply
from .helpers import basic as _basic
from .helpers import build as _build
from .helpers import export as _export
from .helpers import import_package as _import
from .helpers import mods as _mods
from .helpers import pasted as _pasted
from .helpers import study_everything as _study_everything

KAFKA = "Kafka по умолчанию хранит сообщения 168 часов. Срок хранения Kafka равен 168 часам."
DPO = "В DPO к лоссу добавляют NLL с коэффициентом 0,2. Так модель меньше деградирует."
BATCH = "Размер батча при обучении равен 512 примерам. Обучение заняло неделю."
SOUP = "Суп варят 40 минут на слабом огне. Соль добавляют в конце."


def test_an_edited_post_updates_its_note_and_keeps_the_history(
    fake: FakeOpenAI, tmp_path: Path, col: Collection
) -> None:
    source = _export(tmp_path / "result.json", [KAFKA, DPO, BATCH])
    first = _build(fake, source, tmp_path / "one", "--timestamp", "1700000000")
    assert "3 posts → 3 notes (3 cards)" in first.stdout
    assert len(_import(col, tmp_path / "one" / "flashgen.apkg").new) == 3
    reps = _study_everything(col)
    assert set(reps.values()) == {1} and col.db.scalar("select count() from revlog") == 3

    edited = DPO.replace("добавляют NLL", "добавляют вспомогательный NLL")
    _export(source, [KAFKA, edited, BATCH])
    _build(fake, source, tmp_path / "two", "--timestamp", "1700003600")
    apkg = tmp_path / "two" / "flashgen.apkg"
    mods = sorted(_mods(apkg, tmp_path).values())
    assert mods == [1700000000, 1700000000, 1700003600]  # only the edited note moved
    log = _import(col, apkg)

    assert len(log.new) == 0 and len(log.updated) == 1 and not log.conflicting
    assert col.note_count() == 3
    assert {cid: col.get_card(cid).reps for cid in reps} == reps
    assert col.db.scalar("select count() from revlog") == 3
    [note_id] = col.find_notes("вспомогательный")
    assert "{{c1::0,2}}" in col.get_note(note_id)["Text"]


def test_an_edited_pasted_post_keeps_its_notes_though_its_id_changed(
    fake: FakeOpenAI, tmp_path: Path, col: Collection
) -> None:
    source = _pasted(tmp_path / "posts.txt", [KAFKA, DPO, BATCH])
    _build(fake, source, tmp_path / "one", "--timestamp", "1700000000")
    assert len(_import(col, tmp_path / "one" / "flashgen.apkg").new) == 3
    reps = _study_everything(col)

    edited = DPO.replace("добавляют NLL", "добавляют вспомогательный NLL")
    before = {post.id for post in read_posts([source])}
    _pasted(source, [KAFKA, edited, BATCH])
    assert len(before - {post.id for post in read_posts([source])}) == 1  # a new id
    again = _build(fake, source, tmp_path / "two", "--timestamp", "1700003600")
    assert "no longer made" not in again.output
    apkg = tmp_path / "two" / "flashgen.apkg"
    assert sorted(_mods(apkg, tmp_path).values()) == [1700000000, 1700000000, 1700003600]
    log = _import(col, apkg)
    assert len(log.new) == 0 and len(log.updated) == 1 and not log.conflicting
    assert {cid: col.get_card(cid).reps for cid in reps} == reps
    [note_id] = col.find_notes("вспомогательный")
    assert "{{c1::0,2}}" in col.get_note(note_id)["Text"]

    # Edited again: the notes follow the post from id to id.
    _pasted(source, [KAFKA, edited + " Это важно.", BATCH])
    _build(fake, source, tmp_path / "three", "--timestamp", "1700007200")
    assert len(_import(col, tmp_path / "three" / "flashgen.apkg").new) == 0
    assert col.note_count() == 3 and {cid: col.get_card(cid).reps for cid in reps} == reps


def test_a_guid_goes_to_one_card_of_a_build() -> None:
    # The old post back beside its edit: both are offered the GUID the old one issued.
    old = _card("Сколько часов Kafka хранит сообщения?", topic="t")
    back = old.model_copy(update={"post_id": "a"})
    edit = old.model_copy(update={"post_id": "b", "question": "Сколько часов хранит Kafka?"})
    offered = [replace(_entry("g", old), post_id=pid) for pid in ("a", "b")]
    plan = reconcile([(edit, "own-b", "d"), (back, "g", "d")], offered, 500, {"a", "b"})
    assert plan.issues[back].guid == "g" and plan.issues[edit].guid == "own-b"


def test_a_post_is_an_edit_only_of_a_close_post_of_its_channel_that_is_gone() -> None:
    from flashgen.ledger import match_edits
    from flashgen.models import Post

    def post(pid: str, text: str, channel: str = "ML Notes", source: str = "posts.txt") -> Post:
        return Post(id=pid, channel=channel, text=text, source=source)

    gone = [post("old-dpo", DPO), post("old-kafka", KAFKA), post("old-soup", SOUP, "Кухня")]
    fresh = [
        post("new-dpo", DPO.replace("Так модель", "Так языковая модель")),
        post("dpo-copy", DPO.replace("лоссу", "функции потерь")),  # further from it
        post("soup", SOUP + " Подают горячим."),  # close, but another channel
        post("batch", BATCH),  # nothing like it was there
    ]
    fresh[2] = fresh[2].model_copy(update={"channel": "Другой канал"})
    assert match_edits(fresh, gone) == {"new-dpo": "old-dpo"}
    assert match_edits(fresh[1:], gone) == {"dpo-copy": "old-dpo"}
    assert match_edits(fresh, []) == {}
    # The same edit read from another file, or from an export (no source), is a new post.
    elsewhere = [p.model_copy(update={"source": "february.txt"}) for p in fresh]
    assert match_edits(elsewhere, gone) == {}
    exported = [p.model_copy(update={"source": None}) for p in fresh]
    assert match_edits(exported, gone) == {}


def test_cards_no_longer_made_are_reported_as_stale(fake: FakeOpenAI, tmp_path: Path) -> None:
    source = _export(tmp_path / "result.json", [KAFKA])
    two = {
        "topic": "Kafka",
        "key_facts": ["a", "b"],
        "cards": [
            {
                "kind": "basic",
                "question": "Сколько часов Kafka хранит сообщения по умолчанию?",
                "answer": "168 часов",
                "source_quote": "Kafka по умолчанию хранит сообщения 168 часов.",
            },
            {
                "kind": "cloze",
                "question": "Срок хранения {{c1::Kafka}} равен 168 часам.",
                "answer": "",
                "source_quote": "Срок хранения Kafka равен 168 часам.",
            },
        ],
    }
    one = {**two, "cards": two["cards"][:1]}
    fake.on(
        "Kafka",
        Reply(content=json.dumps(two, ensure_ascii=False)),
        Reply(content=json.dumps(one, ensure_ascii=False)),
    )
    first = _build(fake, source, tmp_path / "out")
    assert "1 posts → 2 notes (2 cards)" in first.stdout and "no longer made" not in first.output
    again = _build(fake, source, tmp_path / "out", "--no-cache")
    assert "1 cards of earlier builds are no longer made" in again.stderr
    [line] = (tmp_path / "out" / "flashgen.stale.jsonl").read_text(encoding="utf-8").splitlines()
    stale = json.loads(line)
    assert stale["kind"] == "cloze" and stale["answers"] == ["Kafka"]


def test_the_same_epoch_gives_the_same_bytes(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    source = _export(tmp_path / "result.json", [KAFKA, DPO, BATCH])
    _build(fake, source, tmp_path / "a")
    _build(fake, source, tmp_path / "b")
    digests = {
        hashlib.sha256((tmp_path / d / "flashgen.apkg").read_bytes()).hexdigest() for d in "ab"
    }
    assert len(digests) == 1


TAXONOMY = """\
[[topics]]
name = "Data engineering"
description = "Storage, queues, pipelines"
keywords = ["kafka", "батч"]

[[topics]]
name = "Alignment"
keywords = ["DPO", "RLHF"]
"""


@pytest.mark.parametrize("generator", ["llm", "offline"])
def test_a_taxonomy_decides_the_decks(
    fake: FakeOpenAI, tmp_path: Path, col: Collection, generator: str
) -> None:
    (tmp_path / "flashgen.toml").write_text(TAXONOMY, encoding="utf-8")
    source = _export(tmp_path / "result.json", [KAFKA, DPO, BATCH, SOUP])
    _build(fake, source, tmp_path / "out", "--generator", generator)
    _import(col, tmp_path / "out" / "flashgen.apkg")
    names = {d.name for d in col.decks.all_names_and_ids()} - {"Default", "Flashgen"}
    assert names == {"Flashgen::Data engineering", "Flashgen::Alignment", "Flashgen::Other"}
    assert col.find_notes('"deck:Flashgen::Other" Суп')
    assert col.find_notes("tag:topic::Data_engineering tag:channel::ML_Notes")


def test_split_writes_a_package_per_topic(fake: FakeOpenAI, tmp_path: Path) -> None:
    source = _export(tmp_path / "result.json", [KAFKA, DPO])
    fake.on(
        "Kafka",
        _basic("Сколько часов Kafka хранит сообщения?", "168 часов", KAFKA.split(". ")[0] + "."),
    )
    out = tmp_path / "out"
    result = _build(fake, source, out, "--split", "--root", "Учёба")
    assert sorted(p.name for p in out.glob("*.apkg")) == ["Kafka.apkg", "Тестовая-тема.apkg"]
    assert "2 decks" in result.stdout


def test_a_bad_taxonomy_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "flashgen.toml").write_text('[[topics]]\nname = ""\n', encoding="utf-8")
    (tmp_path / "p.txt").write_text("Kafka хранит сообщения 168 часов.\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(tmp_path / "p.txt")])
    assert result.exit_code == 1
    assert "Error:" in result.output and "topic #1" in result.output
    assert "Traceback" not in result.output


# --- the pieces ---------------------------------------------------------------------------


def _card(question: str, answer: str = "168 часов", quote: str = "q", **more: Any) -> Card:
    return Card(
        kind="basic", question=question, answer=answer, source_quote=quote, post_id="p", **more
    )


def _entry(guid: str, card: Card, digest: str = "d", changed: int = 100) -> Entry:
    return Entry("p", guid, card.kind, card.question, tuple(card.answers), digest, changed)


@pytest.mark.parametrize(
    ("question", "answer", "inherits"),
    [
        ("Сколько часов Kafka хранит сообщения?", "168 часов", True),  # reworded
        ("Какой срок хранения сообщений в Kafka, в часах?", "168", True),  # answer inside
        ("Сколько часов Kafka хранит сообщения?", "7 дней", False),  # another answer
        ("Какой коэффициент у NLL в DPO?", "168 часов", False),  # another question
    ],
)
def test_a_new_card_inherits_the_guid_of_the_same_fact(
    question: str, answer: str, inherits: bool
) -> None:
    old = _card("Сколько часов по умолчанию Kafka хранит сообщения?", topic="t")
    new = _card(question, answer, topic="t")
    plan = reconcile([(new, "new-guid", "d2")], [_entry("old-guid", old)], 500, {"p"})
    issue = plan.issues[new]
    assert (issue.guid == "old-guid") is inherits
    assert issue.mod == 500  # changed or new: the build's time
    assert len(plan.stale) == (0 if inherits else 1)


def test_an_unchanged_card_keeps_its_date_and_a_changed_one_moves_forward() -> None:
    card = _card("Сколько часов Kafka хранит сообщения?", topic="t")
    same = reconcile([(card, "g", "d")], [_entry("g", card, "d", 100)], 500, {"p"})
    assert same.issues[card].mod == 100
    # An older --timestamp than the last change still makes the note newer.
    changed = reconcile([(card, "g", "d2")], [_entry("g", card, "d", 900)], 500, {"p"})
    assert changed.issues[card].mod == 901


def test_labels_merge_then_fold_into_other() -> None:
    labels = ["LLM alignment", "llm  Alignment", "LLM alignment", "Kafka", "Soup", "Rust"]
    assert consolidate(labels, 3) == {
        "LLM alignment": "LLM alignment",
        "llm  Alignment": "LLM alignment",
        "Kafka": "Kafka",
        "Soup": "Other",
        "Rust": "Other",
    }
    assert set(consolidate(labels, 8).values()) == {"LLM alignment", "Kafka", "Soup", "Rust"}


def test_keywords_match_at_word_starts() -> None:
    taxonomy = [Topic(name="ML", keywords=("ML", "модел")), Topic(name="Web", keywords=("HTML",))]
    assert keyword_topic("Модели и ML-пайплайны", taxonomy) == "ML"
    assert keyword_topic("HTML и CSS", taxonomy) == "Web"
    assert keyword_topic("Суп", taxonomy) == "Other"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Душный NLP", "Душный-NLP"),
        ("LLM: alignment!", "LLM-alignment"),
        ("数据 工程", "数据-工程"),
    ],
)
def test_slugs_keep_letters_of_any_script(name: str, expected: str) -> None:
    assert slug(name) == expected


def test_the_prompt_asks_the_model_to_choose_among_the_taxonomy(tmp_path: Path) -> None:
    posts = tmp_path / "posts.txt"
    posts.write_text("Forwarded from ML\nSFT проходит в шесть раундов.\n", encoding="utf-8")
    [post] = read_posts([posts])
    argv = ["prompt", str(posts), "--post", post.id, "--base-url", "http://127.0.0.1:9/v1"]
    plain = CliRunner().invoke(main, argv)
    assert plain.exit_code == 0, plain.output
    assert "exactly one of these names" not in plain.stdout
    Path("flashgen.toml").write_text(
        '[[topics]]\nname = "LLM alignment"\nkeywords = ["DPO"]\n\n'
        '[[topics]]\nname = "Data engineering"\nkeywords = ["Kafka"]\n',
        encoding="utf-8",
    )
    told = CliRunner().invoke(main, argv)
    assert told.exit_code == 0, told.output
    assert "exactly one of these names" in told.stdout
    assert "LLM alignment, Data engineering" in told.stdout


TOPIC_POSTS = {
    "LLaMA alignment": "Forwarded from A\nSFT в LLaMA проходит в 6 раундов.",
    "Alignment of LLaMA": "Forwarded from A\nК DPO в LLaMA добавляют NLL с весом 0,2.",
    "Kafka": "Forwarded from B\nKafka хранит сообщения 168 часов.",
    "Kafka retention": "Forwarded from B\nРепликация в Kafka идёт на 3 брокера.",
    "YTsaurus": "Forwarded from C\nYTsaurus состоит из 3 слоёв.",
}


def _topic_answer(text: str, topic: str) -> Reply:
    sentence = text.split("\n")[1]
    number = re.search(r"\d+(?:,\d+)?", sentence)
    assert number
    question = sentence.replace(number.group(0), "{{c1::" + number.group(0) + "}}", 1)
    answer = {
        "topic": topic,
        "key_facts": [sentence],
        "cards": [{"kind": "cloze", "question": question, "answer": "", "source_quote": sentence}],
    }
    return Reply(content=json.dumps(answer, ensure_ascii=False))


def _deck_names(apkg: Path, tmp_path: Path) -> set[str]:
    with zipfile.ZipFile(apkg) as archive:
        archive.extract("collection.anki2", tmp_path / "x")
    conn = sqlite3.connect(tmp_path / "x" / "collection.anki2")
    try:
        decks = json.loads(conn.execute("select decks from col").fetchone()[0])
    finally:
        conn.close()
    return {d["name"] for d in decks.values()} - {"Default", "Flashgen"}


def test_one_llm_call_merges_topic_labels_into_at_most_max_topics_decks(tmp_path: Path) -> None:
    posts = tmp_path / "posts.txt"
    posts.write_text("\n".join(TOPIC_POSTS.values()) + "\n", encoding="utf-8")
    mapping = {
        "LLaMA alignment": "LLM",
        "Alignment of LLaMA": "LLM",
        "Kafka": "Data",
        "Kafka retention": "Data",
        "YTsaurus": "Data",
    }
    out = tmp_path / "out"
    argv = ["build", str(posts), "--out", str(out), "--max-topics", "2"]
    with FakeOpenAI() as fake:
        for topic, text in TOPIC_POSTS.items():
            fake.on(text.split("\n")[1], _topic_answer(text, topic), repeat=True)
        fake.enqueue(Reply(content=json.dumps({"decks": mapping})))
        result = CliRunner().invoke(main, [*argv, "--base-url", fake.url])
        assert result.exit_code == 0, result.output
        assert fake.count == len(TOPIC_POSTS) + 1
        assert "merged by the model into 2 decks" in result.stderr
        assert _deck_names(out / "flashgen.apkg", tmp_path) == {"Flashgen::LLM", "Flashgen::Data"}
        # Cached like any request: the rebuild asks nothing.
        again = CliRunner().invoke(main, [*argv, "--base-url", fake.url])
        assert again.exit_code == 0 and fake.count == len(TOPIC_POSTS) + 1


def test_an_unusable_consolidation_answer_falls_back_to_the_rules(tmp_path: Path) -> None:
    posts = tmp_path / "posts.txt"
    posts.write_text("\n".join(TOPIC_POSTS.values()) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    with FakeOpenAI() as fake:
        for topic, text in TOPIC_POSTS.items():
            fake.on(text.split("\n")[1], _topic_answer(text, topic), repeat=True)
        fake.enqueue(Reply(content="not json"))
        argv = ["build", str(posts), "--out", str(out), "--max-topics", "2", "--base-url", fake.url]
        result = CliRunner().invoke(main, argv)
    assert result.exit_code == 0, result.output
    assert "merged by rule" in result.stderr
    assert len(_deck_names(out / "flashgen.apkg", tmp_path)) <= 2


def test_the_seed_export_survives_an_edit_without_new_notes(
    fake: FakeOpenAI, seed_path: Path, tmp_path: Path, col: Collection
) -> None:
    texts = [post.text for post in read_posts([seed_path])]
    source = _export(tmp_path / "result.json", texts)
    first = _build(fake, source, tmp_path / "one", "--timestamp", "1700000000")
    assert fake.count == 11, first.output
    added = len(_import(col, tmp_path / "one" / "flashgen.apkg").new)
    assert added >= 8
    reps = _study_everything(col)
    reviews = col.db.scalar("select count() from revlog")
    assert reviews == len(reps)

    edited = [*texts]
    edited[3] += "\nДобавлено позже: YTsaurus выложен в open source."
    _export(source, edited)
    _build(fake, source, tmp_path / "two", "--timestamp", "1700003600")
    assert fake.count == 12  # only the edited post was asked again
    log = _import(col, tmp_path / "two" / "flashgen.apkg")
    assert len(log.new) == 0 and not log.conflicting
    assert col.note_count() == added
    assert {cid: col.get_card(cid).reps for cid in reps} == reps
    assert col.db.scalar("select count() from revlog") == reviews
