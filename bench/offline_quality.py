"""The offline generator measured against gold key facts: the seed, and held-out posts.

The held-out posts (tests/heldout/offline/) were written apart from the generator, before
it was tuned on them; their figures are the ones that carry over to posts it has not seen.
Prints the per-post and overall eval figures and checks the targets of card-quality.md:
recall >= 0.8 over number, list and term facts; 0 ungrounded cards; 0 cards about the
channel; median answer <= 8 words.

    python bench/offline_quality.py [--gold tests/quality/seed_gold.json] [--seed PATH]
                                    [--heldout tests/heldout/offline]
                                    [--final tests/heldout/offline-final]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.offline_cards import card_key  # noqa: E402
from flashgen import read_posts  # noqa: E402
from flashgen.check import check_cards  # noqa: E402
from flashgen.evaluate import GoldPost, evaluate, format_report, load_gold  # noqa: E402
from flashgen.generate import generate_offline  # noqa: E402
from flashgen.models import Card, Post  # noqa: E402

HELDOUT = REPO / "tests" / "heldout" / "offline"
LABELS = REPO / "tests" / "quality" / "labels"
SHARES = ("ready", "usable", "off-target")


def load_labels(path: Path) -> dict[str, dict[str, str]]:
    """Card labels by card key (bench/offline_cards.py): {key: {set, label, why}}."""
    if not path.exists():
        return {}
    return dict(json.loads(path.read_text(encoding="utf-8")))


def first_sight(posts: list[Post], gold: list[GoldPost], label_set: str) -> str:
    """The recall line of the cards the generator of main at 10ed7c2 made of a set
    (stored in tests/quality/labels/first-sight-cards.jsonl), measured as today's are."""
    path = LABELS / "first-sight-cards.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    rows = [row for row in rows if row["set"] == label_set]
    generated = [Card.model_validate(row["card"]) for row in rows]
    exported = [card for card, row in zip(generated, rows, strict=True) if row["exported"]]
    report = evaluate(posts, generated, exported, gold)
    kinds = ", ".join(f"{kind} {value:.2f}" for kind, value in report.recall_by_kind.items()
                      if value is not None)  # fmt: skip
    carrying = [row for row in report.posts if row.facts]
    per_post = sum(row.exported for row in carrying) / len(carrying) if carrying else 0.0
    return (
        f"at first sight (main at 10ed7c2, {len(exported)} exported): key-fact recall "
        f"{report.recall or 0:.2f} ({kinds}), core {report.core_recall or 0:.2f}, "
        f"{per_post:.1f} cards per post with a gold fact"
    )


def share_line(labels: list[str]) -> str:
    counts = {name: labels.count(name) / len(labels) if labels else 0.0 for name in SHARES}
    return ", ".join(f"{name} {counts[name]:.2f}" for name in SHARES)


# Written blind like HELDOUT, after tuning on HELDOUT had begun; never looked at while
# tuning, so its figures are the ones to trust for posts nobody tuned on.
FINAL = REPO / "tests" / "heldout" / "offline-final"
# English posts, written blind as a dev set for the English term rules (tuned on).
ENGLISH = REPO / "tests" / "heldout" / "offline-en"
# Written blind to find why terms are missed on unseen posts (measured, then tuned on).
DEV2 = REPO / "tests" / "heldout" / "offline-dev2"
# Written blind by a helper after issue 15's rules, measured once at first sight.
DEV3 = REPO / "tests" / "heldout" / "offline-dev3"
# Written blind by a helper on the same day, measured once at first sight (main at 804d705).
DEV4 = REPO / "tests" / "heldout" / "offline-dev4"
# Written blind by three helpers after dev4's rules, measured at first sight (main at
# 804d705 and 2ee7517); dev5 and dev6 then tuned on, dev7 never read: its summary lines
# are the second figure, beside the final set's, for posts nobody tuned on.
DEV5 = REPO / "tests" / "heldout" / "offline-dev5"
DEV6 = REPO / "tests" / "heldout" / "offline-dev6"
BLIND2 = REPO / "tests" / "heldout" / "offline-dev7"
# Written blind by a helper at the start of the next session (main at 902a229), measured
# there and once more on that session's rules before anyone read it; never read since.
BLIND3 = REPO / "tests" / "heldout" / "offline-dev8"
# Written blind after that session's last rule, in the manner of real practitioners'
# channels (chatty, opinions and stories among the facts); measured at 902a229 and at
# 4c41e8e before anyone read it; never read since.
BLIND4 = REPO / "tests" / "heldout" / "offline-dev9"
# The dev sets: each written blind, measured at first sight, then looked into (but dev7).
DEV_SETS = (
    (ENGLISH, "english (dev)", "english"),
    (DEV2, "dev2 (dev)", "dev2"),
    (DEV3, "dev3 (dev)", "dev3"),
    (DEV4, "dev4 (dev)", "dev4"),
    (DEV5, "dev5 (dev)", "dev5"),
    (DEV6, "dev6 (dev)", "dev6"),
    (BLIND2, "dev7 (blind)", "dev7"),
    (BLIND3, "dev8 (blind)", "dev8"),
    (BLIND4, "dev9 (blind)", "dev9"),
)
# Sets that only measure recall: dev sets, whose cards nobody labels.
RECALL_ONLY = {label_set for _, _, label_set in DEV_SETS}


