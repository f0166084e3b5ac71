"""How well the quality gates judge a labelled corpus of good and defective cards.

Prints, per rule and overall, the share of defective cards rejected (target ≥ 0.9) and
the share of good cards wrongly rejected (target ≤ 0.05).

    python bench/gate_accuracy.py [--corpus tests/quality/corpus.jsonl] [--seed PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from flashgen import read_posts  # noqa: E402
from flashgen.check import check_card_fields, normalize  # noqa: E402


def judge(entry: dict, posts: list) -> tuple[bool, list[str]]:
    """Whether the corpus card is rejected, and why (a duplicate is judged after its twin)."""
    post = next(p for p in posts if normalize(entry["post"]) in normalize(p.text))
    cards = [dict(entry["card"], post_id=post.id)]
    if "duplicate_of" in entry:
        cards.insert(0, dict(entry["duplicate_of"], post_id=post.id))
    verdict = check_card_fields(posts, cards)[-1]
    return not verdict.accepted, verdict.reasons


def _cell(counts: list[int]) -> str:
    rejected, total = counts
    return f"{rejected:>5}/{total:<3} {rejected / max(total, 1):5.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=REPO / "tests" / "quality" / "corpus.jsonl")
    parser.add_argument("--seed", default=REPO.parent / "shared" / "seeds" / "telegram-posts.txt")
    parser.add_argument("--show", action="store_true", help="list every misjudged card")
    args = parser.parse_args()

    posts = read_posts([args.seed])
    entries = [json.loads(line) for line in Path(args.corpus).read_text().splitlines() if line]
    stats: dict[str, dict[str, list[int]]] = defaultdict(lambda: {"good": [0, 0], "bad": [0, 0]})
    wrong = []
    for entry in entries:
        rejected, reasons = judge(entry, posts)
        cell = stats[entry["rule"]][entry["label"]]
        cell[0] += rejected
        cell[1] += 1
        if rejected != (entry["label"] == "bad"):
            wrong.append((entry["id"], entry["rule"], entry["label"], reasons))

    print(f"{'rule':<22} {'bad rejected':>14} {'good rejected':>14}")
    totals = {"good": [0, 0], "bad": [0, 0]}
    for rule in sorted(stats):
        row = stats[rule]
        for label in totals:
            totals[label][0] += row[label][0]
            totals[label][1] += row[label][1]
        print(f"{rule:<22} {_cell(row['bad'])} {_cell(row['good'])}")
    bad_rate = totals["bad"][0] / max(totals["bad"][1], 1)
    good_rate = totals["good"][0] / max(totals["good"][1], 1)
    print(
        f"\ndefective cards rejected: {totals['bad'][0]}/{totals['bad'][1]} = {bad_rate:.3f}"
        "  (target >= 0.90)"
    )
    print(
        f"good cards wrongly rejected: {totals['good'][0]}/{totals['good'][1]} = {good_rate:.3f}"
        "  (target <= 0.05)"
    )
    if args.show:
        for item in wrong:
            print("misjudged:", *item)
    return 0 if bad_rate >= 0.9 and good_rate <= 0.05 else 1


if __name__ == "__main__":
    sys.exit(main())
