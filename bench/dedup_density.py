"""How many pairs the duplicate search tests, against how many are near: two corpora.

The search by text is exact (its verdicts equal comparing every pair), so its cost is the
candidate pairs it must test. This prints, for posts made from real templates
(bench/scale.py) and for bench/bench_export.py's synthetic export, with about the same
number of cards: cards, cards kept, candidate pairs tested, pairs found near, candidates
per card and the search's seconds. Candidates per card that grow with the cards kept mean
a quadratic search on that corpus.

    python bench/dedup_density.py [--posts 3000] [--messages 5000,10000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_export
import scale

from flashgen.check import Checker, dedup
from flashgen.generate import generate_offline
from flashgen.sources import read_posts


def measure(path: Path) -> dict[str, float]:
    posts = read_posts([path])
    cards = [card for post in posts for card in generate_offline(post)]
    counts = {"candidates": 0, "near": 0}
    candidates, near = dedup._TextIndex.candidates, dedup._near_by_text

    def counted_candidates(index: dedup._TextIndex, features: dedup.Prepared) -> set[int]:
        found = candidates(index, features)
        counts["candidates"] += len(found)
        return found

    def counted_near(a: dedup.Prepared, b: dedup.Prepared, config: object) -> bool:
        verdict = near(a, b, config)  # type: ignore[arg-type]
        counts["near"] += verdict
        return verdict

    dedup._TextIndex.candidates = counted_candidates  # type: ignore[method-assign]
    dedup._near_by_text = counted_near  # type: ignore[assignment]
    try:
        started = time.perf_counter()
        accepted, _ = Checker(posts).finish(cards)
        seconds = time.perf_counter() - started
    finally:
        dedup._TextIndex.candidates = candidates  # type: ignore[method-assign]
        dedup._near_by_text = near
    return {
        "posts": len(posts),
        "cards": len(cards),
        "kept": len(accepted),
        "seconds": seconds,
        **counts,
    }


def show(name: str, row: dict[str, float]) -> None:
    print(
        f"  {name}: {row['posts']:.0f} posts, {row['cards']:.0f} cards, {row['kept']:.0f} kept; "
        f"{row['candidates']:.0f} candidate pairs tested, {row['near']:.0f} near "
        f"({row['candidates'] / max(row['cards'], 1):.1f} per card); checks {row['seconds']:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--posts", default="3000,6000")
    parser.add_argument("--messages", default="5000,10000")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flashgen-density-") as tmp:
        folder = Path(tmp)
        print("posts from real templates (bench/scale.py)")
        for count in (int(n) for n in args.posts.split(",")):
            path = folder / f"posts-{count}.txt"
            scale.write_posts(path, count)
            show(f"{count} posts", measure(path))
        print("synthetic export (bench/bench_export.py: 25 words in all)")
        for count in (int(n) for n in args.messages.split(",")):
            path = folder / f"export-{count}" / "result.json"
            path.parent.mkdir()
            bench_export.write_export(path, count)
            show(f"{count} messages", measure(path))


if __name__ == "__main__":
    main()