def measure(
    posts_path: Path,
    gold_path: Path,
    name: str,
    recall_target: float,
    *,
    most_cards: int | None = None,
    per_post_target: float | None = None,
    label_set: str = "",
) -> list[tuple[str, bool]]:
    """Print the eval of the offline generator on one set; its targets and whether met."""
    posts = read_posts([posts_path])
    generated = [card for post in posts for card in generate_offline(post)]
    exported, _ = check_cards(posts, generated)
    gold = load_gold(gold_path)
    report = evaluate(posts, generated, exported, gold)
    print(f"== {name}: {posts_path}")
    print(format_report(report))
    carrying = [row for row in report.posts if row.facts]
    per_post = sum(row.exported for row in carrying) / len(carrying) if carrying else 0.0
    print(f"exported cards per post that carries a gold fact: {per_post:.1f}")
    # The rubric's shares (tests/quality/rubric.md), over the exported cards a reader
    # labelled; a card no one has labelled yet is counted apart, never guessed.
    labels = load_labels(LABELS / "current.json")
    given = [labels[key]["label"] for key in map(card_key, exported) if key in labels]
    shares = {name: given.count(name) / len(given) if given else 0.0 for name in SHARES}
    print(
        f"rubric labels: {share_line(given)} of {len(given)} labelled; "
        f"{len(exported) - len(given)} unlabelled"
    )
    first = [e["label"] for e in load_labels(LABELS / "first-sight.json").values()
             if e["set"] == label_set]  # fmt: skip
    if first:
        print(
            f"rubric labels at first sight (main at 10ed7c2): {share_line(first)} of {len(first)}"
        )
        print(first_sight(posts, gold, label_set))
    stored = posts_path.parent / "first-sight.txt"
    if label_set in RECALL_ONLY and stored.exists():
        lines = stored.read_text(encoding="utf-8").splitlines()
        # A file may hold a measurement per commit, each under its "== … (main at X" line.
        where = stored.name
        for line in lines:
            at = re.search(r"main at (\w+)", line) if line.startswith("== ") else None
            if at:
                where = f"main at {at.group(1)}"
            if line.startswith(("key-fact recall", "core recall", "exported cards per post")):
                print(f"at first sight ({where}): {line}")
    print()
    targets = [
        (f"{name}: core recall >= {recall_target:.2f}", (report.core_recall or 0) >= recall_target),
        (f"{name}: 0 ungrounded cards", report.ungrounded == 0),
        (f"{name}: 0 cards about the channel", report.about_channel == 0),
        (f"{name}: median answer <= 8 words", (report.answer_words_p50 or 0) <= 8),
    ]
    if label_set in RECALL_ONLY:
        pass  # a dev set: recall only, no labels
    elif given and len(given) == len(exported):
        keep = shares["ready"] + shares["usable"]
        targets.append((f"{name}: ready + usable >= 0.80 of cards", keep >= 0.8))
        targets.append((f"{name}: off-target <= 0.20 of cards", shares["off-target"] <= 0.2))
    else:
        targets.append((f"{name}: every card labelled by the rubric", False))
    if most_cards is not None:
        targets.append((f"{name}: at most {most_cards} cards", len(exported) <= most_cards))
    if per_post_target is not None:
        met = per_post <= per_post_target
        targets.append((f"{name}: at most {per_post_target:g} cards per post with facts", met))
    return targets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", default=REPO / "tests" / "quality" / "seed_gold.json")
    parser.add_argument("--seed", default=REPO.parent / "shared" / "seeds" / "telegram-posts.txt")
    parser.add_argument(
        "--heldout",
        default=HELDOUT,
        type=Path,
        help="folder of posts.txt and gold.json written apart from the generator",
    )
    parser.add_argument(
        "--final",
        default=FINAL,
        type=Path,
        help="a second blind folder of posts.txt and gold.json, never tuned on",
    )
    args = parser.parse_args()

    # card-quality.md's recall for the seed; issue 15's for posts never tuned on, and its
    # "about 3-5 cards per post that carries facts".
    targets = measure(
        Path(args.seed), Path(args.gold), "seed", 0.8, most_cards=60, label_set="seed"
    )
    if (args.heldout / "gold.json").exists():
        heldout = args.heldout / "posts.txt", args.heldout / "gold.json"
        targets += measure(*heldout, "held-out", 0.7, per_post_target=5, label_set="held-out")
    for folder, name, label_set in DEV_SETS:
        if (folder / "gold.json").exists():
            dev = folder / "posts.txt", folder / "gold.json"
            targets += measure(*dev, name, 0.7, per_post_target=5, label_set=label_set)
    if (args.final / "gold.json").exists():
        final = args.final / "posts.txt", args.final / "gold.json"
        targets += measure(*final, "final (blind)", 0.7, per_post_target=5, label_set="final")
    for name, met in targets:
        print(f"{'met ' if met else 'MISSED'}  {name}")
    return 0 if all(met for _, met in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
