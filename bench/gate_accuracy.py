"""How well the quality gates judge labelled sets of good and defective cards.

1. The corpus the rules were refined against (tests/quality/corpus.jsonl, on the seed):
   per rule and overall, the share of defective cards rejected (target ≥ 0.9) and of good
   cards wrongly rejected (target ≤ 0.05).
2. The wrong-fact set of tests/quality/binding/ (posts and cards written apart from the
   rules, before any was tuned to it): per kind of wrong fact, the share rejected, beside
   the figure the same set gave at first sight (first_sight.json, written once by
   --record-first-sight). Targets for the rules alone: ≥ 0.5 of the wrong-fact cards,
   ≤ 0.05 of the good ones.
3. The same set with the round trip, over HTTP through the fixture server, whose reader
   answers each question as a careful model would: with the answers in reader.jsonl,
   written from the posts and the questions alone by a reader who never saw the cards'
   answers. Target: ≥ 0.95 of the wrong-fact cards rejected.

    python bench/gate_accuracy.py [--corpus PATH] [--seed PATH] [--binding DIR] [--show]
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
from flashgen.client import OpenAIClient  # noqa: E402
from flashgen.generate.verify import verify_cards  # noqa: E402
from flashgen.settings import GeneratorConfig  # noqa: E402
from tests.fake_openai import FakeOpenAI  # noqa: E402


def judge(entry: dict, posts: list, roundtrip=None) -> tuple[bool, list[str]]:
    """Whether the corpus card is rejected, and why (a duplicate is judged after its twin)."""
    post = next(p for p in posts if normalize(entry["post"]) in normalize(p.text))
    cards = [dict(entry["card"], post_id=post.id)]
    if "duplicate_of" in entry:
        cards.insert(0, dict(entry["duplicate_of"], post_id=post.id))
    verdict = check_card_fields(posts, cards, roundtrip=roundtrip)[-1]
    return not verdict.accepted, verdict.reasons


class CarefulReader:
    """The round trip over HTTP, through the fixture server, whose reader answers with
    reader.jsonl: what the model would say if it answered from the post as a careful
    reader does."""

    def __init__(self, folder: Path) -> None:
        self.server = FakeOpenAI().start()
        for line in (folder / "reader.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                answer = item["answer"].strip()
                found = answer.casefold().strip(" .") != "not in the post"
                self.server.reader.answers[" ".join(item["question"].split())] = (
                    answer if found else None
                )
        self.config = GeneratorConfig(base_url=self.server.url, cache=None, max_retries=0)
        self.client = OpenAIClient(self.config)
        self.failures = 0

    def __call__(self, groups):  # a RoundTripper
        found, stats = verify_cards(groups, self.config, self.client)
        self.failures += len(stats.failures)
        return found

    def close(self) -> None:
        self.client.close()
        self.server.stop()


BINDING = REPO / "tests" / "quality" / "binding"
WRONG_FACT_TARGET = 0.5
GOOD_TARGET = 0.05


def binding_figures(
    folder: Path, roundtrip=None
) -> tuple[dict[str, list[int]], list[tuple[str, ...]]]:
    """kind → [rejected, total] on the wrong-fact set, and the cards misjudged."""
    posts = read_posts([folder / "posts.txt"])
    entries = [json.loads(line) for line in (folder / "cards.jsonl").read_text().splitlines()]
    cells: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    wrong = []
    for entry in [e for e in entries if e]:
        rejected, reasons = judge(entry, posts, roundtrip)
        kind = entry["kind"] if entry["label"] == "bad" else "good cards"
        label = "wrong-fact" if entry["label"] == "bad" else "good"
        for key in {kind, f"all {label} ({entry['lang']})", f"all {label}"}:
            cells[key][0] += rejected
            cells[key][1] += 1
        if rejected != (entry["label"] == "bad"):
            wrong.append((entry["id"], entry["kind"], entry["label"], str(reasons)))
    return dict(cells), wrong


def first_sight(path: Path, cells: dict, record: bool) -> dict:
    """The figures recorded at first sight in `path` (written once, with `record`)."""
    if record and not path.exists():
        path.write_text(json.dumps(cells, indent=1, sort_keys=True) + "\n")
    return json.loads(path.read_text()) if path.exists() else {}


def kinds(cells: dict) -> list[str]:
    """The rows of a table: the kinds, then good cards, then the totals."""
    return sorted(cells, key=lambda k: (k.startswith("all"), k == "good cards", k))


def shares(cells: dict) -> tuple[float, float]:
    """(share of wrong-fact cards rejected, share of good cards rejected)."""
    bad, good = cells["all wrong-fact"], cells["all good"]
    return bad[0] / max(bad[1], 1), good[0] / max(good[1], 1)


def report_binding(folder: Path, record: bool, show: bool) -> bool:
    cells, wrong = binding_figures(folder)
    first = first_sight(folder / "first_sight.json", cells, record)
    print(f"\nwrong-fact set {folder.relative_to(REPO)}: share rejected, now and at first sight")
    print(f"{'kind':<22} {'now':>14} {'first sight':>14}")
    for key in kinds(cells):
        then = _cell(first[key]) if key in first else "—"
        print(f"{key:<22} {_cell(cells[key])} {then:>14}")
    bad, good = shares(cells)
    print(
        f"wrong-fact cards rejected by the rules: {bad:.3f} (target >= {WRONG_FACT_TARGET}); "
        f"good cards rejected: {good:.3f} (target <= {GOOD_TARGET})"
    )
    if show:
        for item in wrong:
            print("misjudged:", *item)
    ok = bad >= WRONG_FACT_TARGET and good <= GOOD_TARGET
    if (folder / "reader.jsonl").exists():
        ok = report_roundtrip(folder, cells, record, show) and ok
    return ok


ROUNDTRIP_TARGET = 0.95


def report_roundtrip(folder: Path, rules: dict, record: bool, show: bool) -> bool:
    reader = CarefulReader(folder)
    try:
        cells, wrong = binding_figures(folder, reader)
    finally:
        reader.close()
    first = first_sight(folder / "roundtrip_first_sight.json", cells, record)
    print(
        f"\nwith the round trip (a careful reader through the fixture server, "
        f"{reader.failures} failed requests): share rejected"
    )
    print(f"{'kind':<22} {'rules alone':>14} {'with round trip':>15} {'first sight':>14}")
    for key in kinds(cells):
        then = _cell(first[key]) if key in first else "—"
        print(f"{key:<22} {_cell(rules[key])} {_cell(cells[key]):>15} {then:>14}")
    bad, good = shares(cells)
    print(
        f"wrong-fact cards rejected with the round trip: {bad:.3f} (target >= "
        f"{ROUNDTRIP_TARGET}); good cards rejected: {good:.3f}"
    )
    if show:
        for item in wrong:
            print("misjudged (round trip):", *item)
    return bad >= ROUNDTRIP_TARGET


def _cell(counts: list[int]) -> str:
    rejected, total = counts
    return f"{rejected:>5}/{total:<3} {rejected / max(total, 1):5.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=REPO / "tests" / "quality" / "corpus.jsonl")
    parser.add_argument("--seed", default=REPO.parent / "shared" / "seeds" / "telegram-posts.txt")
    parser.add_argument("--show", action="store_true", help="list every misjudged card")
    parser.add_argument("--binding", type=Path, default=BINDING, help="the wrong-fact set")
    parser.add_argument(
        "--record-first-sight",
        action="store_true",
        help="write the wrong-fact set's figures, and the round trip's, as their first "
        "sight (once each, when they land)",
    )
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
    ok = bad_rate >= 0.9 and good_rate <= 0.05
    if (args.binding / "cards.jsonl").exists():
        ok = report_binding(args.binding, args.record_first_sight, args.show) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
