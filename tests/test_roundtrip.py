"""The round trip: the model answers each card's question from the post alone, and a card
whose answer differs is rejected (flashgen.check.roundtrip, flashgen.generate.verify)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from flashgen.check import check_card_fields
from flashgen.check.roundtrip import MISMATCH, UNANSWERABLE, disagreement, questions
from flashgen.cli import main
from flashgen.models import Card, Post

from .fake_openai import FakeOpenAI, Reply

POST = (
    "В Llama 2 использовали PPO поверх reward-модели, а в Llama 3 перешли на DPO. "
    "DPO-этап в Llama 3 занял 6 раундов, каждый раунд длился около 2 дней."
)
RIGHT = {
    "kind": "basic",
    "question": "Какой метод выравнивания использовали в Llama 3?",
    "answer": "DPO",
    "source_quote": "В Llama 2 использовали PPO поверх reward-модели, а в Llama 3 перешли на DPO.",
}
WRONG = {
    "kind": "basic",
    # The rules keep it: 6 is in the post, beside «раундов», with no unit of its own.
    "question": "Сколько длился один раунд DPO-этапа в Llama 3?",
    "answer": "6 дней",
    "source_quote": "DPO-этап в Llama 3 занял 6 раундов, каждый раунд длился около 2 дней.",
}


def _reply(*cards: dict[str, str]) -> Reply:
    body = {"topic": "Выравнивание", "key_facts": ["факт"], "cards": list(cards)}
    return Reply(content=json.dumps(body, ensure_ascii=False))


def _posts(tmp_path: Path, *texts: str) -> Path:
    path = tmp_path / "posts.txt"
    path.write_text("\n\n\n".join(f"Forwarded from ML\n{t}" for t in texts) + "\n", "utf-8")
    return path


def _build(fake: FakeOpenAI, posts: Path, *args: str) -> Result:
    argv = ["build", str(posts), "--base-url", fake.url, "--timestamp", "0", *args]
    return CliRunner().invoke(main, argv)


def _rejected() -> list[dict[str, Any]]:
    text = Path("decks/flashgen.rejected.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


# --- agreement, table-driven in both languages ---------------------------------------------

AGREE = [
    ("DPO", "DPO"),
    ("PPO поверх reward-модели", "PPO"),  # one answer says all of the other
    ("2 дня", "около 2 дней"),  # another form, a hedge
    ("шесть раундов", "6"),  # a number in words is the number
    ("policy и reference", "policy, reference"),
    ("простота", "простота, стабильность обучения"),
    ("1,4 миллиона", "1,4 миллиона пар сравнений"),
    ("0.001", "lr=0.001"),
    ("168 hours", "168 hours (7 days)"),
    ("without a separate reward model", "no separate reward model is needed"),
    ("Spark over YT", "Spark over YT"),
    # A question with several right answers gets all of them; one is enough.
    ("онлайн-генерация данных", "гибкость; онлайн-генерация данных"),
    ("limited batching", "slower on GPU than AWQ; limited batching"),
]
DISAGREE = [
    ("DPO", "PPO", MISMATCH),  # another entity
    ("Spark over YT", "ClickHouse over YT", MISMATCH),  # two names, whatever they share
    ("27 тысяч", "27 миллионов", MISMATCH),  # magnitude
    ("2 часа", "2 дня", MISMATCH),  # unit
    ("30 ms", "30 s", MISMATCH),
    ("8 GB", "8 MB", MISMATCH),
    ("5", "7", MISMATCH),  # another value
    ("не требует reward-модели", "требует reward-модели", MISMATCH),  # negation
    ("does not scale to zero", "scales to zero", MISMATCH),
    ("переобучение", "простота, стабильность обучения", MISMATCH),  # another list
    ("overfitting", "simplicity, stability", MISMATCH),
    ("DPO", "", UNANSWERABLE),
    ("poke mode", "reschedule mode", MISMATCH),  # a phrase apart by its one distinctive word
    ("pipeline parallelism", "Tensor parallelism", MISMATCH),
    ("раз в год", "раз в полгода", MISMATCH),
    ("переобучение", "простота; стабильность обучения", MISMATCH),  # none of the choices
]


@pytest.mark.parametrize(("card", "reader"), AGREE)
def test_answers_that_say_the_same_agree(card: str, reader: str) -> None:
    assert disagreement(card, True, reader) is None


@pytest.mark.parametrize(("card", "reader", "reason"), DISAGREE)
def test_answers_that_differ_disagree_with_the_readers_answer_as_evidence(
    card: str, reader: str, reason: str
) -> None:
    found = disagreement(card, bool(reader), reader)
    assert found is not None and found[0] == reason
    if reason == MISMATCH:
        assert reader in found[1]


def test_a_question_the_post_does_not_answer_is_not_answerable() -> None:
    assert disagreement("DPO", False, "")[0] == UNANSWERABLE  # type: ignore[index]


def test_a_cloze_asks_one_question_per_number_with_the_others_shown() -> None:
    card = Card(
        kind="cloze",
        question="Шаги ETL: {{c1::extract}}, {{c2::transform}}, {{c3::load}}.",
        answer="",
        source_quote="ETL: extract, transform, load.",
        post_id="p",
        topic="t",
    )
    assert questions(card) == [
        ("Шаги ETL: […], transform, load.", "extract"),
        ("Шаги ETL: extract, […], load.", "transform"),
        ("Шаги ETL: extract, transform, […].", "load"),
    ]
    basic = Card(post_id="p", topic="t", **RIGHT)
    assert questions(basic) == [(RIGHT["question"], "DPO")]


# --- over HTTP, through the fixture server -------------------------------------------------


def test_a_card_the_post_contradicts_is_rejected_and_one_it_backs_is_kept(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    posts = _posts(tmp_path, POST)
    fake.on("Llama 2", _reply(RIGHT, WRONG), repeat=True)
    fake.reader.answers[WRONG["question"]] = "около 2 дней"
    result = _build(fake, posts)
    assert result.exit_code == 0, result.output
    assert fake.count == 1 and fake.verify_count == 1
    # The reader is asked the questions, never the cards' answers.
    asked = fake.verify_requests[0]["messages"][1]["content"]
    assert RIGHT["question"] in asked and WRONG["question"] in asked
    assert "6 дней" not in asked
    assert result.stdout.startswith("1 posts → 1 notes")
    assert "round trip (gpt-4o-mini): 1 requests, 0 cache hits" in result.stdout
    assert "1 cards confirmed, 1 contradicted" in result.stdout
    [rejected] = _rejected()
    assert rejected["card"]["question"] == WRONG["question"]
    assert rejected["reasons"] == [MISMATCH]
    assert "около 2 дней" in rejected["evidence"][MISMATCH]


def test_a_question_the_post_cannot_answer_is_rejected(fake: FakeOpenAI, tmp_path: Path) -> None:
    posts = _posts(tmp_path, POST)
    fake.on("Llama 2", _reply(RIGHT), repeat=True)
    fake.reader.answers[RIGHT["question"]] = None  # «not in the post»
    result = _build(fake, posts)
    assert result.exit_code == 0, result.output
    assert [r["reasons"] for r in _rejected()] == [[UNANSWERABLE]]


def test_a_failed_round_trip_leaves_the_rules_verdict_with_a_notice(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    posts = _posts(tmp_path, POST)
    fake.on("Llama 2", _reply(RIGHT, WRONG), repeat=True)
    fake.reader.answers[WRONG["question"]] = "около 2 дней"
    fake.enqueue_verify(Reply(status=503, error="overloaded"))
    result = _build(fake, posts, "--max-retries", "0")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    # Both cards pass the rules, and nothing contradicted them.
    assert result.stdout.startswith("1 posts → 2 notes")
    assert "the round trip failed for 1 posts (HTTP 503: overloaded)" in result.stderr
    assert "keep the rules' verdict" in result.stderr
    # A failure is not cached: the next build asks again, and now rejects the wrong card.
    again = _build(fake, posts, "--max-retries", "0")
    assert again.stdout.startswith("1 posts → 1 notes") and fake.verify_count == 2


def test_a_cached_rebuild_sends_no_round_trip_request(fake: FakeOpenAI, tmp_path: Path) -> None:
    posts = _posts(tmp_path, POST, "Kafka по умолчанию хранит сообщения 168 часов.")
    fake.on("Llama 2", _reply(RIGHT, WRONG), repeat=True)
    fake.reader.answers[WRONG["question"]] = "около 2 дней"
    first = _build(fake, posts)
    assert first.exit_code == 0 and fake.count == 2 and fake.verify_count == 2
    again = _build(fake, posts)
    assert again.exit_code == 0, again.output
    assert fake.count == 2 and fake.verify_count == 2  # nothing sent
    assert "round trip (gpt-4o-mini): 0 requests, 2 cache hits" in again.stdout
    assert again.stdout.splitlines()[0] == first.stdout.splitlines()[0]
    assert [r["reasons"] for r in _rejected()] == [[MISMATCH]]  # the same verdict, from cache


def test_the_judge_model_answers_and_verify_off_sends_nothing(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    posts = _posts(tmp_path, POST)
    fake.on("Llama 2", _reply(RIGHT), repeat=True)
    judged = _build(fake, posts, "--judge-model", "judge-1", "--no-cache")
    assert judged.exit_code == 0, judged.output
    assert fake.verify_requests[0]["model"] == "judge-1"
    assert fake.requests[0]["model"] == "gpt-4o-mini"
    assert "round trip (judge-1)" in judged.stdout
    fake.reset()
    off = _build(fake, posts, "--verify", "off", "--no-cache")
    assert off.exit_code == 0 and fake.count == 1 and fake.verify_count == 0
    assert "round trip" not in off.stdout


def test_verify_on_without_a_model_is_one_clear_error(tmp_path: Path) -> None:
    posts = _posts(tmp_path, POST)
    result = CliRunner().invoke(main, ["build", str(posts), "--verify", "on"])
    assert result.exit_code == 1
    assert "--verify on needs a model" in result.output and "Traceback" not in result.output
    assert not Path("decks").exists()


def test_a_posts_round_trip_goes_out_while_other_posts_cards_are_awaited(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    texts = [f"Параметр номер {i} равен {i * 7 + 1} единицам." for i in range(4)]
    posts = _posts(tmp_path, *texts)
    fake.hold_posts = [texts[3]]  # the last post's cards wait until released
    done: list[Result] = []
    worker = threading.Thread(
        target=lambda: done.append(_build(fake, posts, "--concurrency", "2", "--no-cache"))
    )
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while (fake.verify_count < 3 or fake.held < 1) and time.monotonic() < deadline:
            time.sleep(0.02)
        # The other three posts' round trips were answered while the last post's cards
        # are still awaited: one slot is held by it, the other serves the round trips.
        assert fake.verify_count == 3 and fake.held == 1 and not done
    finally:
        fake.release.set()
        worker.join(timeout=60)
    assert done and done[0].exit_code == 0, done[0].output if done else "the build hung"
    assert fake.count == 4 and fake.verify_count == 4


def test_check_uses_the_round_trip_and_prints_its_evidence(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    posts = _posts(tmp_path, POST)
    post_id = json.loads(CliRunner().invoke(main, ["posts", str(posts), "--json"]).stdout)[0]["id"]
    cards = tmp_path / "cards.json"
    cards.write_text(json.dumps([{**RIGHT, "post_id": post_id}, {**WRONG, "post_id": post_id}]))
    fake.reader.answers[RIGHT["question"]] = "DPO"
    fake.reader.answers[WRONG["question"]] = "около 2 дней"
    result = CliRunner().invoke(
        main, ["check", str(posts), "--cards", str(cards), "--base-url", fake.url]
    )
    assert result.exit_code == 0, result.output
    assert fake.verify_count == 1 and fake.count == 0
    assert "#0 accepted" in result.stdout
    assert f"#1 rejected: {MISMATCH} (the post answers «около 2 дней»)" in result.stdout
    assert "round trip (gpt-4o-mini): 1 requests" in result.stderr


# --- duplicates ------------------------------------------------------------------------------


def test_of_two_duplicates_the_one_the_reader_agreed_with_is_kept() -> None:
    post = Post(id="p1", channel="ML", text=POST)
    twin = {**RIGHT, "post_id": "p1"}
    fields = [twin, dict(twin)]

    def confirm_second(groups: Any) -> dict[int, tuple[str, str] | None]:
        [(_, cards)] = groups
        return {id(cards[1]): None}  # the reader skipped the first, agreed with the second

    plain = check_card_fields([post], fields)
    assert [v.accepted for v in plain] == [True, False]
    verified = check_card_fields([post], fields, roundtrip=confirm_second)
    assert [v.accepted for v in verified] == [False, True]
    assert verified[0].reasons == ["duplicate"]


# --- the slots the requests share -------------------------------------------------------------


def test_urgent_takers_go_first_and_a_cancelled_taker_gives_its_turn_away() -> None:
    import asyncio

    from flashgen.generate.llm import _Slots

    async def scenario() -> list[str]:
        slots = _Slots(1)
        order: list[str] = []
        gate = asyncio.Event()

        async def take(name: str, urgent: bool = False) -> None:
            async with slots.take(urgent=urgent):
                order.append(name)
                if name == "first":
                    await gate.wait()

        first = asyncio.create_task(take("first"))
        await asyncio.sleep(0)
        normal = asyncio.create_task(take("normal"))
        gone = asyncio.create_task(take("gone", urgent=True))
        urgent = asyncio.create_task(take("urgent", urgent=True))
        await asyncio.sleep(0)
        gone.cancel()  # cancelled while it waits: it must not keep the slot
        gate.set()
        await asyncio.gather(first, normal, urgent)
        assert gone.cancelled()
        return order

    assert asyncio.run(scenario()) == ["first", "urgent", "normal"]
