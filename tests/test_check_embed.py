"""Near-duplicates by the server's /v1/embeddings, over real HTTP against the local fake server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from flashgen.check import check_cards
from flashgen.check.embed import BATCH, EmbeddingError, make_embedder
from flashgen.client import OpenAIClient
from flashgen.config import GeneratorConfig
from flashgen.errors import LLMError
from flashgen.models import Card, Post
from flashgen.pipeline import model_client

from .fake_openai import FakeOpenAI, trigram_vector

KEY = "sk-test-DO-NOT-STORE-7f3a9c"
QUOTE = "SFT происходит в шесть раундов."
POST = Post(id="p1", channel="Душный NLP", text=f"{QUOTE} Если в LLaMA 2 использовался PPO.")
# One fact asked in two languages: character shingles see two different cards.
RU = Card(
    kind="basic",
    question="Сколько раундов SFT у LLaMA 3.1?",
    answer="шесть",
    source_quote=QUOTE,
    post_id="p1",
    topic="NLP",
)
EN = RU.model_copy(
    update={"question": "How many SFT rounds does LLaMA 3.1 go through?", "answer": "Six"}
)


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(embeddings=True) as server:
        yield server


def _config(fake: FakeOpenAI, **values: object) -> GeneratorConfig:
    return GeneratorConfig.model_validate(
        {"base_url": fake.url, "api_key": KEY, "max_retries": 0, "timeout": 10, **values}
    )


def _client(fake: FakeOpenAI) -> OpenAIClient:
    return OpenAIClient(_config(fake))


def test_shingles_alone_keep_both_translations() -> None:
    accepted, rejected = check_cards([POST], [RU, EN])
    assert accepted == [RU, EN] and rejected == []


def test_server_embeddings_flag_a_translation_as_near_duplicate(fake: FakeOpenAI) -> None:
    same_question, same_answer = [1.0] + [0.0] * 63, [0.0, 1.0] + [0.0] * 62
    fake.vectors.update({RU.question: same_question, EN.question: same_question})
    fake.vectors.update({RU.answer: same_answer, EN.answer: same_answer})
    embed, notice = make_embedder(_client(fake), "fake-embed")
    assert embed is not None and notice is None
    assert fake.embedding_count == 1  # the probe
    accepted, rejected = check_cards([POST], [RU, EN], embed=embed)
    assert accepted == [RU] and [r.reasons for r in rejected] == [("near-duplicate",)]
    assert fake.embedding_count == 2  # four texts in one batch
    assert fake.embedding_requests[-1]["model"] == "fake-embed"
    assert sorted(fake.embedding_requests[-1]["input"]) == sorted(
        [RU.question, EN.question, RU.answer, EN.answer]
    )
    # Vectors are cached for the run: checking again asks the server nothing.
    check_cards([POST], [RU, EN], embed=embed)
    assert fake.embedding_count == 2


def test_unscripted_texts_get_distinct_vectors_and_both_cards_stay(fake: FakeOpenAI) -> None:
    embed, _ = make_embedder(_client(fake), "gpt-4o-mini")
    assert embed is not None
    accepted, _ = check_cards([POST], [RU, EN], embed=embed)
    assert accepted == [RU, EN]
    assert fake.embedding_requests[0]["model"] == "gpt-4o-mini"  # the generator's model


def test_batches_keep_order_and_repeat_texts_are_sent_once(fake: FakeOpenAI) -> None:
    embed, _ = make_embedder(_client(fake), "gpt-4o-mini")
    assert embed is not None
    texts = [f"card number {i}" for i in range(BATCH + 10)]
    vectors = embed([*texts, texts[0], ""])
    assert [len(r["input"]) for r in fake.embedding_requests[1:]] == [BATCH, 10]
    for text, vector in zip(texts, vectors, strict=False):
        assert vector == pytest.approx(trigram_vector(text), abs=1e-6)
    assert vectors[-2] == vectors[0] and vectors[-1] == [0.0] * 64


def test_a_server_without_the_route_gives_no_embedder_and_a_notice() -> None:
    with FakeOpenAI() as fake:  # the route answers 404
        embed, notice = make_embedder(_client(fake), "gpt-4o-mini")
        assert fake.embedding_count == 1 and fake.count == 0
    assert embed is None and notice is not None
    assert "\n" not in notice and "HTTP 404" in notice and "shingles" in notice
    assert KEY not in notice


def test_a_server_that_is_down_gives_a_notice_without_the_key() -> None:
    with FakeOpenAI() as fake:
        config = _config(fake)
    embed, notice = make_embedder(OpenAIClient(config), "gpt-4o-mini")  # nobody listens
    assert embed is None and notice is not None and "\n" not in notice
    assert KEY not in notice and "shingles" in notice


def test_the_key_is_blanked_wherever_it_would_show(fake: FakeOpenAI) -> None:
    fake.embeddings = False
    embed, notice = make_embedder(_client(fake), f"model-named-{KEY}")
    assert embed is None and notice is not None
    assert KEY not in notice and "***" in notice


@pytest.mark.parametrize(
    "values",
    [{}, {"generator": "offline", "base_url": "http://127.0.0.1:9/v1"}],
    ids=["nothing", "offline-generator"],
)
def test_offline_configs_get_no_client_so_neither_embedder_nor_notice(
    values: dict[str, object],
) -> None:
    with model_client(GeneratorConfig.model_validate(values)) as client:
        assert client is None
        assert make_embedder(client, "any") == (None, None)


def test_an_llm_generator_without_a_server_is_one_clear_error() -> None:
    with (
        pytest.raises(LLMError, match="no model server configured"),
        model_client(GeneratorConfig(generator="llm")),
    ):
        pass


def test_a_failure_after_the_probe_is_one_clear_error(fake: FakeOpenAI) -> None:
    embed, _ = make_embedder(_client(fake), "gpt-4o-mini")
    assert embed is not None
    fake.embeddings = False
    with pytest.raises(EmbeddingError) as raised:
        embed(["a text"])
    message = str(raised.value)
    assert "\n" not in message and "HTTP 404" in message and KEY not in message
