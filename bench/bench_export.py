"""Benchmark: read a large Telegram Desktop JSON export with `flashgen posts --json`.

Writes a single-channel export of N messages (100,000 by default: about 170 MB, since the
exporter writes every text twice, as `text` and as `text_entities`) shaped like its output:
entity lists, captions, stickers, service messages, forwards and the exporter's invalid
`\\x0C` escapes. Then runs `flashgen posts --json` on it in a child process and prints
the wall time and the child's peak memory (max RSS).

    python bench/bench_export.py                 # 100,000 messages
    python bench/bench_export.py --messages 20000 --keep /tmp/export

Target: under 10 s and under 500 MB on 2 cores. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

TARGET_SECONDS = 10.0
TARGET_MB = 500.0

WORDS = (
    "модель обучение данные градиент слой внимание трансформер токен претрейн датасет "
    "оптимизатор метрика валидация инференс эмбеддинг архитектура батч регуляризация "
    "loss attention encoder decoder fine-tuning benchmark latency throughput"
).split()
CHANNELS = ["Душный NLP", "gonzo-обзоры ML статей", "DevFM", "LLM под капотом", "DeepSchool"]


def _sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(4, 10))
    return " ".join(words).capitalize() + "."


def _text(rng: random.Random, index: int) -> list[Any] | str:
    """A message's `text`: a plain string, or a list of strings and entity objects."""
    paragraphs = [" ".join(_sentence(rng) for _ in range(rng.randint(1, 2))) for _ in range(2)]
    if rng.random() < 0.2:
        return "\n".join(paragraphs)
    return [
        {"type": "bold", "text": f"Пост {index}: {paragraphs[0][:40]}"},
        f"\n{paragraphs[0]} ",
        {"type": "text_link", "text": "статья", "href": f"https://example.com/p/{index}"},
        "\n",
        {"type": "code", "text": "torch.optim.AdamW(lr=3e-4)"},
        f"\n{paragraphs[1]}\n",
        {"type": "link", "text": f"https://arxiv.org/abs/2401.{index:05d}"},
        "\n",
        {"type": "hashtag", "text": "#ml"},
    ]


def _plain(text: list[Any] | str) -> list[Any]:
    """`text_entities`: the same text, every piece an object."""
    parts = [text] if isinstance(text, str) else text
    return [p if isinstance(p, dict) else {"type": "plain", "text": p} for p in parts]


def _dump(value: Any, indent: int) -> str:
    """JSON laid out like the exporter's: one member per line, one space per level."""
    text = json.dumps(value, ensure_ascii=False, indent=1)
    return text.replace("\n", "\n" + " " * indent)


def write_export(path: Path, messages: int, seed: int = 7) -> int:
    """Write a channel export of `messages` messages; return how many are posts."""
    rng = random.Random(seed)
    posts = 0
    with path.open("w", encoding="utf-8") as out:
        out.write('{\n "name": "Bench channel",\n "type": "public_channel",\n')
        out.write(' "id": 1234567890,\n "messages": [')
        for index in range(1, messages + 1):
            message = _message(rng, index)
            posts += message.pop("_post")
            _write_message(out, message, first=index == 1)
        out.write("\n ]\n}\n")
    return posts


def _message(rng: random.Random, index: int) -> dict[str, Any]:
    unix = 1_700_000_000 + index * 60
    base: dict[str, Any] = {
        "id": index,
        "type": "message",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(unix)),
        "date_unixtime": str(unix),
        "from": "Bench channel",
        "from_id": "channel1234567890",
    }
    roll = rng.random()
    if roll < 0.04:
        base.update(type="service", actor="Bench channel", action="pin_message", message_id=1)
        base.update(text="", text_entities=[], _post=0)
    elif roll < 0.08:
        base.update(file="(File not included. Change data exporting settings to download.)")
        base.update(media_type="sticker", sticker_emoji="👍", text="", text_entities=[], _post=0)
    else:
        text = _text(rng, index)
        if roll < 0.2:
            base["photo"] = "(File not included. Change data exporting settings to download.)"
        if roll > 0.8:
            base["forwarded_from"] = rng.choice(CHANNELS)
        base.update(text=text, text_entities=_plain(text), _post=1)
    return base


def _write_message(out: TextIO, message: dict[str, Any], *, first: bool) -> None:
    text = _dump(message, 2)
    if message["id"] % 97 == 0:
        # The exporter writes control characters as \x0C, which JSON has no escape for.
        text = text.replace('"text": "', '"text": "\\x0C', 1)
    out.write(("\n  " if first else ",\n  ") + text)


def run(export: Path) -> tuple[float, float, int]:
    """Seconds, peak MB and post count of `flashgen posts --json` on the export."""
    command = [sys.executable, "-c", "from flashgen.cli import main; main()", "posts", "--json"]
    with tempfile.TemporaryFile() as output:
        start = time.perf_counter()
        done = subprocess.run([*command, str(export)], stdout=output, stderr=subprocess.PIPE)
        seconds = time.perf_counter() - start
        if done.returncode:
            sys.exit(f"flashgen failed: {done.stderr.decode(errors='replace')}")
        output.seek(0)
        count = len(json.load(output))
    # ru_maxrss is in KiB on Linux; the child is the only process this one waited for.
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return seconds, peak_mb, count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="Write the export into this folder and keep it.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        export = folder / "result.json"
        expected = write_export(export, args.messages)
        size_mb = export.stat().st_size / 1e6
        seconds, peak_mb, count = run(export)
    print(f"export: {args.messages} messages, {size_mb:.1f} MB, {expected} posts")
    print(f"flashgen posts --json: {seconds:.2f} s, peak memory {peak_mb:.0f} MB, {count} posts")
    ok = count == expected and seconds < TARGET_SECONDS and peak_mb < TARGET_MB
    print(f"target < {TARGET_SECONDS:.0f} s and < {TARGET_MB:.0f} MB: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
