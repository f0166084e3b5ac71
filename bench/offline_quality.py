"""The offline generator measured against gold key facts for the seed posts.

Prints the per-post and overall eval figures and checks the targets of card-quality.md:
recall >= 0.8 over number, list and term facts; 0 ungrounded cards; 0 cards about the
channel; median answer <= 8 words.

    python bench/offline_quality.py [--gold tests/quality/seed_gold.json] [--seed PATH]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from flashgen import read_posts  # noqa: E402
from flashgen.check import check_cards  # noqa: E402
from flashgen.evaluate import evaluate, format_report, load_gold  # noqa: E402
from flashgen.generate import generate_offline  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", default=REPO / "tests" / "quality" / "seed_gold.json")
    parser.add_argument("--seed", default=REPO.parent / "shared" / "seeds" / "telegram-posts.txt")
    args = parser.parse_args()

    posts = read_posts([args.seed])
    generated = [card for post in posts for card in generate_offline(post)]
    exported, _ = check_cards(posts, generated)
    report = evaluate(posts, generated, exported, load_gold(args.gold))
    print(format_report(report))
    targets = [
        ("core recall >= 0.80", (report.core_recall or 0) >= 0.8),
        ("0 ungrounded cards", report.ungrounded == 0),
        ("0 cards about the channel", report.about_channel == 0),
        ("median answer <= 8 words", (report.answer_words_p50 or 0) <= 8),
    ]
    print()
    for name, met in targets:
        print(f"{'met ' if met else 'MISSED'}  {name}")
    return 0 if all(met for _, met in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
