"""Every exported offline card of the seed and the held-out sets, as JSON lines to label.

Each line: the card's `key` (what a label in tests/quality/labels/ is keyed by), its set,
the post's channel and first line, and the card as Anki shows it: Front, Back, Extra and
Quote. A label is given by tests/quality/rubric.md; `bench/offline_quality.py` counts them.

    python bench/offline_cards.py [--out cards.jsonl]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from flashgen import read_posts  # noqa: E402
from flashgen.check import check_cards  # noqa: E402
from flashgen.export import shown_quote  # noqa: E402
from flashgen.generate import generate_offline  # noqa: E402
from flashgen.models import Card  # noqa: E402

SETS = {
    "seed": REPO.parent / "shared" / "seeds" / "telegram-posts.txt",
    "held-out": REPO / "tests" / "heldout" / "offline" / "posts.txt",
    "final": REPO / "tests" / "heldout" / "offline-final" / "posts.txt",
}


def card_key(card: Card) -> str:
    """A card's label key: its post, kind and what it shows, so a changed card is new."""
    blob = "\n".join([card.post_id, card.kind, card.question, card.answer, card.source_quote])
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def labelled_cards(name: str, path: Path) -> Iterator[tuple[str, Card, dict[str, str]]]:
    """(key, card, what a labeller sees) for every exported card of one set, checked as
    bench/offline_quality.py checks them: the whole set at once."""
    posts = read_posts([path])
    number = {post.id: n for n, post in enumerate(posts, start=1)}
    by_id = {post.id: post for post in posts}
    exported, _ = check_cards(posts, [card for post in posts for card in generate_offline(post)])
    for card in exported:
        post = by_id[card.post_id]
        cloze = card.kind == "cloze"
        view = {
            "set": name,
            "post": f"{number[post.id]}: {post.channel} — {post.text.splitlines()[0][:80]}",
            "kind": card.kind,
            "front": card.question,
            "back": ", ".join(card.answers) if cloze else card.answer,
            "extra": card.answer if cloze else "",
            # As the note shows it: the context beside the front, not the front again.
            "quote": shown_quote(card),
        }
        yield card_key(card), card, view


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="file to write (default: stdout)")
    parser.add_argument("--set", choices=sorted(SETS), action="append", help="only these sets")
    args = parser.parse_args()
    lines = []
    for name in args.set or list(SETS):
        if SETS[name].exists():
            for key, _, view in labelled_cards(name, SETS[name]):
                lines.append(json.dumps({"key": key, **view}, ensure_ascii=False))
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
