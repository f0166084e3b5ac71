"""Tooling and docs that cannot rot: lint, format, types, and the README's commands."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from flashgen.cli import main

from .conftest import REPO

BIN = Path(sys.executable).parent
README = (REPO / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy", "flashgen"],
    ],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_tool_is_clean(command: list[str]) -> None:
    result = subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _quickstart() -> list[str]:
    section = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^    (python3 -m venv .*)$", section, flags=re.MULTILINE)


def test_quickstart_has_exactly_two_command_lines() -> None:
    run_line, test_line = _quickstart()
    assert "flashgen build examples/" in run_line
    assert "pytest" in test_line


def test_ci_runs_the_readme_test_line() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "README.md" in ci and "pytest" in _quickstart()[1]


def test_readme_documents_every_command_and_option() -> None:
    for name, command in main.commands.items():
        assert f"flashgen {name}" in README, name
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--") and opt != "--help":
                    assert opt in README, f"flashgen {name} {opt} is not in the README"


def test_readme_main_job_runs_on_the_examples_and_prints_what_the_readme_shows() -> None:
    result = CliRunner().invoke(main, ["build", str(REPO / "examples")])
    assert result.exit_code == 0, result.output
    assert Path("decks/flashgen.apkg").stat().st_size > 0
    summary = result.stdout.splitlines()[0]
    assert re.fullmatch(r"\d+ posts → \d+ notes \(\d+ cards\) in \d+ decks → \S+", summary)
    assert f"    {summary}\n" in README


def test_an_installed_flashgen_carries_its_prompts(tmp_path: Path) -> None:
    # What a wheel would hold: the packages and their data, as setuptools lays them out.
    lib = tmp_path / "lib"
    setup = "from setuptools import setup; setup()"
    subprocess.run(
        [sys.executable, "-c", setup, "build_py", "--build-lib", str(lib)],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    assert sorted(p.name for p in (lib / "flashgen" / "prompts").glob("*.j2")) == [
        "post.j2",
        "reask.j2",
        "system.j2",
    ]
    posts = tmp_path / "posts.txt"
    posts.write_text("Kafka хранит сообщения 168 часов по умолчанию.\n", encoding="utf-8")
    code = "from flashgen.cli import main; main()"
    env = {"PYTHONPATH": str(lib), "PATH": "/usr/bin:/bin", "OPENAI_BASE_URL": "http://x/v1"}
    shown = subprocess.run(
        [sys.executable, "-c", code, "prompt", str(posts), "--post", ""],
        cwd=tmp_path,  # nowhere near the repository's prompts/
        env=env,
        capture_output=True,
        text=True,
    )
    assert shown.returncode == 0, shown.stderr
    assert "--- system ---" in shown.stdout and "168 часов" in shown.stdout
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "from flashgen.generate.prompts import DEFAULT_PROMPTS as d; print(d)",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert Path(where.stdout.strip()) == lib / "flashgen" / "prompts"
