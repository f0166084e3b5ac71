"""What the regeneration and identity tests share: exports and pasted files written in a
test, builds through the CLI, and a real Anki collection to import into and study."""

from __future__ import annotations

import json
import re
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest
from click.testing import CliRunner, Result

from flashgen.cli import main

from .fake_openai import FakeOpenAI, Reply


def export(path: Path, texts: list[str]) -> Path:
    """A Telegram Desktop channel export: its message ids keep post ids through edits."""
    messages = [
        {
            "id": number,
            "type": "message",
            "date": f"2024-03-0{number}T12:00:00",
            "date_unixtime": str(1709640000 + number * 86400),
            "from": "ML Notes",
            "from_id": "channel42",
            "text": text,
            "text_entities": [{"type": "plain", "text": text}],
        }
        for number, text in enumerate(texts, 1)
    ]
    export = {"name": "ML Notes", "type": "public_channel", "id": 42, "messages": messages}
    path.write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
    return path


def build(fake: FakeOpenAI, source: Path, out: Path, *extra: str) -> Result:
    argv = ["build", str(source), "--out", str(out), "--base-url", fake.url, *extra]
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 0, result.output
    return result


def import_package(col: Collection, apkg: Path) -> Any:
    request = ImportAnkiPackageRequest(
        package_path=str(apkg), options=ImportAnkiPackageOptions(with_scheduling=True)
    )
    return col.import_anki_package(request).log


def study_everything(col: Collection) -> dict[int, int]:
    """Answer every card once; card id → reps."""
    for card_id in col.find_cards(""):
        card = col.get_card(card_id)
        card.start_timer()
        col.sched.answerCard(card, 3)
    return {cid: col.get_card(cid).reps for cid in col.find_cards("")}


def mods(apkg: Path, tmp_path: Path) -> dict[str, int]:
    with zipfile.ZipFile(apkg) as archive:
        archive.extract("collection.anki2", tmp_path / apkg.stem)
    conn = sqlite3.connect(tmp_path / apkg.stem / "collection.anki2")
    try:
        return dict(conn.execute("select guid, mod from notes"))
    finally:
        conn.close()


def basic(question: str, answer: str, quote: str, topic: str = "Kafka") -> Reply:
    card = {"kind": "basic", "question": question, "answer": answer, "source_quote": quote}
    content = {"topic": topic, "key_facts": [quote], "cards": [card]}
    return Reply(content=json.dumps(content, ensure_ascii=False))


def pasted(path: Path, texts: list[str], channel: str = "ML Notes") -> Path:
    """Posts pasted as forwarded messages: a pasted post's id is its text."""
    path.write_text("".join(f"Forwarded from {channel}\n{t}\n" for t in texts), encoding="utf-8")
    return path


def summary(result: Result) -> tuple[int, int, int]:
    """(requests, cache hits, failed posts) from a build's LLM summary line."""
    match = re.search(r"(\d+) requests, (\d+) cache hits, (\d+) failed posts", result.stdout)
    assert match, result.output
    requests, hits, failed = map(int, match.groups())
    return requests, hits, failed
