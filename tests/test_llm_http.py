"""`flashgen build` and `flashgen prompt` over real HTTP, against the local fake server."""

from __future__ import annotations

import io
import json
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from flashgen.cli import _Progress, main

from .fake_openai import FakeOpenAI, Reply
from .helpers import summary

KEY = "sk-test-DO-NOT-STORE-7f3a9c"


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def _build(fake: FakeOpenAI, *args: str | Path) -> Result:
    argv = ["build", *map(str, args), "--base-url", fake.url, "--timestamp", "0"]
    return CliRunner().invoke(main, argv)


def _posts(tmp_path: Path, count: int, name: str = "posts.txt") -> Path:
    path = tmp_path / name
    lines = []
    for i in range(count):
        lines += [
            f"Forwarded from Канал {i % 3}",
            f"Параметр номер {i} равен {i * 7 + 1} единицам.",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_seed_then_rebuild_then_one_edited_post(
    fake: FakeOpenAI, seed_path: Path, tmp_path: Path
) -> None:
    first = _build(fake, seed_path)
    assert first.exit_code == 0, first.output
    assert fake.count == 11 and summary(first) == (11, 0, 0)
    assert re.search(r"tokens \d+ in / \d+ out; ≈ \$\d+\.\d{4}", first.stdout)
    rebuilt = _build(fake, seed_path)
    assert rebuilt.exit_code == 0 and fake.count == 11 and summary(rebuilt) == (0, 11, 0)
    edited = tmp_path / "edited.txt"
    text = seed_path.read_text(encoding="utf-8")
    assert text.count("Hadoop") == 1
    edited.write_text(text.replace("Hadoop", "Hadoop 3"), encoding="utf-8")
    again = _build(fake, edited)
    assert again.exit_code == 0 and fake.count == 12 and summary(again) == (1, 10, 0)
    assert "YTsaurus" in fake.requests[-1]["messages"][1]["content"]


def test_a_server_that_rejects_json_schema_still_yields_cards(tmp_path: Path) -> None:
    posts = _posts(tmp_path, 5)
    with FakeOpenAI(reject_json_schema=True) as fake:
        result = _build(fake, posts, "--max-retries", "0")
        formats = [request["response_format"]["type"] for request in fake.requests]
        # The mode that worked is remembered: `prompt` shows what the next build sends.
        listed = CliRunner().invoke(main, ["posts", str(posts), "--json"]).stdout
        first = json.loads(listed)[0]["id"]
        argv = ["prompt", str(posts), "--post", first, "--json", "--base-url", fake.url]
        shown = json.loads(CliRunner().invoke(main, argv).stdout)
    assert shown["response_format"]["type"] == "json_object"
    assert result.exit_code == 0, result.output
    # The first requests go out together, so up to one per post tries json_schema.
    assert formats[0] == "json_schema" and 1 <= formats.count("json_schema") <= 5
    assert formats.count("json_object") == 5
    assert "5 posts → 5 notes" in result.stdout and "LLM (json_object)" in result.stdout
    assert "rejected structured output json_schema" in result.stderr
    # The schema still travels with json_object, for servers that turn it into a grammar.
    assert fake.requests[-1]["response_format"]["schema"]["required"] == [
        "topic",
        "key_facts",
        "cards",
    ]


def test_rate_limited_then_ok_yields_every_post(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.enqueue(Reply(status=429, headers={"retry-after": "1"}, error="slow down"))
    started = time.monotonic()
    result = _build(fake, _posts(tmp_path, 4))
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started >= 1.0  # retry-after was honoured
    assert fake.count == 5 and summary(result) == (5, 0, 0)  # the retry is counted
    assert "4 posts → 4 notes" in result.stdout


def test_a_failing_server_error_fails_only_its_post(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.on("номер 2 ", Reply(status=503, error="overloaded"), repeat=True)
    result = _build(fake, _posts(tmp_path, 4), "--max-retries", "1")
    assert result.exit_code == 3, result.output  # written, but not all there
    assert "3 posts" not in result.stdout and "4 posts → 3 notes" in result.stdout
    assert re.search(r"failed: post \w+: HTTP 503: overloaded", result.stderr)
    assert "1 of 4 posts failed" in result.stderr and "asks for them again" in result.stderr
    assert Path("decks/flashgen.apkg").is_file()


def test_truncated_and_invalid_json_are_reasked_then_reported(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    cut = Reply(content='{"topic": "x", "key_facts": ["a", "b', finish_reason="length")
    fake.on("номер 1 ", cut, Reply(content="{not json"), Reply(content="{still not json"))
    fake.on("номер 3 ", Reply(content='{"topic": "x"'))  # fixed on the re-ask
    result = _build(fake, _posts(tmp_path, 5))
    assert result.exit_code == 3, result.output
    assert "5 posts → 4 notes" in result.stdout
    assert summary(result) == (5 + 2 + 1, 0, 1)
    [failure] = [line for line in result.stderr.splitlines() if line.startswith("failed:")]
    assert "not valid JSON" in failure and failure.endswith("(gave up after 3 attempts)")
    third = [r for r in fake.requests if "номер 1 " in r["messages"][1]["content"]][-1]
    roles = [m["role"] for m in third["messages"]]
    assert roles == ["system", "user", "assistant", "user", "assistant", "user"]
    assert "cut off at the limit of 4096 tokens" in third["messages"][3]["content"]


def test_the_api_key_is_sent_but_never_written(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    fake.on("номер 0 ", Reply(status=400, error="bad request"))
    result = _build(fake, _posts(tmp_path, 3), "--out", tmp_path / "out")
    assert result.exit_code == 3, result.output
    assert fake.headers[0]["authorization"] == f"Bearer {KEY}"
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert any(path.suffix == ".sqlite" for path in written)
    assert any(path.suffix == ".apkg" for path in written)
    for path in written:
        assert KEY.encode() not in path.read_bytes(), path
    assert KEY not in result.output + result.stderr


def test_prompt_prints_exactly_what_build_sends(
    fake: FakeOpenAI, seed_path: Path, tmp_path: Path
) -> None:
    options = ["--base-url", fake.url, "--language", "English", "--model", "m1"]
    shown = CliRunner().invoke(
        main, ["prompt", str(seed_path), "--post", "68c9", "--json", *options]
    )
    assert shown.exit_code == 0, shown.output
    result = CliRunner().invoke(main, ["build", str(seed_path), *options])
    assert result.exit_code == 0, result.output
    [sent] = [r for r in fake.requests if "YTsaurus" in r["messages"][1]["content"]]
    assert json.loads(shown.stdout) == sent
    text = CliRunner().invoke(main, ["prompt", str(seed_path), "--post", "68c9", *options])
    assert text.exit_code == 0
    for part in ("--- system ---", "--- user ---", "--- response_format ---", "(C7)", "Hadoop"):
        assert part in text.stdout
    assert fake.count == 11  # showing a prompt sends nothing


def test_prompt_for_an_unknown_post_is_one_line(seed_path: Path) -> None:
    result = CliRunner().invoke(main, ["prompt", str(seed_path), "--post", "nope"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: no post with id 'nope' (`flashgen posts` lists the ids)"
    ]


def test_without_a_model_build_says_how_to_configure_one(fake: FakeOpenAI, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["build", str(_posts(tmp_path, 2))])
    assert result.exit_code == 0
    [note] = [line for line in result.stderr.splitlines() if "No model configured" in line]
    assert "OPENAI_BASE_URL" in note and "docs/llm.md" in note
    offline = _build(fake, _posts(tmp_path, 2), "--generator", "offline")
    assert offline.exit_code == 0 and fake.count == 0 and "LLM" not in offline.stdout


def test_llm_without_a_server_is_one_line() -> None:
    result = CliRunner().invoke(main, ["build", "x.txt", "--generator", "llm"])
    assert result.exit_code == 1
    path = Path("p.txt")
    path.write_text("Forwarded from A\nФакт номер 1 верен.\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(path), "--generator", "llm"])
    assert result.exit_code == 1 and "no model server configured" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_unreachable_server_stops_the_build_with_one_line(tmp_path: Path) -> None:
    dead = FakeOpenAI().start()
    url = dead.url
    dead.stop()
    result = CliRunner().invoke(
        main, ["build", str(_posts(tmp_path, 3)), "--base-url", url, "--max-retries", "0"]
    )
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert "cannot connect" in line and url in line
    assert not Path("decks").exists()


def test_a_slow_server_fails_posts_by_timeout_not_the_build(tmp_path: Path) -> None:
    with FakeOpenAI(latency=1.0) as fake:
        result = _build(fake, _posts(tmp_path, 2), "--timeout", "0.2", "--max-retries", "0")
    assert result.exit_code == 3, result.output
    failures = [line for line in result.stderr.splitlines() if line.startswith("failed:")]
    assert len(failures) == 2 and all("no answer within the timeout" in f for f in failures)


@pytest.mark.parametrize(
    ("status", "problem"),
    [(401, "refused the API key (HTTP 401)"), (404, "check the base URL and the model")],
)
def test_a_wrong_key_or_model_stops_the_build_with_one_line(
    fake: FakeOpenAI, tmp_path: Path, status: int, problem: str
) -> None:
    fake.enqueue(Reply(status=status, error="nope"))
    result = _build(fake, _posts(tmp_path, 3), "--concurrency", "1")
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert problem in line and line.endswith("nope")
    assert fake.count == 1 and not Path("decks").exists()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_is_drawn_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    for stream, drawn in ((_Terminal(), True), (io.StringIO(), False)):
        monkeypatch.setattr(sys, "stderr", stream)
        progress = _Progress()
        for done in range(4):
            progress(done, 3)
        progress.close()
        assert ("Generating" in stream.getvalue()) is drawn
        assert ("3/3" in stream.getvalue() or "100%" in stream.getvalue()) is drawn
