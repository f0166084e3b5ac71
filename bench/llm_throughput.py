"""How close `flashgen build` gets to the ideal time against a server with fixed latency.

Runs the real CLI (start-up, reading, checks and export included) on N generated posts
against tests/fake_openai.py in its own process, answering every request after L seconds,
with C requests in flight. The ideal is R·L/C for the R requests the server received:
one per post for its cards and, with the round trip on (the default), one per post for
it; the target is wall time / ideal ≤ 1.10 at N=1000, L=200 ms, C=16. The same build
with --verify off is timed too (R = N). Then times the cached rebuild of the same posts,
and the floor under any client on the openai SDK: importing it, and N bare requests
through it at C in flight against the same server. flashgen's bytecode is compiled
first, as a regular install leaves it.

    python bench/llm_throughput.py [--posts 1000] [--latency 0.2] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FAKE = REPO / "tests" / "fake_openai.py"
TARGET = 1.10


def write_posts(path: Path, count: int) -> None:
    lines = []
    for i in range(count):
        lines += [
            f"Forwarded from Канал {i % 20}",
            f"Пост {i}: параметр alpha_{i} по умолчанию равен {i * 7 + 3} единицам.",
            f"Это значение подобрали на {i % 50 + 10} экспериментах.",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def compile_flashgen() -> None:
    """Write flashgen's bytecode caches, as a regular install does.

    An editable install under PYTHONDONTWRITEBYTECODE=1 (set on our sandboxes) would
    otherwise compile flashgen's sources again on every run, a cost users do not pay.
    """
    import flashgen

    package = Path(flashgen.__file__).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)


def timed_build(args: list[str], cwd: Path) -> tuple[float, str]:
    code = "from flashgen.cli import main; main()"
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", code, "build", *args], cwd=cwd, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"flashgen build failed:\n{result.stdout}{result.stderr}")
    return elapsed, result.stdout


def time_stages(posts: Path, url: str, folder: Path, concurrency: int) -> dict[str, float]:
    """Seconds of each stage of the same build, run in this process with a fresh cache.

    As in `flashgen build`, each post's cards are checked while the other answers are
    awaited (inside "generate"); "check" is what is left after the last answer: duplicates
    across the whole build. Without the round trip: these are the card stages.
    """
    from flashgen.check import Checker
    from flashgen.config import load_config
    from flashgen.export import export_decks
    from flashgen.generate import generate_llm
    from flashgen.group import group_by_topic
    from flashgen.sources import read_posts

    times: dict[str, float] = {}
    started = time.perf_counter()
    found = read_posts([posts])
    times["read"] = time.perf_counter() - started
    flags = {"base_url": url, "concurrency": concurrency, "verify": "off"}
    config = load_config(flags, cwd=folder)
    config = config.model_copy(update={"cache": folder / "stages.sqlite"})
    checker = Checker(found)
    started = time.perf_counter()
    run = generate_llm(found, config, on_cards=checker.add)
    times["generate"] = time.perf_counter() - started
    started = time.perf_counter()
    accepted, _ = checker.finish(run.cards)
    times["check"] = time.perf_counter() - started
    started = time.perf_counter()
    decks = group_by_topic(accepted)
    by_id = {post.id: post for post in found}
    export_decks(decks, by_id, folder / "stages.apkg", root="Flashgen", timestamp=0)
    times["export"] = time.perf_counter() - started
    return times


# The floor under any client built on the SDK, in a child of its own: how long importing
# it takes, and N bare chat requests through it, C at a time, against the same server.
_SDK_FLOOR = """
import asyncio, sys, time
started = time.perf_counter()
import openai
imported = time.perf_counter() - started
url, count, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
body = {"model": "m", "messages": [{"role": "user", "content": "Пост 1: alpha_1 равен 10."}]}
async def run():
    client = openai.AsyncOpenAI(api_key="x", base_url=url)
    slots = asyncio.Semaphore(concurrency)
    async def one():
        async with slots:
            await client.post("/chat/completions", cast_to=object, body=body)
    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    return time.perf_counter() - started
print(imported, asyncio.run(run()))
"""


def sdk_floor(url: str, count: int, concurrency: int) -> tuple[float, float]:
    """(seconds to import the SDK, seconds for `count` bare requests through it)."""
    done = subprocess.run(
        [sys.executable, "-c", _SDK_FLOOR, url, str(count), str(concurrency)],
        capture_output=True,
        text=True,
        check=True,
    )
    imported, sent = done.stdout.split()
    return float(imported), float(sent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    compile_flashgen()
    server = subprocess.Popen(
        [sys.executable, str(FAKE), "--latency", str(args.latency), "--embeddings"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        with tempfile.TemporaryDirectory(prefix="flashgen-bench-") as tmp:
            folder = Path(tmp)
            posts = folder / "posts.txt"
            write_posts(posts, args.posts)
            options = [str(posts), "--base-url", url, "--concurrency", str(args.concurrency)]
            options += ["--out", str(folder / "out"), "--timestamp", "0"]
            cold, summary = timed_build(options, folder)
            warm, again = timed_build(options, folder)
            plain = [*options, "--verify", "off", "--cache", str(folder / "plain.sqlite")]
            cards_only, _ = timed_build(plain, folder)
            stages = time_stages(posts, url, folder, args.concurrency)
            imported, bare = sdk_floor(url, args.posts, args.concurrency)
    finally:
        server.stdin.close()  # type: ignore[union-attr]
        server.wait(timeout=10)

    requests = sum(int(n) for n in re.findall(r"\): (\d+) requests", summary))
    ideal = requests * args.latency / args.concurrency
    ratio = cold / ideal
    print(f"N={args.posts} L={args.latency * 1000:.0f} ms C={args.concurrency}")
    print(summary.strip())
    print(
        f"cold build with the round trip: {cold:.2f} s for {requests} requests, ideal R·L/C = "
        f"{ideal:.2f} s, ratio {ratio:.3f}",
        end=" ",
    )
    print(f"({'meets' if ratio <= TARGET else 'MISSES'} the target ≤ {TARGET})")
    alone = args.posts * args.latency / args.concurrency
    print(
        f"cold build with --verify off: {cards_only:.2f} s, ideal N·L/C = {alone:.2f} s, "
        f"ratio {cards_only / alone:.3f}"
    )
    hits = re.search(r"\d+ cache hits", again)
    print(f"cached rebuild: {warm:.2f} s ({hits.group(0) if hits else again.strip()})")
    print("stages of the same build, timed in one process:", end=" ")
    print(", ".join(f"{name} {seconds:.2f} s" for name, seconds in stages.items()))
    print(f"generate stage alone (no round trip): ratio {stages['generate'] / alone:.3f}")
    print(
        f"the openai SDK alone: import {imported:.2f} s ({imported / alone:.3f} of N·L/C); "
        f"{args.posts} bare requests {bare:.2f} s, ratio {bare / alone:.3f}; "
        f"both {(imported + bare) / alone:.3f}"
    )


if __name__ == "__main__":
    main()
