"""Which card the duplicate search keeps when two cards share one sentence and one answer.

On a held-out set written apart from the rules (`tests/heldout/duplicate_pairs.jsonl`):
pairs where one card ties the answer to the wrong entity of its sentence (the right card
must be kept and the other reported as a duplicate of it), and pairs that are two facts
with one answer (both must be kept). Each pair is checked in both orders, so the input
order cannot decide. Prints the share right per kind and language.

    python bench/duplicate_keeper.py [--set PATH] [--show]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from flashgen.check import check_cards  # noqa: E402
from flashgen.models import Card, Post  # noqa: E402


def _card(question: str, item: dict) -> Card:
    return Card(
        kind="basic",
        question=question,
        answer=item["answer"],
        source_quote=item["quote"],
        post_id="p",
        topic="t",
    )


def judge(item: dict) -> list[bool]:
    """For each order of the pair, whether the checks did the right thing."""
    post = Post(id="p", channel="c", text=item["post"])
    if item["kind"] == "two_facts":
        first, second = _card(item["first"], item), _card(item["second"], item)
        return [
            len(check_cards([post], pair)[0]) == 2 for pair in ((first, second), (second, first))
        ]
    right, wrong = _card(item["right"], item), _card(item["wrong"], item)
    out = []
    for pair in ((right, wrong), (wrong, right)):
        accepted, rejected = check_cards([post], pair)
        out.append(accepted == [right] and [r.card for r in rejected] == [wrong])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default=REPO / "tests" / "heldout" / "duplicate_pairs.jsonl")
    parser.add_argument("--show", action="store_true", help="print every pair judged wrong")
    args = parser.parse_args()
    items = [json.loads(line) for line in Path(args.set).read_text(encoding="utf-8").splitlines()]
    cells: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for item in items:
        verdicts = judge(item)
        for key in ((item["kind"], item["lang"]), (item["kind"], "all")):
            cells[key][0] += sum(verdicts)
            cells[key][1] += len(verdicts)
        if args.show and not all(verdicts):
            print(f"wrong: {item['id']} {verdicts}: {item.get('right') or item.get('first')}")
    for (kind, lang), (good, total) in sorted(cells.items()):
        print(f"{kind:<14} {lang:<4} {good:>3}/{total:<3} {good / total:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
