"""`flashgen check`, `flashgen eval` and the rejection report of `flashgen build`."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from flashgen import read_posts
from flashgen.cli import main

from .conftest import REPO
from .fake_openai import FakeOpenAI, Reply

POSTS = """Forwarded from ML Notes
SFT в LLaMA 3.1 проходит в шесть раундов, а к DPO добавляют NLL с коэффициентом 0,2.
"""
QUOTE = "SFT в LLaMA 3.1 проходит в шесть раундов, а к DPO добавляют NLL с коэффициентом 0,2."


def _posts(tmp_path: Path) -> Path:
    path = tmp_path / "posts.txt"
    path.write_text(POSTS, encoding="utf-8")
    return path


def _cards(tmp_path: Path, post_id: str) -> Path:
    cards = [
        {"kind": "basic", "question": "Сколько раундов SFT у LLaMA 3.1?", "answer": "шесть"},
        {"kind": "basic", "question": "Верно ли, что к DPO добавляют NLL?", "answer": "Да"},
        {"kind": "cloze", "question": "no deletion at all"},
        {"kind": "basic", "question": "Сколько раундов SFT у LLaMA 3.1?", "answer": "семь"},
    ]
    path = tmp_path / "cards.json"
    data = [dict(c, post_id=post_id, source_quote=QUOTE) for c in cards]
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_check_prints_verdicts_with_reasons(tmp_path: Path) -> None:
    posts = _posts(tmp_path)
    [post] = read_posts([posts])
    cards = _cards(tmp_path, post.id)
    result = CliRunner().invoke(main, ["check", "--posts", str(posts), "--cards", str(cards)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "#0 accepted"
    assert lines[1].startswith("#1 rejected:") and "yes-no-question" in lines[1]
    assert lines[2] == "#2 rejected: cloze-syntax"
    assert "number-not-in-post" in lines[3]
    assert lines[-1] == "1 of 4 cards accepted"

    as_json = CliRunner().invoke(
        main, ["check", "--posts", str(posts), "--cards", str(cards), "--json"]
    )
    verdicts = json.loads(as_json.stdout)
    assert [v["index"] for v in verdicts] == [0, 1, 2, 3]
    assert [v["accepted"] for v in verdicts] == [True, False, False, False]
    assert verdicts[2]["reasons"] == ["cloze-syntax"]


def test_check_rejects_cards_for_unknown_posts_and_bad_files(tmp_path: Path) -> None:
    posts = _posts(tmp_path)
    cards = _cards(tmp_path, "no-such-post")
    result = CliRunner().invoke(
        main, ["check", "--posts", str(posts), "--cards", str(cards), "--json"]
    )
    assert all("unknown-post" in v["reasons"] for v in json.loads(result.stdout)[:2])
    broken = tmp_path / "broken.json"
    broken.write_text('[{"kind": "basic",', encoding="utf-8")
    bad = CliRunner().invoke(main, ["check", "--posts", str(posts), "--cards", str(broken)])
    assert bad.exit_code != 0
    assert bad.stderr.strip().count("\n") == 0 and "broken.json:1:" in bad.stderr


def test_eval_reports_recall_and_figures(seed_path: Path) -> None:
    gold = REPO / "tests" / "quality" / "seed_gold.json"
    result = CliRunner().invoke(main, ["eval", "--gold", str(gold), str(seed_path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert len(report["posts"]) == 11
    assert report["core_recall"] >= 0.75 and report["groundedness"] == 1.0  # as test_quality
    text = CliRunner().invoke(main, ["eval", "--gold", str(gold), str(seed_path)]).stdout
    assert "key-fact recall:" in text and "answer words: median" in text


def test_build_reports_rejected_cards_beside_the_deck(tmp_path: Path) -> None:
    posts = _posts(tmp_path)
    good = {"kind": "basic", "question": "Сколько раундов SFT у LLaMA 3.1?", "answer": "шесть"}
    bad = [
        {"kind": "basic", "question": "Верно ли, что к DPO добавляют NLL?", "answer": "Да"},
        {"kind": "basic", "question": "Какой коэффициент у NLL в DPO?", "answer": "0,5"},
        {"kind": "basic", "question": "Что добавляют к DPO в этом посте?", "answer": "NLL"},
    ]
    answer = {
        "topic": "LLaMA",
        "key_facts": ["six rounds"],
        "cards": [dict(c, source_quote=QUOTE) for c in [good, *bad]],
    }
    out = tmp_path / "decks"
    with FakeOpenAI() as fake:
        fake.enqueue(Reply(content=json.dumps(answer, ensure_ascii=False)))
        result = CliRunner().invoke(
            main, ["build", str(posts), "--base-url", fake.url, "--out", str(out)]
        )
    assert result.exit_code == 0, result.output
    assert "1 notes (1 cards) in 1 decks" in result.stdout
    assert "3 cards rejected by the checks" in result.stderr
    lines = (out / "flashgen.rejected.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert {r["card"]["question"]: r["reasons"] for r in records} == {
        bad[0]["question"]: ["yes-no-question"],
        bad[1]["question"]: ["number-not-in-post"],
        bad[2]["question"]: ["not-self-contained"],
    }
    # The next clean build rewrites the report, so it never describes an older build.
    CliRunner().invoke(main, ["build", str(posts), "--generator", "offline", "--out", str(out)])
    assert (out / "flashgen.rejected.jsonl").read_text(encoding="utf-8") == ""


def test_check_prints_the_evidence_of_a_wrong_fact(tmp_path: Path) -> None:
    posts = tmp_path / "posts.txt"
    posts.write_text(
        "Forwarded from Data\nПо умолчанию retention.ms равен 7 дней, а segment.ms — 1 час.\n",
        encoding="utf-8",
    )
    [post] = read_posts([posts])
    quote = "По умолчанию retention.ms равен 7 дней, а segment.ms — 1 час."
    cards = tmp_path / "cards.json"
    fields = [
        ("Чему по умолчанию равен retention.ms?", "7 дней"),
        ("Чему по умолчанию равен retention.ms?", "7 часов"),
        ("Чему по умолчанию равен segment.ms?", "7 дней"),
    ]
    cards.write_text(
        json.dumps(
            [
                {
                    "kind": "basic",
                    "question": q,
                    "answer": a,
                    "source_quote": quote,
                    "post_id": post.id,
                }
                for q, a in fields
            ],
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["check", "--posts", str(posts), "--cards", str(cards)])
    lines = result.stdout.splitlines()
    assert lines[0] == "#0 accepted"
    assert lines[1] == "#1 rejected: unit-mismatch (the post says «7 дней»)"
    assert lines[2].startswith("#2 rejected: answer-not-bound (") and "«1»" in lines[2]
    as_json = json.loads(
        CliRunner()
        .invoke(main, ["check", "--posts", str(posts), "--cards", str(cards), "--json"])
        .stdout
    )
    assert as_json[1]["evidence"] == {"unit-mismatch": "the post says «7 дней»"}
