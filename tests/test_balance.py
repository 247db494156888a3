"""Connections spread over worker processes (qa.balance): the shared table, read and written as two workers do."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.balance import CLOSE_EVERY, PUBLISH_EVERY, STALE, Balance, create_table

STEP = max(CLOSE_EVERY, PUBLISH_EVERY) + 0.01  # time for every worker to publish its count again


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def table():  # type: ignore[no-untyped-def]
    path = create_table()
    yield path
    path.unlink(missing_ok=True)


def simulate(table: Path, start: list[int], rounds: int = 40) -> tuple[list[int], int]:
    """Clients on two workers (`start[w]` each) that ask once a round; a closed connection reconnects to a worker
    the kernel picks (a fixed random sequence here). Returns the final split and how many connections closed."""
    import random

    clock, pick = Clock(), random.Random(7)
    workers = [Balance(table, clock, pid=101), Balance(table, clock, pid=102)]
    holder = [w for w, n in enumerate(start) for _ in range(n)]
    port = [40_000 + c for c in range(len(holder))]
    for c, w in enumerate(holder):  # the connections were open before: both workers have their counts in
        workers[w].record(("127.0.0.1", port[c]))
    for w in workers:
        w.publish()
    closes = 0
    for _ in range(rounds):
        clock.now += STEP
        for c in range(len(holder)):
            if workers[holder[c]].should_close(("127.0.0.1", port[c])):
                closes += 1
                holder[c], port[c] = pick.randrange(2), port[c] + 1000  # a new connection, from a new port
    return [holder.count(0), holder.count(1)], closes


def test_an_uneven_split_evens_out_by_closing_a_few_connections(table: Path) -> None:
    split, closes = simulate(table, [10, 2])
    assert split == [6, 6]
    assert closes <= 12  # one at a time per worker, only while it holds more than its share


def test_an_even_split_closes_nothing(table: Path) -> None:
    assert simulate(table, [6, 6]) == ([6, 6], 0)
    assert simulate(table, [7, 6]) == ([7, 6], 0)  # 7 is an even share of 13, rounded up


def test_one_worker_alone_never_closes(table: Path) -> None:
    clock = Clock()
    alone = Balance(table, clock, pid=201)
    for round_ in range(3):
        clock.now += STEP
        assert not any(alone.should_close(("127.0.0.1", 40_000 + p)) for p in range(20)), round_
    assert not alone.should_close(None)  # no client address (a unix socket): nothing to count


def test_a_stopped_workers_row_is_reused_and_not_counted(table: Path) -> None:
    clock = Clock()
    gone = Balance(table, clock, pid=301)
    for port in range(10):
        gone.should_close(("127.0.0.1", 40_000 + port))
    clock.now += STALE + 1  # it stopped updating: the replacement takes its row
    fresh = Balance(table, clock, pid=302)
    assert fresh.rows() == [(302, 0)]
    assert not any(fresh.should_close(("127.0.0.1", 41_000 + p)) for p in range(5))
