"""The response contract: what a model must return for one post, as pydantic models.

Field order is part of the contract: models write fields in order, so `topic` and
`key_facts` come first and work as a checklist before the cards. The JSON schema sent to
the server carries only types; length and content rules live in validators here (strict
schemas reject `maxLength` and friends), and a violation is sent back to the model.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from flashgen.client import ChatReply
from flashgen.models import Card, Post
from flashgen.text import hashtags

MAX_TOPIC_CHARS = 60
M = TypeVar("M", bound=BaseModel)
MAX_ITEMS = 40


class ModelCard(BaseModel):
    """One card as the model writes it; `Card` judges the rest (a bad card is rejected)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"description": "One flashcard for one key fact."}
    )

    kind: Literal["basic", "cloze"] = Field(
        description="basic: a question and a short answer; cloze: a sentence with {{c1::…}}"
    )
    question: str = Field(
        description="basic: the question; cloze: the text with {{c1::deleted}} parts"
    )
    answer: str = Field(description="basic: the short answer; cloze: an optional extra or ''")
    source_quote: str = Field(
        description="a sentence copied verbatim from the post that supports the card"
    )


class CardsResponse(BaseModel):
    """The model's answer for one post: a short topic, the key facts, one card per fact."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"description": "Flashcards for one post."}
    )

    topic: str = Field(description="a short label for what the post is about, 1-4 words")
    key_facts: list[str] = Field(description="the facts in the post worth remembering")
    cards: list[ModelCard] = Field(description="one card per key fact")

    @field_validator("topic")
    @classmethod
    def _short_topic(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("topic cannot be empty")
        if len(value) > MAX_TOPIC_CHARS:
            raise ValueError(
                f"topic must be a short label of at most {MAX_TOPIC_CHARS} characters, "
                f"got {len(value)}"
            )
        return value

    @field_validator("key_facts")
    @classmethod
    def _facts(cls, value: list[str]) -> list[str]:
        if any(not fact.strip() for fact in value):
            raise ValueError("key_facts cannot hold empty strings")
        if len(value) > MAX_ITEMS:
            raise ValueError(f"at most {MAX_ITEMS} key facts, got {len(value)}")
        return [fact.strip() for fact in value]

    @field_validator("cards")
    @classmethod
    def _cards(cls, value: list[ModelCard]) -> list[ModelCard]:
        if len(value) > MAX_ITEMS:
            raise ValueError(f"at most {MAX_ITEMS} cards, got {len(value)}")
        return value


class ReaderAnswer(BaseModel):
    """The answer to one question of a round trip, found in the post or not."""

    model_config = ConfigDict(extra="forbid")

    number: int = Field(description="the question's number")
    found: bool = Field(description="whether the post itself answers the question")
    answer: str = Field(description="the shortest complete answer the post gives, or ''")


class RoundTripResponse(BaseModel):
    """The reader's answers to a post's numbered questions (flashgen.check.roundtrip)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"description": "Answers from the post alone."}
    )

    answers: list[ReaderAnswer] = Field(description="one answer per question, in order")


class ContractError(ValueError):
    """A response that breaks the contract; the message is written for the model to read."""


_FENCE_RE = re.compile(r"^\s*```(?:json|JSON)?\s*\n(?P<body>.*?)\n?\s*```\s*$", re.DOTALL)


def parse_response(content: str) -> CardsResponse:
    """The contract object in a model's reply, or a ContractError saying what is wrong."""
    return parse_reply(content, CardsResponse)


def parse_reply(content: str, model: type[M]) -> M:
    """The object of type `model` in a model's reply (a bare or fenced JSON object), or a
    ContractError saying what is wrong, in words the model can act on."""
    text = content.strip()
    fenced = _FENCE_RE.match(text)
    if fenced:
        text = fenced.group("body").strip()
    if not text:
        raise ContractError("the reply was empty; answer with one JSON object")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContractError(f"the reply is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ContractError(f"the reply must be a JSON object, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ContractError(describe_errors(exc)) from exc


def describe_errors(exc: ValidationError) -> str:
    """A validation error as short lines a model can act on: `path: problem`."""
    lines = []
    for error in exc.errors(include_url=False)[:10]:
        path = ".".join(str(part) for part in error["loc"]) or "(root)"
        lines.append(f"{path}: {error['msg']}")
    more = len(exc.errors()) - len(lines)
    if more > 0:
        lines.append(f"… and {more} more problems")
    return "the JSON does not match the schema:\n" + "\n".join(lines)


def response_schema() -> dict[str, Any]:
    """The JSON schema of CardsResponse, as every server accepts it (see inlined_schema)."""
    return inlined_schema(CardsResponse)


def roundtrip_schema() -> dict[str, Any]:
    """The JSON schema of RoundTripResponse, as every server accepts it."""
    return inlined_schema(RoundTripResponse)


@functools.cache
def inlined_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A model's JSON schema with references inlined, as every server accepts it.

    Built once per process and model, and shared: treat it as read-only.
    """
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(copy.deepcopy(defs[ref.removeprefix("#/$defs/")]))
            # Titles only repeat the field names, and cost tokens on every request.
            return {key: inline(value) for key, value in node.items() if key != "title"}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    inlined: dict[str, Any] = inline(schema)
    return inlined


class InvalidCard(BaseModel):
    """A card the model wrote that is not a well-formed Card, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    post_id: str
    question: str
    reason: str


def cards_from_response(
    post: Post, response: CardsResponse
) -> tuple[list[Card], list[InvalidCard]]:
    """The model's cards as Cards; one that fails Card's rules is kept aside with the reason."""
    tags = hashtags(post.text)
    cards: list[Card] = []
    invalid: list[InvalidCard] = []
    for item in response.cards:
        try:
            cards.append(
                Card(
                    kind=item.kind,
                    question=item.question,
                    answer=item.answer,
                    source_quote=item.source_quote,
                    post_id=post.id,
                    topic=response.topic,
                    tags=tags,
                )
            )
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            reason = str(error["msg"]).removeprefix("Value error, ")
            invalid.append(InvalidCard(post_id=post.id, question=item.question, reason=reason))
    return cards, invalid


def check_reply(reply: ChatReply, max_tokens: int) -> CardsResponse:
    """The contract object in a reply; a ContractError for a refusal, a cut-off or bad JSON."""
    return checked_reply(reply, max_tokens, CardsResponse)


def checked_reply(reply: ChatReply, max_tokens: int, model: type[M]) -> M:
    """The object of type `model` in a reply; a ContractError for a refusal, a cut-off or
    bad JSON."""
    if reply.refusal:
        raise ContractError(f"the model refused: {reply.refusal}")
    if reply.finish_reason == "content_filter":
        raise ContractError("the reply was stopped by the content filter")
    if reply.finish_reason == "length":
        raise ContractError(
            f"the reply was cut off at the limit of {max_tokens} tokens; "
            "write fewer and shorter key facts and cards"
        )
    return parse_reply(reply.content, model)
