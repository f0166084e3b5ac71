"""Group: each card gets its deck's topic, and cards go into decks by topic.

Where the topic comes from: the user's taxonomy (`[[topics]]` in flashgen.toml) when
there is one, by name or else by keywords; otherwise the model's label on the LLM path,
with labels merged into at most `max_topics` decks; otherwise the post's channel.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence

from flashgen.models import Card, Post
from flashgen.settings import Topic
from flashgen.text import normalize

ROOT_DECK = "Flashgen"
OTHER = "Other"
DEFAULT_MAX_TOPICS = 8


def deck_name(topic: str, root: str = ROOT_DECK) -> str:
    # `::` inside a topic would make Anki nest decks the user never asked for.
    return f"{root}::{topic.replace('::', ':')}"


def group_by_topic(cards: Iterable[Card], root: str = ROOT_DECK) -> dict[str, list[Card]]:
    """Deck name → its cards, decks sorted by name, cards in the order they came."""
    decks: dict[str, list[Card]] = {}
    for card in cards:
        decks.setdefault(deck_name(card.topic, root), []).append(card)
    return dict(sorted(decks.items()))


def keyword_topic(text: str, taxonomy: Sequence[Topic]) -> str:
    """The taxonomy entry whose keywords occur most often in `text`, else «Other».

    A keyword matches at the start of a word, so «модел» finds «модели» and «ML» does not
    find «HTML»; ties go to the entry listed first.
    """
    folded = normalize(text)
    best, best_count = OTHER, 0
    for topic in taxonomy:
        count = sum(
            len(re.findall(rf"(?<!\w){re.escape(normalize(keyword))}", folded))
            for keyword in topic.keywords
            if keyword.strip()
        )
        if count > best_count:
            best, best_count = topic.name, count
    return best


def consolidate(labels: Iterable[str], max_topics: int = DEFAULT_MAX_TOPICS) -> dict[str, str]:
    """Label → deck topic: labels equal but for case and spacing merge (under their most
    frequent spelling), then beyond `max_topics` the smallest topics fold into «Other»."""
    counts = Counter(labels)
    spellings: dict[str, Counter[str]] = {}
    for label, count in counts.items():
        spellings.setdefault(normalize(label), Counter())[label] += count
    # Most frequent spelling, then the first in sort order: the same labels, the same names.
    name = {key: min(forms, key=lambda f: (-forms[f], f)) for key, forms in spellings.items()}
    sizes = {key: sum(forms.values()) for key, forms in spellings.items()}
    other = normalize(OTHER)
    kept = sorted((k for k in sizes if k != other), key=lambda k: (-sizes[k], name[k]))
    if len(kept) > max_topics or (other in sizes and len(kept) >= max_topics):
        kept = kept[: max(max_topics - 1, 0)]
    keep = set(kept)
    return {
        label: name[normalize(label)] if normalize(label) in keep else OTHER for label in counts
    }


TopicMapper = Callable[[Sequence[tuple[str, int]], int], dict[str, str] | None]


def assign_topics(
    cards: Sequence[Card],
    posts: Mapping[str, Post],
    *,
    taxonomy: Sequence[Topic] = (),
    from_model: bool = False,
    max_topics: int = DEFAULT_MAX_TOPICS,
    mapper: TopicMapper | None = None,
) -> list[Card]:
    """The cards with the topic of the deck each belongs in; `mapper` (one LLM call) merges
    the model's labels into at most `max_topics` decks when the rules alone cannot."""
    if taxonomy:
        names = {normalize(topic.name): topic.name for topic in taxonomy}
        names[normalize(OTHER)] = OTHER

        def topic_of(card: Card) -> str:
            post = posts.get(card.post_id)
            text = post.text if post else card.source_quote
            if not from_model:
                return keyword_topic(text, taxonomy)
            # The model's label when it is one of the user's names, else the closest by
            # keywords of the label and the post.
            return names.get(normalize(card.topic)) or keyword_topic(
                f"{card.topic}\n{text}", taxonomy
            )

        topics = [topic_of(card) for card in cards]
    elif from_model:
        mapping = consolidate((card.topic for card in cards), max_topics)
        labels = Counter(card.topic for card in cards)
        if mapper is not None and len({normalize(label) for label in labels}) > max_topics:
            # The rules fold the smallest topics into «Other»; the model can instead say
            # which labels are the same subject.
            mapped = mapper(sorted(labels.items()), max_topics)
            if mapped is not None:
                mapping = mapped
        topics = [mapping[card.topic] for card in cards]
    else:
        return list(cards)
    return [
        card if card.topic == topic else card.model_copy(update={"topic": topic})
        for card, topic in zip(cards, topics, strict=True)
    ]
