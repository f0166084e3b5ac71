"""Settings as models: what the generator, the checks and the decks are told.

Nothing here reads a file or the environment; flashgen.config does that, once, at the
edge, and hands these models down. The API key is a SecretStr that no model ever dumps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

DEFAULT_CACHE = Path(".flashgen") / "cache.sqlite"
# The notes issued so far (flashgen.ledger): a file of its own, since a cache may be
# cleared at will and this may not.
DEFAULT_LEDGER = Path(".flashgen") / "ledger.sqlite"
DEFAULT_MODEL = "gpt-4o-mini"

GeneratorKind = Literal["auto", "llm", "offline"]
StructuredOutput = Literal["auto", "json_schema", "json_object", "prompt"]
ConcreteMode = Literal["json_schema", "json_object", "prompt"]
MODES: tuple[ConcreteMode, ...] = ("json_schema", "json_object", "prompt")
# The round trip (flashgen.check.roundtrip): `auto` asks it whenever a model writes cards.
Verify = Literal["auto", "on", "off"]

OFFLINE_NOTICE = (
    "No model configured, so cards come from the offline generator. For LLM cards set "
    "OPENAI_API_KEY, or OPENAI_BASE_URL (--base-url) for a local server; see docs/llm.md."
)


class Price(BaseModel):
    """What a model costs, in US dollars per million tokens."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float = Field(ge=0)
    output: float = Field(ge=0)


# Published list prices (USD per 1M tokens); extend or override under [llm.prices] in
# flashgen.toml. A model missing here gets no cost estimate, never a guessed one.
DEFAULT_PRICES: dict[str, Price] = {
    "gpt-4o-mini": Price(input=0.15, output=0.60),
    "gpt-4o": Price(input=2.50, output=10.00),
    "gpt-4.1": Price(input=2.00, output=8.00),
    "gpt-4.1-mini": Price(input=0.40, output=1.60),
    "gpt-4.1-nano": Price(input=0.10, output=0.40),
}


class GeneratorConfig(BaseModel):
    """Which generator makes the cards, and how flashgen talks to an LLM server."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    generator: GeneratorKind = "auto"
    base_url: str | None = None
    api_key: SecretStr | None = Field(default=None, exclude=True, repr=False)
    model: str = Field(default=DEFAULT_MODEL, min_length=1)
    concurrency: int = Field(default=8, ge=1, le=512)
    timeout: float = Field(default=120.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=20)
    reasks: int = Field(default=2, ge=0, le=10)
    structured_output: StructuredOutput = "auto"
    temperature: float = Field(default=0.0, ge=0, le=2)
    max_tokens: int = Field(default=4096, ge=16)
    language: str | None = None
    prompts: Path | None = None
    cache: Path | None = DEFAULT_CACHE
    # Where the issued notes are remembered (flashgen.ledger); --no-cache never touches it.
    ledger: Path = DEFAULT_LEDGER
    prices: dict[str, Price] = Field(default_factory=dict)
    # Size guards. A post longer than this many characters goes to the model in sections,
    # split at paragraph and heading boundaries, each its own request; the offline
    # generator keeps at most this many cards of one post.
    section_chars: int = Field(default=6000, ge=500)
    max_offline_cards: int = Field(default=40, ge=1)
    # Whether the model, or the judge model, answers each card's question from the post
    # for the round trip.
    verify: Verify = "auto"
    judge_model: str | None = Field(default=None, min_length=1)
    # The user's taxonomy names ([[topics]]), which the system prompt asks the model to
    # choose from; set by the pipeline from flashgen.toml, not from the [llm] table.
    topics: tuple[str, ...] = ()

    def uses_llm(self) -> bool:
        """Whether cards come from a model: asked for, or `auto` with a server configured."""
        if self.generator == "auto":
            return bool(self.base_url or self.api_key)
        return self.generator == "llm"

    def verifies(self) -> bool:
        """Whether cards go through the round trip: asked for, or `auto` with a model."""
        return self.verify != "off" and self.uses_llm()

    def price(self, model: str | None = None) -> Price | None:
        """A model's price (by default the generator's): flashgen.toml's table first, then
        the built-in one."""
        model = model or self.model
        return self.prices.get(model) or DEFAULT_PRICES.get(model)

    def cost(self, tokens_in: int, tokens_out: int, model: str | None = None) -> float | None:
        """Estimated US dollars for the tokens, or None when the model's price is unknown."""
        price = self.price(model)
        if price is None:
            return None
        return (tokens_in * price.input + tokens_out * price.output) / 1_000_000


class CheckConfig(BaseModel):
    """Thresholds of the quality gates."""

    model_config = ConfigDict(extra="forbid")

    max_answer_words: int = Field(15, ge=1)
    # Near-duplicates: both the question and the answer must be at least this close.
    near_question_similarity: float = Field(0.5, ge=0, le=1)
    near_answer_similarity: float = Field(0.8, ge=0, le=1)
    # Cosine threshold when the server offers /v1/embeddings (SemDedup uses ~0.93).
    embedding_similarity: float = Field(0.93, ge=0, le=1)
    embedding_model: str | None = None


class Topic(BaseModel):
    """One entry of the user's taxonomy (`[[topics]]` in flashgen.toml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    description: str = ""
    keywords: tuple[str, ...] = ()


class Settings(BaseModel):
    """Everything one command is told: flags over the environment over flashgen.toml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    generator: GeneratorConfig = Field(default_factory=GeneratorConfig)
    checks: CheckConfig = Field(default_factory=CheckConfig)
    taxonomy: tuple[Topic, ...] = ()
