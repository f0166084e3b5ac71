"""The LLM generator against an in-memory backend: contract, re-ask, modes, cache, config."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from flashgen.cache import Cache, cache_key
from flashgen.client import ChatReply
from flashgen.config import GeneratorConfig, load_config
from flashgen.errors import ConfigError, LLMError, PromptError, RequestFailed
from flashgen.generate.contract import ContractError, parse_response, response_schema
from flashgen.generate.llm import LLMRun, generate_llm, request_key
from flashgen.generate.prompts import DEFAULT_PROMPTS, Prompts, RequestBuilder
from flashgen.models import Post
from flashgen.pipeline import build

from .fake_openai import FakeBackend, good_answer

KAFKA = Post(
    id="kafka",
    channel="Data Eng",
    text="Kafka по умолчанию хранит сообщения 168 часов, то есть 7 дней. #kafka",
)
ADAM = Post(id="adam", channel="ML Notes", text="Adam использует learning rate 0.001 по умолчанию.")
POSTS = [KAFKA, ADAM]


def _config(tmp_path: Path, **values: Any) -> GeneratorConfig:
    defaults: dict[str, Any] = {"generator": "llm", "cache": tmp_path / "cache.sqlite"}
    return GeneratorConfig(**(defaults | values))


def _run(
    posts: list[Post], config: GeneratorConfig, backend: FakeBackend | None = None
) -> tuple[LLMRun, FakeBackend]:
    backend = backend or FakeBackend()
    return generate_llm(posts, config, client=backend), backend


def _answer(*cards: dict[str, str], topic: str = "Kafka") -> str:
    return json.dumps({"topic": topic, "key_facts": ["f"] * len(cards), "cards": list(cards)})


# --- the contract ---------------------------------------------------------------------------


def test_schema_is_strict_and_ordered_as_a_checklist() -> None:
    schema = response_schema()
    assert list(schema["properties"]) == ["topic", "key_facts", "cards"]
    card = schema["properties"]["cards"]["items"]
    assert list(card["properties"]) == ["kind", "question", "answer", "source_quote"]
    for node in (schema, card):  # what strict json_schema demands of every object
        assert node["additionalProperties"] is False
        assert node["required"] == list(node["properties"])
    text = json.dumps(schema)
    for word in ("$ref", "maxLength", "minLength", "maxItems", "pattern"):
        assert word not in text


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("not json", "not valid JSON"),
        ('{"topic": "x", "key_facts": [], "cards": [], "extra": 1}', "extra"),
        ('{"topic": "", "key_facts": [], "cards": []}', "topic cannot be empty"),
        ('{"topic": "' + "x" * 80 + '", "key_facts": [], "cards": []}', "short label"),
        ('{"topic": "x", "key_facts": [" "], "cards": []}', "empty strings"),
        ('{"topic": "x", "key_facts": [], "cards": [{"kind": "essay"}]}', "cards.0.kind"),
        ("[1, 2]", "JSON object"),
        ("", "empty"),
    ],
)
def test_contract_violations_say_what_is_wrong(content: str, problem: str) -> None:
    with pytest.raises(ContractError, match=re.escape(problem)):
        parse_response(content)


def test_a_fenced_reply_is_accepted() -> None:
    reply = "```json\n" + json.dumps(good_answer(KAFKA.text)) + "\n```"
    assert parse_response(reply).topic == "Тестовая тема"


# --- prompts ----------------------------------------------------------------------------------


def test_the_system_prompt_teaches_every_card_rule() -> None:
    system = RequestBuilder(GeneratorConfig()).system("json_schema")
    for rule in range(1, 11):
        assert f"(C{rule})" in system
    assert "language of the post" in system
    assert "schema" not in system.split("Answer with", 1)[1]  # the server enforces it


def test_language_and_schema_reach_the_prompt() -> None:
    builder = RequestBuilder(GeneratorConfig(language="English"))
    request = builder.request(KAFKA, "prompt")
    system, user = (m["content"] for m in request.messages)
    assert "in English, whatever the language of the post" in system
    assert json.dumps(response_schema(), ensure_ascii=False) in system
    assert KAFKA.text in user and "Data Eng" in user
    assert "response_format" not in request.body()


def test_a_template_with_an_unknown_variable_fails_loudly(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts"
    shutil.copytree(DEFAULT_PROMPTS, prompts)
    (prompts / "post.j2").write_text("{{ post.text }} {{ no_such_thing }}", encoding="utf-8")
    with pytest.raises(PromptError, match="no_such_thing"):
        RequestBuilder(GeneratorConfig(prompts=prompts)).request(KAFKA, "json_schema")


def test_a_prompts_folder_missing_a_template_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "system.j2").write_text("x", encoding="utf-8")
    with pytest.raises(PromptError, match=r"missing prompt template post\.j2"):
        Prompts(tmp_path)


# --- generating -----------------------------------------------------------------------------


def test_model_cards_become_cards_with_the_models_topic(tmp_path: Path) -> None:
    backend = FakeBackend()
    card = {"kind": "basic", "question": "Сколько часов?", "answer": "168", "source_quote": "q"}
    backend.on("Kafka", ChatReply(content=_answer(card, topic="Kafka")))
    run, _ = _run(POSTS, _config(tmp_path), backend)
    kafka = [c for c in run.cards if c.post_id == "kafka"]
    assert [(c.topic, c.question, c.answer, c.tags) for c in kafka] == [
        ("Kafka", "Сколько часов?", "168", ("kafka",))
    ]
    assert run.requests == 2 and run.mode == "json_schema" and backend.closed


def test_a_card_that_is_not_a_card_is_rejected_with_a_reason(tmp_path: Path) -> None:
    backend = FakeBackend()
    bad = [
        {"kind": "basic", "question": "Сколько?", "answer": "", "source_quote": "q"},
        {"kind": "cloze", "question": "Нет пропусков", "answer": "", "source_quote": "q"},
    ]
    backend.on("Kafka", ChatReply(content=_answer(*bad)))
    run, _ = _run([KAFKA], _config(tmp_path), backend)
    assert run.cards == [] and run.failures == []
    assert [card.reason for card in run.invalid] == [
        "a basic card needs an answer",
        "cloze text has no {{c1::…}} deletion",
    ]


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        (ChatReply(content='{"topic": "x", "key_'), "not valid JSON"),
        (ChatReply(content='{"topic": "x"}'), "key_facts: Field required"),
        (ChatReply(content='{"topic": "x", "key_', finish_reason="length"), "cut off"),
        (ChatReply(content="", refusal="I can't help with that"), "refused"),
    ],
    ids=["invalid-json", "schema", "truncated", "refusal"],
)
def test_a_broken_reply_is_sent_back_and_the_next_one_used(
    tmp_path: Path, broken: ChatReply, reason: str
) -> None:
    backend = FakeBackend()
    backend.on("Kafka", broken)
    run, _ = _run([KAFKA], _config(tmp_path), backend)
    assert run.failures == [] and len(run.cards) == 1 and run.requests == 2
    retry = backend.history[1].messages
    assert retry[:2] == backend.history[0].messages
    assert retry[2] == {"role": "assistant", "content": broken.content}
    assert retry[3]["role"] == "user" and reason in retry[3]["content"]
    assert "attempt 2 of 3" in retry[3]["content"]


def test_reasks_are_bounded_and_other_posts_go_on(tmp_path: Path) -> None:
    backend = FakeBackend()
    backend.on("Kafka", *[ChatReply(content="still not json")] * 5)
    run, _ = _run(POSTS, _config(tmp_path, reasks=1), backend)
    [failure] = run.failures
    assert failure.post_id == "kafka" and failure.attempts == 2
    assert "not valid JSON" in failure.reason
    assert [c.post_id for c in run.cards] == ["adam"]
    assert run.requests == 3
    with Cache(tmp_path / "cache.sqlite") as cache:
        assert len(cache) == 1  # a failure is not cached: the next build asks again


def test_auto_falls_back_and_keeps_the_first_mode_that_works(tmp_path: Path) -> None:
    posts = [Post(id=f"p{i}", channel="c", text=f"Факт номер {i} верен.") for i in range(6)]
    backend = FakeBackend(reject=("json_schema", "json_object"))
    run, _ = _run(posts, _config(tmp_path, concurrency=1, cache=None), backend)
    modes = [request.mode for request in backend.history]
    assert modes == ["json_schema", "json_object"] + ["prompt"] * 6
    # Concurrent first requests all try the first mode; none goes back to a rejected one.
    backend = FakeBackend(reject=("json_schema", "json_object"), delay=0.01)
    run, _ = _run(posts, _config(tmp_path, concurrency=3), backend)
    modes = [request.mode for request in backend.history]
    assert 1 <= modes.count("json_schema") <= 3 and 1 <= modes.count("json_object") <= 3
    assert modes.count("prompt") == 6 and modes[-6:] == ["prompt"] * 6
    assert run.mode == "prompt" and len(run.cards) == 6
    assert len(run.notices) == 2 and "rejected structured output json_schema" in run.notices[0]
    # The next build starts with the mode that worked; a new post costs one request.
    posts.append(Post(id="new", channel="c", text="Новый факт номер 7."))
    again, backend = _run(posts, _config(tmp_path), FakeBackend(reject=("json_schema",)))
    assert [r.mode for r in backend.history] == ["prompt"]
    assert again.cache_hits == 6 and again.requests == 1


def test_an_explicit_mode_is_not_abandoned(tmp_path: Path) -> None:
    backend = FakeBackend(reject=("json_schema",))
    run, _ = _run(POSTS, _config(tmp_path, structured_output="json_schema"), backend)
    assert run.cards == [] and len(run.failures) == 2
    assert "json_object" in run.failures[0].reason  # the server's own words


def test_a_server_that_cannot_be_reached_stops_the_build(tmp_path: Path) -> None:
    backend = FakeBackend()
    backend.enqueue(RequestFailed("cannot connect to http://127.0.0.1:9", connection=True))
    with pytest.raises(LLMError, match="cannot connect"):
        _run(POSTS, _config(tmp_path), backend)


def test_a_failed_request_fails_only_its_post(tmp_path: Path) -> None:
    backend = FakeBackend()
    backend.on("Adam", RequestFailed("HTTP 400: context length exceeded"))
    run, _ = _run(POSTS, _config(tmp_path), backend)
    assert [(f.post_id, f.reason) for f in run.failures] == [
        ("adam", "HTTP 400: context length exceeded")
    ]
    assert [c.post_id for c in run.cards] == ["kafka"]


def test_requests_run_concurrently_up_to_the_limit(tmp_path: Path) -> None:
    posts = [Post(id=f"p{i}", channel="c", text=f"Факт номер {i}.") for i in range(12)]
    backend = FakeBackend(delay=0.02)
    seen: list[tuple[int, int]] = []
    run = generate_llm(
        posts,
        _config(tmp_path, concurrency=4),
        client=backend,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert backend.max_in_flight == 4 and len(run.cards) == 12
    assert seen[0] == (0, 12) and seen[-1] == (12, 12) and len(seen) == 13


def test_each_posts_cards_are_handed_on_while_the_next_request_is_out(tmp_path: Path) -> None:
    posts = [Post(id=f"p{i}", channel="c", text=f"Факт номер {i}.") for i in range(6)]
    backend = FakeBackend(delay=0.01)
    backend.on(
        "Факт номер 3", ChatReply(content="{}"), ChatReply(content="{}"), ChatReply(content="{}")
    )
    handed: list[tuple[list[str], int]] = []
    run = generate_llm(
        posts,
        _config(tmp_path, concurrency=1),
        client=backend,
        on_cards=lambda cards: handed.append(([c.post_id for c in cards], len(backend.history))),
    )
    # One call per post that made cards, none for the post whose replies kept failing.
    assert [ids for ids, _ in handed] == [["p0"], ["p1"], ["p2"], ["p4"], ["p5"]]
    assert [f.post_id for f in run.failures] == ["p3"]
    assert [c for ids, _ in handed for c in ids] == [c.post_id for c in run.cards]
    # With one request at a time, the next post's request was already sent each time.
    # p3 took three requests; p5's was out before p4's cards were handed on.
    assert [sent for _, sent in handed] == [2, 3, 4, 8, 8]


# --- the cache ------------------------------------------------------------------------------


def test_cache_rebuild_edit_and_prompt_change(tmp_path: Path) -> None:
    config = _config(tmp_path)
    first, _ = _run(POSTS, config)
    assert (first.requests, first.cache_hits) == (2, 0)
    again, _ = _run(POSTS, config)
    assert (again.requests, again.cache_hits) == (0, 2)
    assert again.cards == first.cards
    edited = [KAFKA.model_copy(update={"text": KAFKA.text + " Правка."}), ADAM]
    one, _ = _run(edited, config)
    assert (one.requests, one.cache_hits) == (1, 1)
    prompts = tmp_path / "prompts"
    shutil.copytree(DEFAULT_PROMPTS, prompts)
    with (prompts / "system.j2").open("a", encoding="utf-8") as system:
        system.write("\nBe brief.\n")
    changed, _ = _run(edited, _config(tmp_path, prompts=prompts))
    assert (changed.requests, changed.cache_hits) == (2, 0)


@pytest.mark.parametrize(
    "change", [{"model": "other"}, {"temperature": 0.7}, {"max_tokens": 1000}, {"language": "en"}]
)
def test_the_model_and_sampling_are_part_of_the_key(tmp_path: Path, change: dict[str, Any]) -> None:
    _run([KAFKA], _config(tmp_path))
    run, _ = _run([KAFKA], _config(tmp_path, **change))
    assert (run.requests, run.cache_hits) == (1, 0)


def test_no_cache_neither_reads_nor_writes(tmp_path: Path) -> None:
    for _ in range(2):
        run, _ = _run(POSTS, _config(tmp_path, cache=None))
        assert run.requests == 2
    assert not (tmp_path / "cache.sqlite").exists()


def test_the_cache_stores_the_raw_reply_and_usage(tmp_path: Path) -> None:
    backend = FakeBackend()
    backend.on("Kafka", ChatReply(content="nope", tokens_in=7, tokens_out=3))
    _run([KAFKA], _config(tmp_path), backend)
    request = RequestBuilder(_config(tmp_path)).request(KAFKA, "json_schema")
    with Cache(tmp_path / "cache.sqlite") as cache:
        stored = cache.get(request_key(request, KAFKA))
    assert stored is not None
    assert json.loads(stored.content) == good_answer(KAFKA.text)
    assert (stored.tokens_in, stored.tokens_out) == (107, 23)  # both attempts
    assert (stored.model, stored.mode, stored.post_id) == ("gpt-4o-mini", "json_schema", "kafka")


# --- configuration --------------------------------------------------------------------------


def test_flags_beat_the_environment_which_beats_the_file(tmp_path: Path) -> None:
    (tmp_path / "flashgen.toml").write_text(
        '[llm]\nbase_url = "http://file/v1"\nmodel = "file-model"\nconcurrency = 3\n'
        'prompts = "my-prompts"\ncache = "c/cache.sqlite"\n'
        "[llm.prices.file-model]\ninput = 1.0\noutput = 2.0\n",
        encoding="utf-8",
    )
    env = {"OPENAI_BASE_URL": "http://env/v1", "OPENAI_API_KEY": "sk-env"}
    config = load_config({"model": None, "concurrency": 5}, cwd=tmp_path, environ=env)
    assert config.base_url == "http://env/v1" and config.model == "file-model"
    assert config.concurrency == 5 and config.api_key is not None
    assert config.api_key.get_secret_value() == "sk-env"
    assert config.prompts == tmp_path / "my-prompts"
    assert config.cache == tmp_path / "c" / "cache.sqlite"
    assert config.cost(1_000_000, 500_000) == pytest.approx(2.0)
    assert "sk-env" not in repr(config) and "sk-env" not in config.model_dump_json()
    flagged = load_config({"base_url": "http://flag/v1", "no_cache": True}, cwd=tmp_path)
    assert flagged.base_url == "http://flag/v1" and flagged.cache is None


def test_the_key_is_read_from_the_named_variable_never_from_the_file(tmp_path: Path) -> None:
    toml = tmp_path / "flashgen.toml"
    toml.write_text('[llm]\napi_key_env = "GROQ_KEY"\n', encoding="utf-8")
    config = load_config({}, cwd=tmp_path, environ={"GROQ_KEY": "gsk-1"})
    assert config.api_key is not None and config.uses_llm()
    toml.write_text('[llm]\napi_key = "sk-oops"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="do not store the API key"):
        load_config({}, cwd=tmp_path, environ={})


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[llm]\nconcurency = 3\n", "unknown key llm.concurency"),
        ("[llm]\nconcurrency = 0\n", "concurrency"),
        ("[llm\n", "not valid TOML"),
        ('[llm]\nstructured_output = "xml"\n', "structured_output"),
    ],
)
def test_a_bad_config_file_is_one_clear_error(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "flashgen.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=problem):
        load_config({}, cwd=tmp_path, environ={})


@pytest.mark.parametrize(
    ("values", "llm"),
    [
        ({}, False),
        ({"base_url": "http://localhost:11434/v1"}, True),
        ({"api_key": "sk-1"}, True),
        ({"api_key": "sk-1", "generator": "offline"}, False),
        ({"generator": "llm"}, True),
    ],
)
def test_auto_uses_the_llm_only_when_one_is_configured(values: dict[str, Any], llm: bool) -> None:
    assert GeneratorConfig(**values).uses_llm() is llm


def test_prices_give_a_cost_only_for_known_models() -> None:
    assert GeneratorConfig(model="gpt-4o-mini").cost(1_000_000, 1_000_000) == pytest.approx(0.75)
    assert GeneratorConfig(model="my-local-model").cost(10, 10) is None


# --- through the pipeline -------------------------------------------------------------------


def test_build_counts_invalid_cards_as_rejected_with_reasons(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    posts_file = tmp_path / "posts.txt"
    posts_file.write_text(f"Forwarded from Data Eng\n{KAFKA.text}\n", encoding="utf-8")
    backend = FakeBackend()
    card = {"kind": "basic", "question": "Сколько часов?", "answer": "", "source_quote": "x"}
    backend.enqueue(ChatReply(content=_answer(card)))
    config = _config(tmp_path, base_url="http://127.0.0.1:9/v1")  # never reached: faked
    result = build([posts_file], tmp_path / "out", generator=config, timestamp=0, client=backend)
    assert (result.generation.generator, result.cards, result.rejected) == ("llm", 0, 1)
    assert result.rejections == {"invalid-card (a basic card needs an answer)": 1}
    assert any("holds no notes" in notice for notice in result.notices)
    assert (tmp_path / "out" / "flashgen.apkg").is_file()


def test_the_event_loop_is_left_clean(tmp_path: Path) -> None:
    # generate_llm runs its own loop; a caller's own loop, and a later asyncio.run, still work.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        run, backend = _run(POSTS, _config(tmp_path))
        assert len(run.cards) == 2 and backend.closed
        assert asyncio.get_event_loop() is loop and not loop.is_closed()
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    assert asyncio.run(asyncio.sleep(0, result=1)) == 1


@pytest.mark.parametrize("mode", ["json_schema", "json_object", "prompt"])
def test_the_cache_key_is_the_digest_of_the_whole_request(tmp_path: Path, mode: str) -> None:
    # Built from pieces for speed, it must stay the key earlier builds stored answers under.
    builder = RequestBuilder(_config(tmp_path, temperature=0.3, language="English"))
    for post in POSTS:
        request = builder.request(post, mode)  # type: ignore[arg-type]
        whole = cache_key({"post": post.text, **request.body(), "mode": request.mode})
        assert request_key(request, post) == whole
        turns = [{"role": "assistant", "content": "«нет»"}, {"role": "user", "content": "ещё"}]
        again = builder.request(post, mode, turns)  # type: ignore[arg-type]
        assert request_key(again, post) == cache_key(
            {"post": post.text, **again.body(), "mode": again.mode}
        )
