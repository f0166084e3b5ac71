"""A Card that exists is well-formed: invalid cards cannot be constructed."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from flashgen.models import Card, Post

BASE = {"post_id": "p1", "topic": "ML", "source_quote": "DPO добавляет NLL с коэффициентом 0,2."}


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "basic", "question": "Какой коэффициент у NLL в DPO?", "answer": "0,2"},
        {"kind": "cloze", "question": "NLL с коэффициентом {{c1::0,2}}."},
        {"kind": "cloze", "question": "{{c1::DPO}} и {{c2::PPO}}", "answer": "extra"},
        {"kind": "cloze", "question": "NLL с коэффициентом {{c1::0,2::число}}."},
    ],
)
def test_valid_cards(fields: dict[str, Any]) -> None:
    card = Card(**BASE, **fields)
    assert card.answers


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"kind": "flash", "question": "Q?", "answer": "A"}, id="unknown-kind"),
        pytest.param({"kind": "basic", "question": "Q?", "answer": "  "}, id="basic-no-answer"),
        pytest.param({"kind": "basic", "question": " ", "answer": "A"}, id="empty-question"),
        pytest.param({"kind": "basic", "question": "{{c1::x}}?", "answer": "A"}, id="basic-cloze"),
        pytest.param({"kind": "cloze", "question": "no deletion"}, id="cloze-no-deletion"),
        pytest.param({"kind": "cloze", "question": "empty {{c1::}} one"}, id="cloze-empty"),
        pytest.param({"kind": "cloze", "question": "zero {{c0::x}}"}, id="cloze-c0"),
        pytest.param({"kind": "cloze", "question": "{{c1::x}} and {{c2::y"}, id="unbalanced"),
        pytest.param(
            {"kind": "basic", "question": "Q?", "answer": "A", "source_quote": ""}, id="no-quote"
        ),
        pytest.param(
            {"kind": "basic", "question": "Q?", "answer": "A", "extra": 1}, id="unknown-field"
        ),
        pytest.param(
            {"kind": "basic", "question": "Q?", "answer": "A", "tags": [" "]}, id="blank-tag"
        ),
    ],
)
def test_invalid_cards_cannot_be_constructed(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Card(**{**BASE, **fields})


def test_post_requires_id_channel_and_text() -> None:
    with pytest.raises(ValidationError):
        Post(id="", channel="c", text="t")
    with pytest.raises(ValidationError):
        Post(id="x", channel="c", text="")


def test_cards_share_their_fields_set_and_a_copy_changes_only_its_own() -> None:
    """Cards given the same fields share one set of names (memory in a large build); a copy
    with an update names its new field without touching the others' set."""
    first = Card(
        kind="basic", question="Q?", answer="A", source_quote="Q A.", post_id="p", topic="t"
    )
    second = Card(
        kind="basic", question="R?", answer="B", source_quote="R B.", post_id="p", topic="t"
    )
    assert first.__pydantic_fields_set__ is second.__pydantic_fields_set__
    tagged = first.model_copy(update={"tags": ("x",)})
    assert "tags" in tagged.model_fields_set
    assert "tags" not in first.model_fields_set and "tags" not in second.model_fields_set
    assert tagged.tags == ("x",) and first.tags == ()


def test_a_blank_post_text_is_refused_without_a_length_constraint() -> None:
    with pytest.raises(ValidationError, match="text cannot be empty"):
        Post(id="a", channel="c", text="")
    with pytest.raises(ValidationError, match="channel cannot be empty"):
        Post(id="a", channel="", text="x")
