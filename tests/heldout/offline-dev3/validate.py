#!/usr/bin/env python3
"""Validate the offline-dev3 held-out set (posts.txt + gold.json).

Checks the format described in README.md and prints counts by kind.
Exit code 0 when everything passes, 1 otherwise.  Standard library only.
"""

import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
POSTS = HERE / "posts.txt"
GOLD = HERE / "gold.json"

KINDS = ("concept", "number", "list", "term")
TARGET_SHARE = {"number": 0.30, "term": 0.25, "list": 0.20, "concept": 0.25}
SHARE_TOLERANCE = 0.07
N_POSTS = 20
MIN_CHANNELS = 14
FACTS_PER_POST = (3, 6)
TOTAL_FACTS = (80, 100)
ANCHORS_PER_FACT = (3, 6)
LIST_ITEMS = (2, 6)
SHORT = (300, 600)
LONG = (1200, 2000)
MIN_SHORT = 3
MIN_LONG = 3

# Declared language of each post, in posts.txt order (see README.md).
# ru = Russian, en = English, ru-en = Russian heavy with English terms.
LANG = [
    "ru-en",
    "ru",
    "ru",
    "ru",
    "en",
    "ru",
    "ru",
    "ru",
    "ru",
    "en",
    "ru",
    "ru",
    "ru-en",
    "en",
    "en",
    "ru",
    "ru",
    "ru-en",
    "ru",
    "ru",
]
LANG_COUNTS = {"ru": 13, "en": 4, "ru-en": 3}

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Pictographs, dingbats, symbols, keycaps, variation selectors, ZWJ.
EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2190-\u21ff"
    "\u2300-\u23ff\u25a0-\u25ff\u2900-\u297f\ufe0f\ufe0e\u200d\u20e3]+"
)
# Things that are never key facts: channel handles, hashtags, links.
NOISE_IN_EVIDENCE = re.compile(r"(@\w|#\w|https?://|подпис|subscribe)", re.I)

errors = []


def err(msg):
    errors.append(msg)


def norm(s):
    return re.sub(r"\s+", " ", s).strip()


def strip_emoji(line):
    return EMOJI.sub("", line).strip()


def parse_posts(text):
    """Return a list of (channel, body) in file order."""
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if line.startswith("Forwarded from ")]
    if not starts or starts[0] != 0:
        err("posts.txt must start with a 'Forwarded from <Channel>' line")
    posts = []
    for k, s in enumerate(starts):
        if k > 0 and lines[s - 1].strip() != "":
            err(f"post {k + 1}: no blank line before 'Forwarded from'")
        e = starts[k + 1] if k + 1 < len(starts) else len(lines)
        channel = lines[s][len("Forwarded from ") :].strip()
        body = "\n".join(lines[s + 1 : e]).strip("\n")
        if not channel:
            err(f"post {k + 1}: empty channel name")
        if not body.strip():
            err(f"post {k + 1}: empty body")
        if body.startswith("\n") or (body.split("\n")[0].strip() == ""):
            err(f"post {k + 1}: text must start right after the Forwarded line")
        posts.append((channel, body))
    return posts


def letters(s):
    cyr = len(re.findall(r"[А-Яа-яЁё]", s))
    lat = len(re.findall(r"[A-Za-z]", s))
    return cyr, lat


def contains_ci(hay, needle):
    return norm(needle).lower() in norm(hay).lower()


