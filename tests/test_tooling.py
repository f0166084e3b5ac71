"""Tooling and docs that cannot rot: lint, format, types, and the README's commands."""

from __future__ import annotations

import ast
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
    # The line .ci/run picks out of the README, by its own command, is the quickstart's.
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    [pick] = re.findall(r"^test_line=\$\((.*)\)$", ci, flags=re.MULTILINE)
    picked = subprocess.run(["bash", "-c", pick], cwd=REPO, capture_output=True, text=True)
    assert picked.stdout.strip() == _quickstart()[1]
    assert 'bash -c "$test_line"' in ci


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
        "verify.j2",
        "verify_system.j2",
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


def _imports(path: Path) -> set[str]:
    """The flashgen modules (and openai) a source file imports, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.split(".")[0] in ("flashgen", "openai")}


MODULES = {
    path.relative_to(REPO).with_suffix("").as_posix().replace("/", "."): path
    for path in (REPO / "flashgen").rglob("*.py")
}


def _module(name: str) -> str:
    return name.removesuffix(".__init__")


def test_dependencies_point_down() -> None:
    imports = {_module(name): _imports(path) for name, path in MODULES.items()}
    # The bottom: the text toolkit, errors and settings import nothing of flashgen's, and
    # the models only the text toolkit.
    for bottom in ("flashgen.text", "flashgen.errors", "flashgen.settings"):
        assert not imports[bottom], (bottom, imports[bottom])
    assert imports["flashgen.models"] <= {"flashgen.text"}
    # Settings are read at the edge: only the CLI's public API imports the reader.
    readers = {name for name, found in imports.items() if "flashgen.config" in found}
    assert readers == {"flashgen"}
    assert not any(name.startswith("flashgen.check") for name in imports["flashgen.export"])
    # The CLI uses the public API only; only the model client talks to the SDK.
    assert {n for n in imports["flashgen.cli"] if n.startswith("flashgen")} == {"flashgen"}
    assert {name for name, found in imports.items() if "openai" in found} == {"flashgen.client"}


def _documented_options() -> set[str]:
    docs = [README, *(p.read_text(encoding="utf-8") for p in (REPO / "docs").glob("*.md"))]
    return {opt for text in docs for opt in re.findall(r"(?<![\w-])--[a-z][a-z-]+", text)}


def test_every_option_the_docs_name_exists() -> None:
    known = {
        opt
        for command in main.commands.values()
        for param in command.params
        for opt in getattr(param, "opts", [])
    } | {"--help", "--version"}
    # Options of other programs the docs show: pip, llama-server, vLLM, ruff, bench scripts.
    others = {"--no-deps", "--parallel", "--model", "--port", "--host", "--ctx-size"}
    others |= {"--n-gpu-layers", "--check", "--latency"}
    assert _documented_options() - known - others == set()
