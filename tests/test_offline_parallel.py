"""Offline cards made in worker processes: the same cards, in the same order, as one
process makes; and a pool that cannot work costs no cards."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from flashgen import read_posts
from flashgen.generate import generate_offline, generate_offline_all
from flashgen.generate import offline as offline_module
from flashgen.models import Card, Post
from flashgen.pipeline import run


def _posts(seed_path: Path, copies: int = 3) -> list[Post]:
    """The seed's posts several times over, each copy its own post."""
    base = read_posts([seed_path])
    return [
        post.model_copy(update={"id": f"{post.id}-{copy}"})
        for copy in range(copies)
        for post in base
    ]


def _flat(batches: Iterator[list[list[Card]]]) -> list[list[Card]]:
    return [made for batch in batches for made in batch]


@pytest.fixture
def small_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    # A handful of posts in runs of three, so a test's build uses the pool.
    monkeypatch.setattr(offline_module, "PARALLEL_POSTS", 4)
    monkeypatch.setattr(offline_module, "_CHUNK", 3)


def test_workers_make_the_cards_one_process_makes(seed_path: Path, small_runs: None) -> None:
    posts = _posts(seed_path)
    alone = [generate_offline(post, 40) for post in posts]
    together = _flat(generate_offline_all(posts, 40, workers=2))
    assert len(together) == len(posts)
    assert together == alone
    assert sum(map(len, together)) > len(posts)  # the seed's posts do carry facts


def test_a_pool_that_breaks_leaves_the_rest_to_the_build(
    seed_path: Path, small_runs: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures.process import BrokenProcessPool

    posts = _posts(seed_path)
    real = offline_module._in_workers

    def breaks_after_one(
        chunks: Sequence[Sequence[Post]], max_cards: int | None, workers: int
    ) -> Iterator[list[list[Card]]]:
        made = real(chunks, max_cards, workers)
        yield next(made)
        made.close()
        raise BrokenProcessPool("a worker was killed")

    monkeypatch.setattr(offline_module, "_in_workers", breaks_after_one)
    together = _flat(generate_offline_all(posts, 40, workers=2))
    assert together == [generate_offline(post, 40) for post in posts]


def test_a_pool_that_cannot_start_costs_nothing(
    seed_path: Path, small_runs: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_semaphores(*_: object) -> Iterator[list[list[Card]]]:
        raise OSError("[Errno 38] Function not implemented")
        yield []  # pragma: no cover

    monkeypatch.setattr(offline_module, "_in_workers", no_semaphores)
    posts = _posts(seed_path, copies=1)
    assert _flat(generate_offline_all(posts, 40, workers=2)) == [
        generate_offline(post, 40) for post in posts
    ]


def test_a_build_in_workers_keeps_its_verdicts_notices_and_progress(
    seed_path: Path, small_runs: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build checks each run of posts as it comes: the accepted and rejected cards are
    those of a build made in one process, and progress counts every post once."""
    used: list[int] = []
    real = offline_module._in_workers

    def counted(
        chunks: Sequence[Sequence[Post]], max_cards: int | None, workers: int
    ) -> Iterator[list[list[Card]]]:
        used.append(workers)
        return real(chunks, max_cards, workers)

    monkeypatch.setattr(offline_module, "_in_workers", counted)
    monkeypatch.setattr(offline_module, "_usable_cores", lambda: 2)
    calls: list[tuple[int, int]] = []
    parallel = run(
        [seed_path], progress=lambda done, total: calls.append((done, total)), workers=None
    )
    assert used == [2]
    serial = run([seed_path])
    assert used == [2]  # the library's default is one process: a caller's script may be unguarded
    monkeypatch.setattr(offline_module, "_usable_cores", lambda: 1)
    run([seed_path], workers=None)
    assert used == [2]  # one core: no pool
    monkeypatch.setattr(offline_module, "_usable_cores", lambda: 2)
    monkeypatch.setattr(
        offline_module.multiprocessing, "current_process", lambda: type("P", (), {"daemon": True})
    )
    run([seed_path], workers=None)
    assert used == [2]  # a daemonic process may not have children
    assert [c.model_dump() for c in parallel.accepted] == [c.model_dump() for c in serial.accepted]
    assert [r.reasons for r in parallel.rejected] == [r.reasons for r in serial.rejected]
    assert parallel.notices == serial.notices
    assert [done for done, _ in calls] == list(range(1, len(parallel.posts) + 1))


def test_a_worker_whose_build_is_gone_ends_itself() -> None:
    """A build killed outright never shuts its pool down; its workers must not linger.
    Here the "parent" the worker was told of is not its parent, as after the build died:
    it ends at once, not after the minute it would otherwise sleep."""
    import subprocess
    import sys

    code = (
        "import time; from flashgen.generate.offline import _worker_start; "
        "_worker_start(-1); time.sleep(60)"
    )
    done = subprocess.run([sys.executable, "-c", code], timeout=50)
    assert done.returncode == 1


def _reports_ctrl_c(queue: Any) -> None:
    import signal

    queue.put(signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, []))


def test_workers_hold_ctrl_c_from_their_first_instruction() -> None:
    """A worker started by a build cannot be interrupted before its initializer runs (a
    process starts with its starter's signal mask): a Ctrl-C while it imports prints no
    traceback. Outside the start, the build's mask is as it was, so its own Ctrl-C is
    held back, never lost."""
    import multiprocessing
    import signal

    context = multiprocessing.get_context("spawn")
    before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    started = []
    for holding in (True, False):
        queue = context.Queue()
        worker = context.Process(target=_reports_ctrl_c, args=(queue,))
        if holding:
            with offline_module._ctrl_c_held_while_spawning():
                worker.start()
        else:
            worker.start()
        started.append(queue.get(timeout=60))
        worker.join(timeout=60)
    assert started == [True, False]
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == before
