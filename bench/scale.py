"""How flashgen scales: a year of a busy channel, offline and against a model server.

Posts are made from real templates — the seed's posts and the project's examples — each
copy with its numbers shifted and a share of its Latin terms renamed, so copies are alike
as a channel's posts are (the same rubric, the same words, other figures) and every copy
is still its own post. Each build runs the real CLI in a child process; its wall time and
peak memory (max RSS) are printed.

1. Offline builds of 2,000 and 20,000 posts: wall, time per post, peak memory.
   Targets: time per post at 20,000 within 1.3× of that at 2,000; peak ≤ 1 GB.
2. The 100,000-message Telegram Desktop export of bench/bench_export.py, built offline end
   to end. Target: under 5 minutes.
3. A fully cached rebuild of 10,000 posts against tests/fake_openai.py, with embeddings and
   without, beside start-up plus raw genanki writing the same notes. Targets: no request
   sent; with embeddings ≤ 1.5× without; ≤ 10× start-up + raw genanki.

    python bench/scale.py                       # all of it (about ten minutes here)
    python bench/scale.py --posts 2000 --skip-export --skip-rebuild
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEED = REPO.parent / "shared" / "seeds" / "telegram-posts.txt"
EXAMPLES = REPO / "examples" / "posts.txt"
FAKE = REPO / "tests" / "fake_openai.py"
sys.path.insert(0, str(Path(__file__).resolve().parent))

PER_POST_RATIO = 1.3
PEAK_MB = 1024.0
EXPORT_SECONDS = 300.0
EMBEDDINGS_RATIO = 1.5
GENANKI_RATIO = 10.0

_NUMBER_RE = re.compile(r"\d+")
_TERM_RE = re.compile(r"\b[A-Z][A-Za-z]{2,}\b")

# Run in a child: the build, then its peak memory. ru_maxrss of RUSAGE_CHILDREN is the
# largest descendant so far, so each measurement gets a process of its own; and since a
# large offline build makes its cards in worker processes, the memory of the build's whole
# process tree is sampled too, and the larger of the two is its peak.
_MEASURE = """
import json, os, resource, subprocess, sys, threading, time
limit = float(sys.argv[2]) or None
page = os.sysconf("SC_PAGE_SIZE")
tree_peak = 0
def tree_rss(root):
    children, rss = {}, {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as stat:
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{name}/statm") as statm:
                rss[int(name)] = int(statm.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total
def sample(child, stop):
    global tree_peak
    while not stop.wait(0.25):
        tree_peak = max(tree_peak, tree_rss(child.pid))
started = time.perf_counter()
# A session of its own: on a timeout the whole tree is stopped, workers included, or
# they would hold the pipes open and the wait below would never end.
child = subprocess.Popen(sys.argv[3:], cwd=sys.argv[1], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
stop = threading.Event()
sampler = threading.Thread(target=sample, args=(child, stop), daemon=True)
sampler.start()
try:
    out, err = child.communicate(timeout=limit)
    rc = child.returncode
except subprocess.TimeoutExpired:
    os.killpg(child.pid, 9)
    out, err = child.communicate()
    rc = "timeout"
wall = time.perf_counter() - started
stop.set()
sampler.join()
peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, tree_peak / 2**20)
print(json.dumps({"rc": rc, "wall": wall, "peak_mb": peak,
                  "out": out[-2000:], "err": err[-2000:]}))
"""


def templates() -> list[tuple[str, str]]:
    """(channel, text) of every post of the seed and the examples, read as flashgen reads them."""
    from flashgen import read_posts

    found = read_posts([p for p in (SEED, EXAMPLES) if p.exists()])
    if not found:
        sys.exit(f"no template posts: {SEED} and {EXAMPLES} are missing")
    return [(post.channel, post.text) for post in found]


def variant(text: str, copy: int, rng: random.Random) -> str:
    """The template with its numbers shifted and a third of its Latin terms renamed."""
    text = _NUMBER_RE.sub(lambda m: str(int(m.group(0)) + copy), text)
    renamed = {t for t in sorted(set(_TERM_RE.findall(text))) if rng.random() < 0.33}
    if renamed:
        text = _TERM_RE.sub(
            lambda m: m.group(0) + (f"x{copy}" if m.group(0) in renamed else ""), text
        )
    # The copy's mark goes last: a model that cards the post's first figure (the fixture
    # server does) then makes a card per post, not one per copy.
    return f"{text}\nВыпуск {copy}."


def write_posts(path: Path, count: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    base = templates()
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            channel, text = base[i % len(base)]
            out.write(f"Forwarded from {channel}\n{variant(text, i // len(base), rng)}\n")


def measure(args: list[str], cwd: Path, limit: float = 0.0) -> dict[str, object]:
    """Wall time and peak memory of one command; with a `limit` (seconds), a command still
    running then is stopped and reported with rc "timeout"."""
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(cwd), str(limit), *args],
        capture_output=True,
        text=True,
    )
    result = json.loads(done.stdout)
    if result["rc"] not in (0, "timeout"):
        sys.exit(f"{' '.join(args)} failed (exit {result['rc']}):\n{result['out']}{result['err']}")
    return result


def flashgen(*args: str) -> list[str]:
    return [sys.executable, "-c", "from flashgen.cli import main; main()", *args]


def offline(counts: list[int], folder: Path) -> bool:
    print("offline builds")
    per_post: dict[int, float] = {}
    ok = True
    for count in counts:
        posts = folder / f"posts-{count}.txt"
        write_posts(posts, count)
        run = measure(
            flashgen("build", str(posts), "--out", f"out-{count}", "--timestamp", "0"), folder
        )
        per_post[count] = run["wall"] / count  # type: ignore[operator]
        summary = str(run["out"]).strip().splitlines()[-1]
        print(
            f"  {count:>6} posts: {run['wall']:.1f} s, {per_post[count] * 1000:.2f} ms per post, "
            f"peak {run['peak_mb']:.0f} MB — {summary}"
        )
        if run["peak_mb"] > PEAK_MB:  # type: ignore[operator]
            ok = False
    if len(counts) > 1:
        ratio = per_post[counts[-1]] / per_post[counts[0]]
        verdict = "meets" if ratio <= PER_POST_RATIO else "MISSES"
        print(
            f"  time per post at {counts[-1]} / at {counts[0]}: {ratio:.2f} "
            f"({verdict} the target ≤ {PER_POST_RATIO})"
        )
        ok = ok and ratio <= PER_POST_RATIO
    print(f"  peak memory target ≤ {PEAK_MB:.0f} MB: {'met' if ok else 'MISSED (see above)'}")
    return ok


def export(messages: int, folder: Path, limit: float) -> bool:
    import bench_export

    print(f"Telegram Desktop export of {messages} messages, offline")
    path = folder / "export" / "result.json"
    path.parent.mkdir()
    bench_export.write_export(path, messages)
    build = flashgen("build", str(path), "--out", "out-export", "--timestamp", "0")
    run = measure(build, folder, limit)
    if run["rc"] == "timeout":
        print(
            f"  not done after {run['wall']:.0f} s, stopped (MISSES the target < "
            f"{EXPORT_SECONDS:.0f} s)"
        )
        return False
    summary = str(run["out"]).strip().splitlines()[-1]
    ok = run["wall"] < EXPORT_SECONDS  # type: ignore[operator]
    print(
        f"  {run['wall']:.1f} s, peak {run['peak_mb']:.0f} MB — {summary} "
        f"({'meets' if ok else 'MISSES'} the target < {EXPORT_SECONDS:.0f} s)"
    )
    return bool(ok)


def _server(*flags: str) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [sys.executable, str(FAKE), *flags],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    return server, server.stdout.readline().strip()


def _requests(summary: str) -> int:
    found = re.search(r"(\d+) requests", summary)
    return int(found.group(1)) if found else -1


def raw_genanki(package: Path, folder: Path) -> float:
    """Seconds for start-up plus genanki alone writing the notes of `package` again."""
    code = f"""
import sqlite3, zipfile, tempfile, time, genanki
from pathlib import Path
with tempfile.TemporaryDirectory() as tmp:
    zipfile.ZipFile({str(package)!r}).extract("collection.anki2", tmp)
    rows = sqlite3.connect(Path(tmp) / "collection.anki2").execute(
        "SELECT guid, mid, flds, tags FROM notes").fetchall()
models = {{m.model_id: m for m in (genanki.BASIC_MODEL, genanki.CLOZE_MODEL)}}
started = time.perf_counter()
deck = genanki.Deck(1, "raw")
for guid, mid, flds, tags in rows:
    model = genanki.CLOZE_MODEL if "{{{{c" in flds else genanki.BASIC_MODEL
    fields = flds.split("\\x1f")
    fields = (fields + ["", ""])[: len(model.fields)]
    deck.add_note(genanki.Note(model=model, fields=fields, guid=guid, tags=tags.split()))
genanki.Package([deck]).write_to_file({str(folder / "raw.apkg")!r})
print(time.perf_counter() - started)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    startup = measure([sys.executable, "-c", "import flashgen.cli"], folder)["wall"]
    return float(done.stdout) + float(startup)  # type: ignore[arg-type]


def rebuild(count: int, folder: Path) -> bool:
    print(f"fully cached rebuild of {count} posts")
    posts = folder / f"rebuild-{count}.txt"
    write_posts(posts, count, seed=11)
    walls: dict[str, float] = {}
    ok = True
    package = folder / "out-embed" / "flashgen.apkg"
    for name, flags in (("embed", ("--embeddings",)), ("plain", ())):
        server, url = _server(*flags)
        work = folder / f"rebuild-{name}"
        work.mkdir()
        try:
            args = flashgen(
                "build",
                str(posts),
                "--base-url",
                url,
                "--concurrency",
                "16",
                "--out",
                str(folder / f"out-{name}"),
                "--timestamp",
                "0",
            )
            measure(args, work)  # the cold build fills the cache
            run = measure(args, work)
            plus = None
            if flags:
                # Not a target, and no memo: what a rebuild that has one new post costs.
                grown = folder / f"rebuild-{count}-plus-one.txt"
                grown.write_text(
                    posts.read_text(encoding="utf-8")
                    + "Forwarded from Новый канал\nParquet хранит данные по столбцам.\n",
                    encoding="utf-8",
                )
                elsewhere = ["--out", str(folder / "out-plus-one")]
                plus = measure([*args[:4], str(grown), *args[5:], *elsewhere], work)
        finally:
            assert server.stdin is not None
            server.stdin.close()
            server.wait(timeout=30)
        sent = _requests(str(run["out"]))
        walls[name] = float(run["wall"])  # type: ignore[arg-type]
        print(
            f"  server {'with' if flags else 'without'} embeddings: {walls[name]:.2f} s, "
            f"peak {run['peak_mb']:.0f} MB, {sent} requests sent — "
            + str(run["out"]).strip().splitlines()[0]
        )
        if plus is not None:
            print(
                f"  one post added (built in full, from the cache): {plus['wall']:.2f} s, "
                f"{_requests(str(plus['out']))} requests sent"
            )
        ok = ok and sent == 0
    raw = raw_genanki(package, folder)
    ratio_embed = walls["embed"] / walls["plain"]
    ratio_raw = walls["embed"] / raw
    print(f"  start-up + raw genanki for the same notes: {raw:.2f} s")
    print(
        f"  with / without embeddings: {ratio_embed:.2f} "
        f"({'meets' if ratio_embed <= EMBEDDINGS_RATIO else 'MISSES'} ≤ {EMBEDDINGS_RATIO})"
    )
    print(
        f"  with embeddings / (start-up + raw genanki): {ratio_raw:.2f} "
        f"({'meets' if ratio_raw <= GENANKI_RATIO else 'MISSES'} ≤ {GENANKI_RATIO:.0f})"
    )
    return ok and ratio_embed <= EMBEDDINGS_RATIO and ratio_raw <= GENANKI_RATIO


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--posts", default="2000,20000", help="offline build sizes, comma-separated"
    )
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument(
        "--export-limit",
        type=float,
        default=2 * EXPORT_SECONDS,
        help="seconds after which the export build is stopped (0: none)",
    )
    parser.add_argument("--rebuild", type=int, default=10_000)
    parser.add_argument("--skip-offline", action="store_true")
    parser.add_argument("--skip-export", action="store_true")
    parser.add_argument("--skip-rebuild", action="store_true")
    args = parser.parse_args()

    import llm_throughput

    llm_throughput.compile_flashgen()
    results = []
    with tempfile.TemporaryDirectory(prefix="flashgen-scale-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        if not args.skip_offline:
            results.append(offline([int(n) for n in args.posts.split(",")], folder))
        if not args.skip_export:
            results.append(export(args.messages, folder, args.export_limit))
        if not args.skip_rebuild:
            results.append(rebuild(args.rebuild, folder))
    verdict = "met" if all(results) else "NOT met"
    print(f"all targets {verdict} ({time.perf_counter() - started:.0f} s)")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