def main():
    text = POSTS.read_text(encoding="utf-8")
    posts = parse_posts(text)
    if len(posts) != N_POSTS:
        err(f"expected {N_POSTS} posts, found {len(posts)}")
    channels = Counter(c for c, _ in posts)
    if len(channels) < MIN_CHANNELS:
        err(f"expected >= {MIN_CHANNELS} channels, found {len(channels)}")

    try:
        gold = json.loads(GOLD.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        print(f"gold.json is not valid JSON: {e}")
        return 1
    if not isinstance(gold, list):
        err("gold.json must be a JSON list")
        gold = []
    if len(gold) != len(posts):
        err(f"gold has {len(gold)} entries, posts.txt has {len(posts)} posts")

    kinds = Counter()
    ids = Counter()
    rows = []
    n_short = n_long = 0
    lang_seen = Counter()
    # A length mismatch is reported above; the posts both hold are still checked.
    for i, (entry, (channel, body)) in enumerate(zip(gold, posts, strict=False), 1):
        where = f"post {i}"
        if not isinstance(entry, dict) or set(entry) != {"post", "facts"}:
            err(f"{where}: entry must be an object with keys post, facts")
            continue
        snippet = entry["post"]
        first_line = body.split("\n")[0]
        heading = strip_emoji(first_line)
        has_heading = snippet == heading
        if not has_heading and snippet != body[:60]:
            err(
                f"{where}: post {snippet!r} is neither the heading without "
                f"emoji ({heading!r}) nor the first 60 characters ({body[:60]!r})"
            )
        cnt = text.count(snippet)
        if cnt != 1:
            err(f"{where}: post snippet occurs {cnt} times in posts.txt (need 1)")

        # structure / language bookkeeping
        n = len(body)
        size = (
            "short"
            if SHORT[0] <= n <= SHORT[1]
            else "long"
            if LONG[0] <= n <= LONG[1]
            else "medium"
        )
        n_short += size == "short"
        n_long += size == "long"
        cyr, lat = letters(body)
        tot = max(cyr + lat, 1)
        lang = LANG[i - 1] if i - 1 < len(LANG) else "?"
        lang_seen[lang] += 1
        if lang == "en" and cyr / tot > 0.05:
            err(f"{where}: declared English but {cyr / tot:.0%} Cyrillic letters")
        if lang in ("ru", "ru-en") and cyr / tot < 0.40:
            err(f"{where}: declared Russian but only {cyr / tot:.0%} Cyrillic letters")
        if lang == "ru-en" and lat / tot < 0.15:
            err(f"{where}: declared ru-en but only {lat / tot:.0%} Latin letters")

        facts = entry["facts"]
        if not isinstance(facts, list) or not FACTS_PER_POST[0] <= len(facts) <= FACTS_PER_POST[1]:
            err(f"{where}: needs {FACTS_PER_POST[0]}-{FACTS_PER_POST[1]} facts")
            facts = facts if isinstance(facts, list) else []
        for fact in facts:
            fid = fact.get("id", "?")
            fw = f"{where} fact {fid}"
            if set(fact) != {"id", "kind", "anchors", "answers", "evidence"}:
                err(f"{fw}: keys must be id, kind, anchors, answers, evidence")
                continue
            ids[fid] += 1
            if not SLUG.match(fid):
                err(f"{fw}: id is not a lowercase slug")
            kind = fact["kind"]
            if kind not in KINDS:
                err(f"{fw}: unknown kind {kind!r}")
            kinds[kind] += 1

            ev = fact["evidence"]
            if not isinstance(ev, str) or not ev.strip():
                err(f"{fw}: empty evidence")
                ev = ""
            elif ev not in body:
                if norm(ev) in norm(body):
                    err(f"{fw}: evidence matches only after whitespace normalisation")
                else:
                    err(f"{fw}: evidence not verbatim in its post: {ev[:70]!r}")
            if NOISE_IN_EVIDENCE.search(ev):
                err(f"{fw}: evidence looks like channel noise (handle/hashtag/link)")

            anchors = fact["anchors"]
            if (
                not isinstance(anchors, list)
                or not ANCHORS_PER_FACT[0] <= len(anchors) <= ANCHORS_PER_FACT[1]
            ):
                err(f"{fw}: needs {ANCHORS_PER_FACT[0]}-{ANCHORS_PER_FACT[1]} anchors")
                anchors = anchors if isinstance(anchors, list) else []
            if len(set(a.lower() for a in anchors if isinstance(a, str))) != len(anchors):
                err(f"{fw}: duplicate anchors")
            for a in anchors:
                if not isinstance(a, str) or not a.strip():
                    err(f"{fw}: empty anchor")
                elif a not in body:
                    err(f"{fw}: anchor {a!r} does not occur in the post")

            answers = fact["answers"]
            if not isinstance(answers, list) or not answers:
                err(f"{fw}: answers must be a non-empty list")
                continue
            if kind == "list":
                if not all(isinstance(x, list) and x for x in answers):
                    err(f"{fw}: list answers must be a list of non-empty lists")
                    continue
                if not LIST_ITEMS[0] <= len(answers) <= LIST_ITEMS[1]:
                    err(f"{fw}: a list needs {LIST_ITEMS[0]}-{LIST_ITEMS[1]} items")
                for item in answers:
                    if not all(isinstance(v, str) and v.strip() for v in item):
                        err(f"{fw}: list item forms must be non-empty strings")
                    elif not any(contains_ci(body, v) for v in item):
                        err(f"{fw}: no form of list item {item} occurs in the post")
                flat = [v for item in answers for v in item]
            else:
                if not all(isinstance(v, str) and v.strip() for v in answers):
                    err(f"{fw}: answers must be non-empty strings")
                    continue
                if not any(contains_ci(ev, v) for v in answers):
                    err(f"{fw}: no accepted answer occurs in the evidence")
                flat = answers
                if kind == "number" and not any(re.search(r"\d", v) for v in answers):
                    err(f"{fw}: a number fact needs an answer with digits")
            if len(set(flat)) != len(flat):
                err(f"{fw}: duplicate answer variants")
            for a in anchors:
                if isinstance(a, str) and any(a.strip().lower() == v.strip().lower() for v in flat):
                    err(f"{fw}: anchor {a!r} is also an accepted answer")
        rows.append((i, lang, size, n, channel, len(facts), snippet))

    for fid, c in ids.items():
        if c > 1:
            err(f"fact id {fid!r} used {c} times")
    if n_short < MIN_SHORT:
        err(f"need >= {MIN_SHORT} short posts ({SHORT[0]}-{SHORT[1]} chars), have {n_short}")
    if n_long < MIN_LONG:
        err(f"need >= {MIN_LONG} long posts ({LONG[0]}-{LONG[1]} chars), have {n_long}")
    if dict(lang_seen) != LANG_COUNTS:
        err(f"language counts {dict(lang_seen)} != {LANG_COUNTS}")
    total = sum(kinds.values())
    if not TOTAL_FACTS[0] <= total <= TOTAL_FACTS[1]:
        err(f"total facts {total} outside {TOTAL_FACTS}")
    for k, target in TARGET_SHARE.items():
        share = kinds[k] / total if total else 0
        if abs(share - target) > SHARE_TOLERANCE:
            err(f"kind {k}: share {share:.0%} too far from target {target:.0%}")

    print(f"{'#':>2} {'lang':5} {'size':6} {'chars':>5} {'facts':>5}  channel | post")
    for i, lang, size, n, channel, nf, snip in rows:
        print(f"{i:>2} {lang:5} {size:6} {n:>5} {nf:>5}  {channel} | {snip[:50]}")
    print()
    print(
        f"posts: {len(posts)}  channels: {len(channels)}  "
        f"short: {n_short}  long: {n_long}  languages: {dict(lang_seen)}"
    )
    print(
        f"facts: {total}  "
        + "  ".join(
            f"{k}: {kinds[k]} ({kinds[k] / total:.0%})" if total else f"{k}: 0"
            for k in ("number", "term", "list", "concept")
        )
    )
    if errors:
        print(f"\nFAIL: {len(errors)} problem(s)")
        for e in errors:
            print("  - " + e)
        return 1
    print("\nOK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
