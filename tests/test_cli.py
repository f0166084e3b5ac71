"""The command line: readable output, one clear line for bad input, nothing destroyed."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from flashgen.cli import main

POSTS = """Forwarded from ML Notes
Adam по умолчанию использует beta1 = 0.9 и learning rate 0.001 для большинства задач.
Forwarded from Data Eng
Kafka по умолчанию хранит сообщения 168 часов, то есть 7 дней.
"""


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def posts_file(tmp_path: Path) -> Path:
    path = tmp_path / "posts.txt"
    path.write_text(POSTS, encoding="utf-8")
    return path


def test_posts_table_lists_every_post(posts_file: Path) -> None:
    code, out, _ = _run("posts", str(posts_file))
    assert code == 0
    assert "ML Notes" in out and "Data Eng" in out and out.rstrip().endswith("2 posts")


def test_posts_json_is_exactly_the_post_fields(posts_file: Path) -> None:
    code, out, _ = _run("posts", str(posts_file), "--json")
    assert code == 0
    posts = json.loads(out)
    assert [set(p) for p in posts] == [{"id", "channel", "date", "url", "text", "links"}] * 2
    assert posts[1]["text"] == "Kafka по умолчанию хранит сообщения 168 часов, то есть 7 дней."


def test_a_file_without_headers_is_one_post(tmp_path: Path) -> None:
    note = tmp_path / "my-notes.txt"
    note.write_text("Первая строка заметки.\nВторая строка заметки.\n", encoding="utf-8")
    code, out, _ = _run("posts", str(note), "--json")
    assert code == 0
    [post] = json.loads(out)
    assert post["text"] == "Первая строка заметки.\nВторая строка заметки."


def test_folders_are_read_and_the_same_post_is_kept_once(posts_file: Path, tmp_path: Path) -> None:
    folder = tmp_path / "saved"
    folder.mkdir()
    (folder / "a.txt").write_text(POSTS, encoding="utf-8")
    (folder / ".hidden").write_bytes(b"\x00\x01")
    code, out, _ = _run("posts", str(folder), str(posts_file), "--json")
    assert code == 0
    assert len(json.loads(out)) == 2


def test_build_writes_the_package_and_a_summary(posts_file: Path, tmp_path: Path) -> None:
    code, out, _ = _run("build", str(posts_file), "--out", str(tmp_path / "out"))
    assert code == 0
    package = tmp_path / "out" / "flashgen.apkg"
    umask = os.umask(0)
    os.umask(umask)
    # Written through a private temp file, but it ends up an ordinary file of the user's.
    assert stat.S_IMODE(package.stat().st_mode) == 0o666 & ~umask
    assert "2 posts" in out and "2 decks" in out and "flashgen.apkg" in out


def test_build_defaults_to_decks_folder(posts_file: Path) -> None:
    code, _, _ = _run("build", str(posts_file))
    assert code == 0
    assert Path("decks/flashgen.apkg").is_file()


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Forwarded from X\ncafé crème".encode("latin-1"))
    blank = tmp_path / "blank.txt"
    blank.write_text("\n \nPlease open Telegram to view this post\n", encoding="utf-8")
    return {
        "missing": (tmp_path / "nope.txt", "no such file"),
        "empty folder": (empty_dir, "no files"),
        "binary": (binary, "binary"),
        "not utf-8": (latin1, "not UTF-8"),
        "no posts": (blank, "no posts"),
    }


@pytest.mark.parametrize("case", ["missing", "empty folder", "binary", "not utf-8", "no posts"])
@pytest.mark.parametrize("command", ["posts", "build"])
def test_bad_input_is_one_line_and_writes_nothing(
    tmp_path: Path, posts_file: Path, case: str, command: str
) -> None:
    path, problem = _bad_inputs(tmp_path)[case]
    out_dir = tmp_path / "decks"
    result = CliRunner().invoke(
        main,
        [command, str(posts_file), str(path), "--out", str(out_dir)]
        if command == "build"
        else [command, str(posts_file), str(path)],
    )
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0] and problem in lines[0]
    assert "Traceback" not in result.output + result.stderr
    assert not out_dir.exists()


def test_failed_build_keeps_the_existing_deck(tmp_path: Path, posts_file: Path) -> None:
    out_dir = tmp_path / "decks"
    assert _run("build", str(posts_file), "--out", str(out_dir))[0] == 0
    before = (out_dir / "flashgen.apkg").read_bytes()
    code, _, err = _run(
        "build", str(posts_file), str(tmp_path / "missing.txt"), "--out", str(out_dir)
    )
    assert code != 0 and "missing.txt" in err
    assert (out_dir / "flashgen.apkg").read_bytes() == before
    kept = [
        ".flashgen-build.json",
        "flashgen.apkg",
        "flashgen.html",
        "flashgen.rejected.jsonl",
        "flashgen.review.json",
    ]
    assert sorted(p.name for p in out_dir.iterdir()) == kept  # and no temporary


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_has_help(command: str) -> None:
    code, out, _ = _run(command, "--help")
    assert code == 0
    assert main.commands[command].help and "Usage:" in out


NOTHING_CHANGED = "nothing changed since the last build of this folder"


def test_an_unchanged_rebuild_leaves_the_folder_as_it_was(tmp_path: Path, posts_file: Path) -> None:
    out_dir = tmp_path / "decks"
    args = ("build", str(posts_file), "--out", str(out_dir), "--timestamp", "0")
    code, first, err = _run(*args)
    assert code == 0 and NOTHING_CHANGED not in err
    package = out_dir / "flashgen.apkg"
    written = package.stat().st_mtime_ns, package.read_bytes()
    code, again, err = _run(*args)
    assert code == 0 and NOTHING_CHANGED in err
    assert "offline generator" in err  # the last build's notes still hold
    assert again.splitlines()[0] == first.splitlines()[0]  # the same summary
    assert (package.stat().st_mtime_ns, package.read_bytes()) == written  # not written again


@pytest.mark.parametrize("change", ["edit a post", "delete the package", "another flag", "damage"])
def test_any_change_makes_the_rebuild_run_in_full(
    tmp_path: Path, posts_file: Path, change: str
) -> None:
    out_dir = tmp_path / "decks"
    args = ["build", str(posts_file), "--out", str(out_dir), "--timestamp", "0"]
    code, first, _ = _run(*args)
    assert code == 0
    if change == "edit a post":
        posts_file.write_text(
            POSTS + "\n\nТопик Apache Kafka по умолчанию делится на 3 партиции.\n", "utf-8"
        )
    elif change == "delete the package":
        (out_dir / "flashgen.apkg").unlink()
    elif change == "another flag":
        args += ["--root", "Другой"]
    else:
        (out_dir / ".flashgen-build.json").write_text("{not json", encoding="utf-8")
    code, again, err = _run(*args)
    assert code == 0 and NOTHING_CHANGED not in err and "Traceback" not in err
    assert (out_dir / "flashgen.apkg").exists()
    if change == "edit a post":
        assert again.splitlines()[0] != first.splitlines()[0]
    # Built in full, it is remembered again: a third run is the memo's.
    assert NOTHING_CHANGED in _run(*args)[2]


def test_the_memo_key_knows_whether_a_key_makes_the_build_ask_a_model(tmp_path: Path) -> None:
    """The API key is never written down, but a key set (or unset) changes the generator."""
    from pydantic import SecretStr

    from flashgen.pipeline import _memo_key
    from flashgen.settings import GeneratorConfig

    posts = tmp_path / "posts.txt"
    posts.write_text(POSTS, encoding="utf-8")
    offline = GeneratorConfig()
    keyed = offline.model_copy(update={"api_key": SecretStr("sk-test")})
    keys = [
        _memo_key([posts], g, None, None, (), "Flashgen", 0, 12, False) for g in (offline, keyed)
    ]
    assert None not in keys and keys[0] != keys[1]
    assert "sk-test" not in json.dumps(keyed.model_dump(mode="json"))


def test_a_memo_that_cannot_be_written_is_a_notice_not_a_failure(
    tmp_path: Path, posts_file: Path
) -> None:
    out_dir = tmp_path / "decks"
    (out_dir / ".flashgen-build.json").mkdir(parents=True)  # in the way of the memo
    code, _, err = _run("build", str(posts_file), "--out", str(out_dir), "--timestamp", "0")
    assert code == 0 and "the next build runs in full" in err
    assert (out_dir / "flashgen.apkg").exists()
    assert not [p for p in out_dir.iterdir() if p.name.endswith(".part")]


def test_the_memo_reads_only_the_files_the_build_reads(tmp_path: Path) -> None:
    """A named pipe or a media file in an input folder is never opened by the digest."""
    folder = tmp_path / "posts"
    folder.mkdir()
    (folder / "posts.txt").write_text(POSTS, encoding="utf-8")
    os.mkfifo(folder / "pipe")  # reading it would wait for ever
    out_dir = tmp_path / "decks"
    args = ("build", str(folder), "--out", str(out_dir), "--timestamp", "0")
    assert _run(*args)[0] == 0
    assert NOTHING_CHANGED in _run(*args)[2]


def test_only_a_build_that_did_all_it_meant_to_is_remembered() -> None:
    from flashgen.memo import _settled
    from flashgen.models import BuildResult, Generation
    from flashgen.settings import OFFLINE_NOTICE

    def result(notices: list[str], generator: str = "offline", **failed: str) -> BuildResult:
        generation = Generation(generator=generator, failures=failed)  # type: ignore[arg-type]
        return BuildResult(
            posts=1, notes=1, cards=1, decks=[], path="x", generation=generation, notices=notices
        )

    assert _settled(result([OFFLINE_NOTICE]), cached=False)
    assert _settled(result([], "llm"), cached=True)
    assert not _settled(result([], "llm"), cached=False)  # --no-cache: the next build asks again
    assert not _settled(result([], "llm", p1="HTTP 500"), cached=True)
    fell_back = "the server stopped embedding; near-duplicates found by shingles instead"
    assert not _settled(result([fell_back], "llm"), cached=True)
    # A server that answered it does not embed is a settled fact; a refused connection not.
    settled = "localhost offers no embeddings (HTTP 404); near-duplicates found by shingles"
    assert _settled(result([settled], "llm"), cached=True)
    failed = "localhost gave no embeddings this time (connection refused); near-duplicates …"
    assert not _settled(result([failed], "llm"), cached=True)


def test_the_memo_key_is_the_same_in_every_process(tmp_path: Path, posts_file: Path) -> None:
    """With the user's prompts folder beside the shipped one, the key does not depend on
    the process's hash seed (string hashes, and so set order, change from run to run)."""
    import subprocess
    import sys

    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "system.j2").write_text("Пиши карточки.", encoding="utf-8")
    code = (
        "import sys; from pathlib import Path; from flashgen.memo import fingerprint; "
        "print(fingerprint([sys.argv[1]], {}, Path(sys.argv[2])))"
    )
    keys = {
        subprocess.run(
            [sys.executable, "-c", code, str(posts_file), str(prompts)],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in map(str, range(1, 11))
    }
    assert len(keys) == 1
