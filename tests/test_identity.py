"""One identity per card: no GUID is shared, no build overwrites another card's note.

Proofs in real Anki that twin cards of one sentence stay two notes, that duplicates end as
one note chosen by evidence, that posts of other files are never taken for edits, that
the ledger outlives the cache (and even the .flashgen folder), and that a build's bytes
do not depend on what the cache holds.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import sqlite3
from pathlib import Path

import pytest
from anki.collection import Collection
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flashgen import read_posts
from flashgen.check import check_cards
from flashgen.cli import main
from flashgen.export import note_guid
from flashgen.ledger import Ledger, reconcile
from flashgen.models import Card, Post

from .fake_openai import FakeOpenAI, Reply
from .helpers import basic, build, export, import_package, pasted, study_everything

KAFKA = (
    "По умолчанию брокер Kafka хранит сообщения 168 часов, и сегмент лога тоже закрывается "
    "через 168 часов."
)
RETENTION = "Сколько часов Kafka по умолчанию хранит сообщения?"
SEGMENT = "Через сколько часов закрывается сегмент лога Kafka?"
DPO = "В DPO к лоссу добавляют NLL с коэффициентом 0,2. Так модель меньше деградирует."


def _reply(*cards: dict[str, str], topic: str = "Kafka") -> Reply:
    content = {"topic": topic, "key_facts": ["факт"], "cards": list(cards)}
    return Reply(content=json.dumps(content, ensure_ascii=False))


def _basic_card(question: str, answer: str, quote: str) -> dict[str, str]:
    return {"kind": "basic", "question": question, "answer": answer, "source_quote": quote}


def _notes(apkg: Path, tmp_path: Path) -> list[tuple[str, str]]:
    """(guid, first field) of every note in a package."""
    import zipfile

    folder = tmp_path / f"unpacked-{hashlib.sha1(str(apkg).encode()).hexdigest()[:8]}"
    with zipfile.ZipFile(apkg) as archive:
        archive.extract("collection.anki2", folder)
    conn = sqlite3.connect(folder / "collection.anki2")
    try:
        return [
            (guid, flds.split("\x1f")[0])
            for guid, flds in conn.execute("select guid, flds from notes")
        ]
    finally:
        conn.close()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_two_facts_of_one_sentence_with_one_answer_are_two_notes(
    fake: FakeOpenAI, tmp_path: Path, col: Collection
) -> None:
    source = export(tmp_path / "result.json", [KAFKA])
    twins = _reply(
        _basic_card(RETENTION, "168 часов", KAFKA), _basic_card(SEGMENT, "168 часов", KAFKA)
    )
    fake.on("Kafka", twins, repeat=True)
    result = build(fake, source, tmp_path / "out")
    assert "1 posts → 2 notes (2 cards)" in result.stdout
    notes = _notes(tmp_path / "out" / "flashgen.apkg", tmp_path)
    assert {question for _, question in notes} == {RETENTION, SEGMENT}
    assert len({guid for guid, _ in notes}) == 2
    log = import_package(col, tmp_path / "out" / "flashgen.apkg")
    assert len(log.new) == 2 and col.note_count() == 2
    # A cached rebuild re-imports onto the same two notes, each keeping its own text.
    build(fake, source, tmp_path / "again")
    assert _notes(tmp_path / "again" / "flashgen.apkg", tmp_path) == notes
    again = import_package(col, tmp_path / "again" / "flashgen.apkg")
    assert len(again.new) == 0 and col.note_count() == 2
    assert {col.get_note(n)["Question"] for n in col.find_notes("")} == {RETENTION, SEGMENT}


LLAMA_QUOTE = "Если в LLaMA 2 использовался PPO, то в LlaMA 3 — DPO."
LLAMA_RIGHT = "Какой метод используют в LlaMA 3 вместо PPO?"
LLAMA_WRONG = "Какой метод использовался в LLaMA 2 для обучения на предпочтениях?"
YT_QUOTE = (
    "3. высокоуровневые среды вычислений: YQL, CHYT (ClickHouse over YT), SPYT (Spark over YT)."
)
CHYT = "Что означает CHYT в YTsaurus?"
SPYT_WRONG = "Что означает SPYT в YTsaurus?"


def test_the_seed_through_a_server_gives_unique_guids_and_keeps_the_supported_twin(
    fake: FakeOpenAI, seed_path: Path, tmp_path: Path, col: Collection
) -> None:
    # The wrong twin comes first in one answer and second in the other: order decides nothing.
    fake.on(
        "Алаймент LlaMA 3.1",
        _reply(
            _basic_card(LLAMA_WRONG, "DPO", LLAMA_QUOTE),
            _basic_card(LLAMA_RIGHT, "DPO", LLAMA_QUOTE),
            _basic_card(
                "Сколько раундов длится SFT в LlaMA 3.1?",
                "шесть",
                "SFT происходит в шесть раундов.",
            ),
            topic="LLM",
        ),
        repeat=True,
    )
    fake.on(
        "Архитектурно YTsaurus",
        _reply(
            _basic_card(CHYT, "ClickHouse over YT", YT_QUOTE),
            _basic_card(SPYT_WRONG, "ClickHouse over YT", YT_QUOTE),
            _basic_card("Как расшифровывается SPYT?", "Spark over YT", YT_QUOTE),
            topic="Data",
        ),
        repeat=True,
    )
    build(fake, seed_path, tmp_path / "out")
    apkg = tmp_path / "out" / "flashgen.apkg"
    notes = _notes(apkg, tmp_path)
    assert len({guid for guid, _ in notes}) == len(notes) > 11
    questions = {question for _, question in notes}
    assert {LLAMA_RIGHT, CHYT, "Как расшифровывается SPYT?"} <= questions
    assert not {LLAMA_WRONG, SPYT_WRONG} & questions
    rejected = [
        json.loads(line)
        for line in (tmp_path / "out" / "flashgen.rejected.jsonl").read_text("utf-8").splitlines()
    ]
    # The wrong twins no longer reach the duplicate search: their answers are bound to
    # another entity of the sentence, and the report names it.
    by_question = {r["card"]["question"]: r for r in rejected}
    for wrong, rival in ((LLAMA_WRONG, "PPO"), (SPYT_WRONG, "Spark")):
        assert by_question[wrong]["reasons"] == ["answer-not-bound"]
        assert f"«{rival}»" in by_question[wrong]["evidence"]["answer-not-bound"]
    log = import_package(col, apkg)
    assert len(log.new) == len(notes) == col.note_count() and not log.conflicting


def _job_ads(month: str, companies: list[tuple[str, str, str]]) -> list[str]:
    """Posts of one template, as a channel of job ads writes them every month."""
    return [
        f"#вакансия {month}\n{role} в {company}: зарплата {salary}\n"
        "Стек: Python, Airflow, ClickHouse\nОткликнуться: @jobs_bot"
        for role, company, salary in companies
    ]


JANUARY = [
    ("Data Engineer", "Яндекс", "от 300 000 ₽"),
    ("ML Engineer", "Ozon", "от 350 000 ₽"),
    ("Аналитик данных", "Авито", "от 200 000 ₽"),
]
FEBRUARY = [
    ("Data Engineer", "Сбер", "от 320 000 ₽"),
    ("ML Engineer", "Т-Банк", "от 360 000 ₽"),
    ("Аналитик данных", "Wildberries", "от 210 000 ₽"),
]


@pytest.mark.parametrize("generator", ["offline", "llm"])
def test_posts_of_another_file_and_one_template_are_new_notes(
    fake: FakeOpenAI, tmp_path: Path, col: Collection, generator: str
) -> None:
    january = pasted(tmp_path / "january.txt", _job_ads("январь", JANUARY), channel="Вакансии")
    february = pasted(tmp_path / "february.txt", _job_ads("февраль", FEBRUARY), channel="Вакансии")
    out = tmp_path / "decks"
    build(fake, january, out, "--generator", generator)
    first = _notes(out / "flashgen.apkg", tmp_path)
    import_package(col, out / "flashgen.apkg")
    build(fake, february, out, "--generator", generator)
    second = _notes(out / "flashgen.apkg", tmp_path)
    assert first and second
    assert not {g for g, _ in first} & {g for g, _ in second}
    log = import_package(col, out / "flashgen.apkg")
    assert len(log.new) == len(second) and not log.updated
    assert col.note_count() == len(first) + len(second)


def test_posts_that_merely_share_a_template_are_not_edits(tmp_path: Path) -> None:
    """One file whose posts were replaced by next month's, of one template: new posts,
    while a real edit in the same file keeps its notes."""
    source = pasted(tmp_path / "ads.txt", _job_ads("январь", JANUARY), channel="Вакансии")
    runner = CliRunner()
    assert runner.invoke(main, ["build", str(source), "--out", "one"]).exit_code == 0
    january = {g for g, _ in _notes(tmp_path / "one" / "flashgen.apkg", tmp_path)}
    pasted(source, _job_ads("февраль", FEBRUARY), channel="Вакансии")
    assert runner.invoke(main, ["build", str(source), "--out", "two"]).exit_code == 0
    february = {g for g, _ in _notes(tmp_path / "two" / "flashgen.apkg", tmp_path)}
    assert january and february and not january & february

    edited = _job_ads("февраль", FEBRUARY)
    edited[0] = edited[0].replace("в Сбер", "в Сбер, удалённо")
    pasted(source, edited, channel="Вакансии")
    result = runner.invoke(main, ["build", str(source), "--out", "three"])
    assert result.exit_code == 0 and "no longer made" not in result.output
    assert february <= {g for g, _ in _notes(tmp_path / "three" / "flashgen.apkg", tmp_path)}


KAFKA_TWO = "Kafka по умолчанию хранит сообщения 168 часов. Срок хранения Kafka равен 168 часам."


def test_a_reworded_card_keeps_its_note_without_the_cache_and_without_flashgen_folder(
    fake: FakeOpenAI, tmp_path: Path, col: Collection
) -> None:
    source = export(tmp_path / "result.json", [KAFKA_TWO])
    first, second = KAFKA_TWO.split(". ")
    fake.on(
        "Kafka",
        basic("Сколько часов Kafka хранит сообщения по умолчанию?", "168 часов", first + "."),
        # The same fact, reworded, quoting the other sentence: a new identity each time.
        basic("Какой срок хранения сообщений в Kafka, в часах?", "168 часов", second),
        basic("Сколько часов по умолчанию Kafka держит сообщения?", "168 часов", first + "."),
    )
    out = tmp_path / "decks"
    build(fake, source, out, "--timestamp", "1700000000")
    assert len(import_package(col, out / "flashgen.apkg").new) == 1
    reps = study_everything(col)

    Path(".flashgen/cache.sqlite").unlink()
    again = build(fake, source, out, "--timestamp", "1700003600")
    assert fake.count == 2 and "ledger" not in again.stderr
    log = import_package(col, out / "flashgen.apkg")
    assert len(log.new) == 0 and len(log.updated) == 1
    assert {cid: col.get_card(cid).reps for cid in reps} == reps

    shutil.rmtree(".flashgen")
    third = build(fake, source, out, "--timestamp", "1700007200", "--no-cache")
    assert fake.count == 3
    assert "re-seeded it with 1 notes from" in third.stderr
    log = import_package(col, out / "flashgen.apkg")
    assert len(log.new) == 0 and len(log.updated) == 1
    [note_id] = col.find_notes("")
    assert col.get_note(note_id)["Question"] == "Сколько часов по умолчанию Kafka держит сообщения?"
    assert {cid: col.get_card(cid).reps for cid in reps} == reps
    assert col.db.scalar("select count() from revlog") == 1


def test_a_pasted_edit_is_followed_after_the_flashgen_folder_is_deleted(
    fake: FakeOpenAI, tmp_path: Path, col: Collection
) -> None:
    """The package holds each pasted post's file and text, so an edit is still recognised."""
    source = pasted(tmp_path / "posts.txt", [KAFKA_TWO, DPO])
    out = tmp_path / "decks"
    build(fake, source, out)
    added = len(import_package(col, out / "flashgen.apkg").new)
    shutil.rmtree(".flashgen")
    pasted(source, [KAFKA_TWO, DPO.replace("добавляют NLL", "добавляют вспомогательный NLL")])
    result = build(fake, source, out)
    assert "re-seeded" in result.stderr
    log = import_package(col, out / "flashgen.apkg")
    assert len(log.new) == 0 and col.note_count() == added


