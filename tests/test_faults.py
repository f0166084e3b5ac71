"""The fault matrix: hostile posts, bad replies, a damaged cache, a full disk, two builds
at once. Each case runs the real CLI (and the real openai client over HTTP where a
server is involved) and asserts what the user sees, what was exported, that nothing
earlier was lost and that no temporary file was left behind."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from anki.collection import Collection
from click.testing import CliRunner, Result

from flashgen.cache import Cache
from flashgen.cli import main
from flashgen.files import folder_lock

from .fake_openai import FakeOpenAI, Reply
from .helpers import import_package, summary

POST = "Kafka по умолчанию хранит сообщения 168 часов. Срок хранения можно изменить."


@pytest.fixture(autouse=True)
def _no_temporary_file_left(tmp_path: Path) -> Iterator[None]:
    yield
    assert _leftovers(tmp_path, Path.cwd()) == []


def _cli(*argv: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in argv])


def _fields(apkg: Path) -> list[str]:
    """Every field of every note in a package."""
    import sqlite3
    import tempfile

    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(apkg) as archive:
        archive.extract("collection.anki2", tmp)
        conn = sqlite3.connect(Path(tmp) / "collection.anki2")
        try:
            rows = conn.execute("select flds from notes").fetchall()
        finally:
            conn.close()
    return [field for (flds,) in rows for field in flds.split("\x1f")]


def _leftovers(*folders: Path) -> list[Path]:
    """Temporary files a write could leave behind."""
    return [p for folder in folders if folder.exists() for p in folder.rglob("*.part")]


def _posts(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "posts.txt"
    texts = [
        f"Пост номер {i} : параметр alpha_{i} по умолчанию равен {i + 3} единицам."
        for i in range(count)
    ]
    path.write_text("".join(f"Forwarded from Канал\n{t}\n" for t in texts), encoding="utf-8")
    return path


# --- hostile text -------------------------------------------------------------------------


def test_a_post_with_template_braces_builds_offline(tmp_path: Path) -> None:
    helm = "В Helm образ задают так: image: {{ .Values.image }}. По умолчанию реплик 3 штуки."
    source = tmp_path / "helm.txt"
    source.write_text(f"Forwarded from DevOps\n{helm}\n{POST}\n", encoding="utf-8")
    result = _cli("build", source)
    assert result.exit_code == 0, result.output
    fields = _fields(Path("decks/flashgen.apkg"))
    assert fields and not any("{{ .Values" in f for f in fields)


def test_control_characters_never_reach_a_field(tmp_path: Path, col: Collection) -> None:
    source = tmp_path / "posts.txt"
    hostile = (
        "Kafka\x1f по умолчанию\x07 хранит сообщения 168\x0b часов. Срок\x1e хранения изменяют."
    )
    source.write_text(f"Forwarded from Data\x1f Eng\n{hostile}\n", encoding="utf-8")
    result = _cli("build", source)
    assert result.exit_code == 0, result.output
    apkg = Path("decks/flashgen.apkg")
    fields = _fields(apkg)
    assert fields and not any(ch in f for f in fields for ch in "\x07\x0b\x1e\x1f")
    log = import_package(col, apkg)  # real Anki takes the whole package
    assert len(log.new) == col.note_count() > 0


def test_only_web_links_become_links(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "kafka.md").write_text(
        f"---\nchannel: Data Eng\nurl: javascript:alert(4)\n---\n{POST}\n", encoding="utf-8"
    )
    (notes / "ok.md").write_text(
        "---\nchannel: Data Eng\nurl: https://t.me/dataeng/7\n---\n"
        "Spark по умолчанию создаёт 200 партиций при shuffle.\n",
        encoding="utf-8",
    )
    result = _cli("build", notes)
    assert result.exit_code == 0, result.output
    fields = " ".join(_fields(Path("decks/flashgen.apkg")))
    assert "javascript:" not in fields
    assert 'href="https://t.me/dataeng/7"' in fields


# --- bad replies --------------------------------------------------------------------------


def test_a_reply_that_is_not_json_fails_only_its_post(fake: FakeOpenAI, tmp_path: Path) -> None:
    page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    fake.on("номер 1 ", Reply(raw=page, content_type="text/html"), repeat=True)
    fake.on("номер 2 ", Reply(raw='{"choices": [', content_type="application/json"), repeat=True)
    result = _cli("build", _posts(tmp_path, 4), "--base-url", fake.url, "--max-retries", "0")
    assert result.exit_code == 3, result.output
    assert "4 posts → 2 notes" in result.stdout
    failures = [line for line in result.stderr.splitlines() if line.startswith("failed:")]
    assert len(failures) == 2 and "Traceback" not in result.output
    assert "2 of 4 posts failed" in result.stderr


def test_a_dropped_connection_fails_only_its_post(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.on("номер 1 ", Reply(drop=True), repeat=True)
    result = _cli("build", _posts(tmp_path, 3), "--base-url", fake.url, "--max-retries", "1")
    assert result.exit_code == 3, result.output
    assert "3 posts → 2 notes" in result.stdout
    [failure] = [line for line in result.stderr.splitlines() if line.startswith("failed:")]
    assert "was dropped" in failure
    assert fake.count == 2 + 2  # the dropped post was tried twice, the others once


def test_a_reply_with_no_cards_is_counted(fake: FakeOpenAI, tmp_path: Path) -> None:
    empty = json.dumps({"topic": "Kafka", "key_facts": [], "cards": []})
    fake.on("номер 0 ", Reply(content=empty), repeat=True)
    result = _cli("build", _posts(tmp_path, 2), "--base-url", fake.url)
    assert result.exit_code == 0, result.output
    assert "1 posts gave no cards (the model wrote none)" in result.stderr


def test_embeddings_that_stop_after_the_probe_fall_back_to_shingles(tmp_path: Path) -> None:
    with FakeOpenAI(embeddings=True) as fake:
        # The probe is answered; every later embedding request is refused.
        original = fake.embed

        def embed_once(body: dict[str, object]) -> tuple[int, dict[str, str], dict[str, object]]:
            if fake.embedding_requests:
                fake.embeddings = False
            return original(body)

        fake.embed = embed_once  # type: ignore[method-assign]
        result = _cli("build", _posts(tmp_path, 3), "--base-url", fake.url)
    assert result.exit_code == 0, result.output
    assert "3 posts → 3 notes" in result.stdout
    assert "near-duplicates found by shingles instead" in result.stderr


def test_the_timeout_bounds_a_trickling_response(fake: FakeOpenAI, tmp_path: Path) -> None:
    # The body comes 16 bytes at a time, 0.1 s apart: no single read waits 1 s, yet the
    # whole answer takes several; --timeout 1 bounds the whole answer.
    fake.on("номер 0 ", Reply(trickle=0.1), repeat=True)
    argv = ["build", _posts(tmp_path, 2), "--base-url", fake.url, "--timeout", "1"]
    result = _cli(*argv, "--max-retries", "0")
    assert result.exit_code == 3, result.output
    [failure] = [line for line in result.stderr.splitlines() if line.startswith("failed:")]
    assert "no answer within the timeout of 1 s" in failure
    assert "2 posts → 1 notes" in result.stdout


# --- interruptions -----------------------------------------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill"])
def test_an_interrupted_build_loses_only_requests_in_flight(
    tmp_path: Path, sig: signal.Signals
) -> None:
    posts = _posts(tmp_path, 10)
    cache = tmp_path / "cache.sqlite"
    with FakeOpenAI() as fake:
        fake.hold_after = 5  # the sixth request on waits until the build is stopped
        argv = ["build", str(posts), "--base-url", fake.url, "--concurrency", "2"]
        # Card requests alone, so the cache holds one answer per post answered.
        argv += ["--cache", str(cache), "--verify", "off"]
        code = "from flashgen.cli import main; main()"
        proc = subprocess.Popen(
            [sys.executable, "-c", code, *argv], cwd=tmp_path, stderr=subprocess.PIPE, text=True
        )
        # Two requests held means both slots are taken: the first five answers are in.
        deadline = time.monotonic() + 60
        while fake.held < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        assert fake.held == 2, "the build never had two requests in flight"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
        if sig == signal.SIGINT:
            assert proc.returncode == 130 and "Interrupted" in err and "Traceback" not in err
        else:
            assert proc.returncode == -signal.SIGKILL
        with Cache(cache) as stored:
            kept = len(stored)
        assert kept == 5  # what was answered is kept; what was in flight is not
        fake.hold_after = None
        fake.release.set()
        fake.reset()
        result = CliRunner().invoke(main, [*argv, "--out", str(tmp_path / "out")])
        assert result.exit_code == 0, result.output
        assert fake.count == 10 - kept and summary(result) == (10 - kept, kept, 0)
        assert "10 posts → 10 notes" in result.stdout


# --- the cache and the ledger -------------------------------------------------------------


@pytest.mark.parametrize("generator", ["offline", "llm"])
def test_a_damaged_cache_is_set_aside_and_the_build_goes_on(
    fake: FakeOpenAI, tmp_path: Path, generator: str
) -> None:
    cache = Path(".flashgen/cache.sqlite")
    cache.parent.mkdir()
    junk = bytes(random.Random(7).randrange(256) for _ in range(16384))
    cache.write_bytes(junk)
    result = _cli("build", _posts(tmp_path, 2), "--base-url", fake.url, "--generator", generator)
    assert result.exit_code == 0, result.output
    if generator == "llm":
        [aside] = list(cache.parent.glob("cache.sqlite.corrupt-*"))
        assert aside.read_bytes() == junk
        assert "set it aside" in result.stderr and fake.count == 2
    assert Path("decks/flashgen.apkg").is_file()


# --- the disk and the folder --------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Path:
    """A 256 KiB tmpfs, where the machine lets a test mount one (root, as CI here)."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"this machine cannot mount a tmpfs: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_is_one_line_and_loses_nothing(tmp_path: Path, small_disk: Path) -> None:
    source = _posts(tmp_path, 3)
    out = small_disk / "decks"
    assert _cli("build", source, "--out", out).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    from flashgen.ledger import Ledger

    with Ledger(".flashgen/ledger.sqlite") as book:
        issued = len(book)
    # Fill the disk, then build more posts into it.
    handle = os.open(small_disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(handle, b"\0" * 4096):
            pass
    except OSError:
        pass  # the disk is full
    finally:
        os.close(handle)
    result = _cli("build", _posts(tmp_path, 40), "--out", out)
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert "No space left on device" in line and str(out) in line
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert _leftovers(small_disk) == []
    with Ledger(".flashgen/ledger.sqlite") as book:
        assert len(book) == issued  # nothing remembered of a build that was not written


def test_a_second_build_into_one_folder_waits_then_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("flashgen.files.LOCK_WAIT", 0.3)
    source = _posts(tmp_path, 2)
    assert _cli("build", source).exit_code == 0
    before = Path("decks/flashgen.apkg").read_bytes()
    with folder_lock(Path("decks")):  # another build is writing there
        result = _cli("build", source, "--timestamp", "5")
    assert result.exit_code == 1
    assert "another flashgen build is writing this folder" in result.output
    assert Path("decks/flashgen.apkg").read_bytes() == before
    assert _cli("build", source, "--timestamp", "5").exit_code == 0  # and then it can


# --- size ---------------------------------------------------------------------------------


def _article(paragraphs: int) -> str:
    return "\n\n".join(
        f"## Раздел {i}\nПараметр beta_{i} по умолчанию равен {i * 10} единицам. " + "Текст. " * 60
        for i in range(paragraphs)
    )


def test_a_long_post_goes_in_sections_and_its_cards_come_back_under_it(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    article = _article(30)  # about 15,000 characters
    (notes / "article.md").write_text(f"---\nchannel: Блог\n---\n{article}\n", encoding="utf-8")
    result = _cli("build", notes, "--base-url", fake.url)
    assert result.exit_code == 0, result.output
    sent = [r["messages"][1]["content"] for r in fake.requests]
    assert len(sent) >= 3 and all(len(text) < 6000 + 2000 for text in sent)
    assert "1 long posts sent in" in result.stderr
    # Every section's card is a card of the one post, grounded in it.
    assert f"1 posts → {len(sent)} notes" in result.stdout


def test_the_offline_generator_keeps_a_bounded_number_of_cards_per_post(tmp_path: Path) -> None:
    source = tmp_path / "log.txt"
    lines = [
        f"Сервис alpha_{i} отвечает за {i + 5} мс на запрос номер {i * 3}." for i in range(400)
    ]
    source.write_text("Forwarded from Логи\n" + " ".join(lines) + "\n", encoding="utf-8")
    result = _cli("build", source)
    assert result.exit_code == 0, result.output
    assert "kept its best 40 offline cards" in result.stderr
    notes = int(result.stdout.split("→ ")[1].split(" notes")[0])
    assert 0 < notes <= 40  # the checks may reject some of the forty


def test_a_very_large_build_is_announced_before_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("flashgen.pipeline.LARGE_POSTS", 3)
    result = _cli("build", _posts(tmp_path, 3))
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith("note: a large build: 3 posts")


def test_an_export_of_only_unread_chats_names_them_and_the_chat_option(tmp_path: Path) -> None:
    export = {
        "about": "Here is the data you requested.",
        "chats": {
            "about": "This page lists all chats from this export.",
            "list": [
                {
                    "name": "Рабочий чат",
                    "type": "private_group",
                    "id": 77,
                    "messages": [
                        {
                            "id": 1,
                            "type": "message",
                            "date": "2024-01-01T10:00:00",
                            "date_unixtime": "1704103200",
                            "from": "Коля",
                            "from_id": "user1",
                            "text": "Spark по умолчанию создаёт 200 партиций.",
                            "text_entities": [],
                        },
                    ],
                }
            ],
        },
    }
    path = tmp_path / "result.json"
    path.write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
    result = _cli("build", path)
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert '"Рабочий чат"' in line and '--chat "Рабочий чат"' in line
    assert _cli("build", path, "--chat", "Рабочий чат").exit_code == 0


@pytest.mark.parametrize(
    "body",
    [
        '{"choices": ["x"]}',
        '{"choices": {"0": {}}}',
        '{"choices": [{"message": {"content": 5}}], "usage": {"prompt_tokens": "n/a"}}',
        '{"choices": [{"message": null}]}',
        "[1, 2, 3]",
    ],
)
def test_a_reply_of_the_wrong_shape_fails_only_its_post(
    fake: FakeOpenAI, tmp_path: Path, body: str
) -> None:
    fake.on("номер 1 ", Reply(raw=body), repeat=True)
    result = _cli("build", _posts(tmp_path, 3), "--base-url", fake.url, "--max-retries", "0")
    assert result.exit_code == 3, result.output
    assert "3 posts → 2 notes" in result.stdout and "Traceback" not in result.output


def test_requests_go_through_the_proxy_of_the_environment(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server stands in for a proxy: the host named in the base URL does not exist.
    monkeypatch.setenv("HTTP_PROXY", fake.url.removesuffix("/v1"))
    for name in ("NO_PROXY", "no_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    result = _cli("build", _posts(tmp_path, 2), "--base-url", "http://flashgen.invalid/v1")
    assert result.exit_code == 0, result.output
    assert "2 posts → 2 notes" in result.stdout and fake.proxied > 0


def test_a_cache_with_a_damaged_page_never_stops_the_build(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    source = _posts(tmp_path, 60)
    assert _cli("build", source, "--base-url", fake.url).exit_code == 0
    cache = Path(".flashgen/cache.sqlite")
    data = bytearray(cache.read_bytes())
    assert len(data) > 6 * 4096
    data[3 * 4096 : 5 * 4096] = bytes(random.Random(5).randrange(256) for _ in range(2 * 4096))
    cache.write_bytes(bytes(data))
    for suffix in ("-wal", "-shm"):
        Path(f"{cache}{suffix}").unlink(missing_ok=True)
    result = _cli("build", _posts(tmp_path, 61), "--base-url", fake.url)
    assert result.exit_code == 0, result.output
    assert "61 posts → 61 notes" in result.stdout


def test_a_refusal_is_re_asked_then_fails_only_its_post(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.on("номер 2 ", Reply(refusal="I can't help with that"), repeat=True)
    result = _cli("build", _posts(tmp_path, 3), "--base-url", fake.url, "--reasks", "1")
    assert result.exit_code == 3, result.output
    [failure] = [line for line in result.stderr.splitlines() if line.startswith("failed:")]
    assert "refused" in failure and "(gave up after 2 attempts)" in failure
    assert "3 posts → 2 notes" in result.stdout


@pytest.mark.parametrize("embeds", [True, False], ids=["embeds", "no-embeddings"])
def test_an_unchanged_rebuild_asks_the_server_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embeds: bool
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    source = _posts(tmp_path, 5)
    with FakeOpenAI(embeddings=embeds) as fake:
        cold = _cli("build", source, "--base-url", fake.url, "--out", "cold")
        assert cold.exit_code == 0, cold.output
        assert fake.count == 5 and fake.embedding_count >= 1
        fake.reset()
        again = _cli("build", source, "--base-url", fake.url, "--out", "again")
        assert again.exit_code == 0, again.output
        # Answers, the probe and the vectors all come from the cache.
        assert fake.count == 0 and fake.embedding_count == 0
    packages = [Path(d) / "flashgen.apkg" for d in ("cold", "again")]
    assert packages[0].read_bytes() == packages[1].read_bytes()
    if not embeds:
        assert "offers no embeddings" in again.stderr  # said again, without asking again


def test_offline_builds_report_progress_too(tmp_path: Path) -> None:
    from flashgen import GeneratorConfig, build

    seen: list[tuple[int, int]] = []
    build(
        [_posts(tmp_path, 4)],
        tmp_path / "out",
        generator=GeneratorConfig(),
        progress=lambda d, t: seen.append((d, t)),
    )
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_a_lone_surrogate_in_an_export_is_replaced_not_a_traceback(tmp_path: Path) -> None:
    # JSON may spell half a UTF-16 pair ("\ud800"); no encoding can write it.
    message = {
        "id": 1, "type": "message", "date": "2024-03-01T12:00:00", "from": "ML Notes",
        "text": "Kafka хранит сообщения 168 часов \ud800 по умолчанию.",
    }  # fmt: skip
    export = {"name": "ML Notes", "type": "public_channel", "id": 42, "messages": [message]}
    source = tmp_path / "result.json"
    source.write_text(json.dumps(export, ensure_ascii=True), encoding="utf-8")
    result = _cli("build", source)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert any("\ufffd" in field for field in _fields(Path("decks/flashgen.apkg")))