def test_cold_cached_and_fresh_folder_builds_give_one_sha256(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    source = pasted(tmp_path / "posts.txt", [KAFKA, DPO])
    twins = _reply(
        _basic_card(RETENTION, "168 часов", KAFKA), _basic_card(SEGMENT, "168 часов", KAFKA)
    )
    fake.on("брокер Kafka", twins, repeat=True)
    build(fake, source, tmp_path / "cold")
    build(fake, source, tmp_path / "cached")
    assert fake.count == 2  # the second build asked nothing
    fresh = tmp_path / "elsewhere"
    fresh.mkdir()
    monkeypatch.chdir(fresh)
    build(fake, source, tmp_path / "fresh")
    assert fake.count == 4
    digests = {_sha(tmp_path / d / "flashgen.apkg") for d in ("cold", "cached", "fresh")}
    assert len(digests) == 1


def test_a_damaged_ledger_is_never_replaced_by_an_empty_one(tmp_path: Path) -> None:
    source = pasted(tmp_path / "posts.txt", [KAFKA_TWO, DPO])
    ledger = Path(".flashgen/ledger.sqlite")
    ledger.parent.mkdir()
    garbage = bytes(random.Random(4).randrange(256) for _ in range(8192))
    ledger.write_bytes(garbage)
    result = CliRunner().invoke(main, ["build", str(source), "--out", "decks"])
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert "ledger" in line and "damaged" in line and "Traceback" not in result.output
    assert ledger.read_bytes() == garbage and not Path("decks/flashgen.apkg").exists()


def test_a_damaged_ledger_is_kept_aside_and_re_seeded_from_the_package(
    tmp_path: Path, col: Collection
) -> None:
    source = pasted(tmp_path / "posts.txt", [KAFKA_TWO, DPO])
    runner = CliRunner()
    assert runner.invoke(main, ["build", str(source), "--out", "decks"]).exit_code == 0
    added = len(import_package(col, Path("decks/flashgen.apkg")).new)
    ledger = Path(".flashgen/ledger.sqlite")
    ledger.write_bytes(b"not a database" * 500)
    result = runner.invoke(main, ["build", str(source), "--out", "decks"])
    assert result.exit_code == 0, result.output
    assert "damaged; kept it as ledger.sqlite.damaged" in result.stderr
    assert Path(".flashgen/ledger.sqlite.damaged").read_bytes() == b"not a database" * 500
    with Ledger(ledger) as book:
        assert len(book) == added
    log = import_package(col, Path("decks/flashgen.apkg"))
    assert len(log.new) == 0 and col.note_count() == added


def test_the_ledger_of_earlier_versions_moves_out_of_the_cache(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    source = export(tmp_path / "result.json", [KAFKA_TWO])
    [post] = read_posts([source])
    fake.on(
        "Kafka",
        basic(
            "Какой срок хранения сообщений в Kafka, в часах?",
            "168 часов",
            "Срок хранения Kafka равен 168 часам.",
        ),
        repeat=True,
    )
    # What 0.1's ledger looked like: tables of the response cache, one row per (post, GUID).
    cache = Path(".flashgen/cache.sqlite")
    cache.parent.mkdir()
    db = sqlite3.connect(cache)
    db.execute(
        "CREATE TABLE issued (post_id TEXT NOT NULL, guid TEXT NOT NULL, kind TEXT NOT NULL,"
        " question TEXT NOT NULL, answers TEXT NOT NULL, digest TEXT NOT NULL,"
        " changed INTEGER NOT NULL, PRIMARY KEY (post_id, guid))"
    )
    db.execute(
        "CREATE TABLE posts (post_id TEXT PRIMARY KEY, channel TEXT NOT NULL, text TEXT NOT NULL)"
    )
    db.execute(
        "INSERT INTO issued VALUES (?, 'OldGuid!', 'basic', ?, '[\"168 часов\"]', 'x', 1600000000)",
        (post.id, "Сколько часов Kafka хранит сообщения по умолчанию?"),
    )
    db.commit()
    db.close()
    result = build(fake, source, tmp_path / "out")
    assert "moved the ledger of 1 issued notes" in result.stderr
    assert [g for g, _ in _notes(tmp_path / "out" / "flashgen.apkg", tmp_path)] == ["OldGuid!"]


# Property: whatever cards a build keeps, no two get one GUID, and the same cards get the
# same GUIDs again, from the ledger or from nothing, in any order.
_QUOTES = [
    "Kafka хранит сообщения 168 часов, и сегмент лога закрывается через 168 часов.",
    "Если в LLaMA 2 использовался PPO, то в LlaMA 3 — DPO.",
    "SFT происходит в шесть раундов.",
]
_ANSWERS = ["168 часов", "DPO", "шесть", "PPO"]
_WORDS = ["Kafka", "сегмент", "LLaMA", "3", "2", "SFT", "раундов", "хранит", "метод", "лога"]

_cards = st.lists(
    st.builds(
        lambda post, quote, answer, words: Card(
            kind="basic",
            question="Какой " + " ".join(words) + "?",
            answer=answer,
            source_quote=quote,
            post_id=post,
            topic="t",
        ),
        st.sampled_from(["p1", "p2"]),
        st.sampled_from(_QUOTES),
        st.sampled_from(_ANSWERS),
        st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4),
    ),
    max_size=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_cards, st.randoms(use_true_random=False))
def test_guids_are_unique_and_stable_for_any_cards(cards: list[Card], rnd: random.Random) -> None:
    posts = [Post(id=p, channel="c", text=" ".join(_QUOTES)) for p in ("p1", "p2")]
    kept, _ = check_cards(posts, cards)
    notes = [(card, note_guid(card), "digest") for card in kept]
    first = reconcile(notes, [], 100, {"p1", "p2"})
    guids = [first.issues[card].guid for card in kept]
    assert len(set(guids)) == len(guids) == len(kept)
    shuffled = notes[:]
    rnd.shuffle(shuffled)
    for earlier in (first.entries, []):
        again = reconcile(shuffled, earlier, 200, {"p1", "p2"})
        assert {c: i.guid for c, i in again.issues.items()} == {
            c: i.guid for c, i in first.issues.items()
        }
        assert not again.stale


def test_the_ledger_lives_where_ledger_says_and_no_cache_leaves_it(tmp_path: Path) -> None:
    source = pasted(tmp_path / "posts.txt", [KAFKA_TWO, DPO])
    runner = CliRunner()
    argv = ["build", str(source), "--ledger", "notes.sqlite", "--no-cache"]
    assert runner.invoke(main, argv).exit_code == 0
    assert Path("notes.sqlite").is_file() and not Path(".flashgen/ledger.sqlite").exists()
    with Ledger("notes.sqlite") as book:
        issued = len(book)
    assert issued > 0
    assert runner.invoke(main, argv).exit_code == 0
    with Ledger("notes.sqlite") as book:
        assert len(book) == issued


def test_one_ad_replaced_in_a_file_of_one_template_takes_no_note(tmp_path: Path) -> None:
    """Only one post of the file changed: the template is still told by the file's others."""
    source = pasted(tmp_path / "ads.txt", _job_ads("январь", JANUARY), channel="Вакансии")
    runner = CliRunner()
    assert runner.invoke(main, ["build", str(source), "--out", "one"]).exit_code == 0
    before = dict(_notes(tmp_path / "one" / "flashgen.apkg", tmp_path))
    replaced = [("Data Engineer", "Сбер", "от 320 000 ₽"), *JANUARY[1:]]
    pasted(source, _job_ads("январь", replaced), channel="Вакансии")
    assert runner.invoke(main, ["build", str(source), "--out", "two"]).exit_code == 0
    after = dict(_notes(tmp_path / "two" / "flashgen.apkg", tmp_path))
    yandex = {g for g, q in before.items() if "Яндекс" in q}
    sber = {g for g, q in after.items() if "Сбер" in q}
    assert yandex and sber and not yandex & sber
    # The other two ads are the same posts: their own notes are as they were.
    kept = {g for g, q in before.items() if "Ozon" in q or "Авито" in q}
    assert kept and kept <= set(after)


def test_files_of_one_name_in_two_folders_are_two_files(tmp_path: Path) -> None:
    for month, ads in (("jan", JANUARY[:1]), ("feb", FEBRUARY[:1])):
        (tmp_path / month).mkdir()
        pasted(tmp_path / month / "ads.txt", _job_ads(month, ads), channel="Вакансии")
    runner = CliRunner()
    jan = runner.invoke(main, ["build", str(tmp_path / "jan" / "ads.txt"), "--out", "one"])
    feb = runner.invoke(main, ["build", str(tmp_path / "feb" / "ads.txt"), "--out", "two"])
    assert jan.exit_code == feb.exit_code == 0
    first = {g for g, _ in _notes(tmp_path / "one" / "flashgen.apkg", tmp_path)}
    second = {g for g, _ in _notes(tmp_path / "two" / "flashgen.apkg", tmp_path)}
    assert first and second and not first & second


def test_a_ledger_with_a_damaged_page_is_re_seeded(tmp_path: Path, col: Collection) -> None:
    posts = [
        f"Параметр alpha_{i} по умолчанию равен {i + 7} единицам. Его меняют редко."
        for i in range(60)
    ]
    source = pasted(tmp_path / "posts.txt", posts)
    runner = CliRunner()
    assert runner.invoke(main, ["build", str(source)]).exit_code == 0
    added = len(import_package(col, Path("decks/flashgen.apkg")).new)
    ledger = Path(".flashgen/ledger.sqlite")
    data = bytearray(ledger.read_bytes())
    assert len(data) > 4 * 4096  # pages past the header
    data[2 * 4096 : 3 * 4096] = bytes(random.Random(3).randrange(256) for _ in range(4096))
    ledger.write_bytes(bytes(data))
    result = runner.invoke(main, ["build", str(source)])
    assert result.exit_code == 0, result.output
    assert "damaged" in result.stderr and "re-seeded" in result.stderr
    assert len(import_package(col, Path("decks/flashgen.apkg")).new) == 0
    assert col.note_count() == added


def test_the_earlier_ledger_is_moved_once_not_copied(fake: FakeOpenAI, tmp_path: Path) -> None:
    test_the_ledger_of_earlier_versions_moves_out_of_the_cache(fake, tmp_path)
    tables = sqlite3.connect(".flashgen/cache.sqlite").execute(
        "select name from sqlite_master where type = 'table'"
    )
    assert "issued" not in {name for (name,) in tables}
