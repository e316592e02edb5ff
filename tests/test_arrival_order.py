"""Requests start in arrival order, a few per event-loop turn (arrival_order.py).

The queue on a real event loop, then a real uvicorn server with serve's protocol.
"""

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

from linkedin_posts.arrival_order import PER_TURN, ArrivalQueue
from linkedin_posts.main import create_app
from tests.conftest import make_settings
from tests.protection.test_server_shedding import Connection, get, running


class Starts:
    """What a queue started, in order; `fails` raises for the requests named in it."""

    def __init__(self, fails: frozenset[int] = frozenset()) -> None:
        self.started: list[int] = []
        self.fails = fails

    def __call__(self, number: int, app: Any) -> None:
        self.started.append(number)
        if number in self.fails:
            raise RuntimeError(f"start {number} failed")


async def test_a_turn_starts_the_oldest_requests_then_lets_the_loop_poll() -> None:
    queue, starts = ArrivalQueue(asyncio.get_running_loop()), Starts()
    for number in range(PER_TURN + 8):
        queue.add(starts, number, None)
    assert starts.started == []  # nothing starts before the loop turns

    await asyncio.sleep(0)  # one turn
    assert starts.started == list(range(PER_TURN))

    # What arrives now queues behind what was already waiting.
    queue.add(starts, 1000, None)
    await asyncio.sleep(0)
    assert starts.started == [*range(PER_TURN + 8), 1000]
    await asyncio.sleep(0)
    assert not queue.waiting
    assert not queue.scheduled  # an empty queue takes no more turns


async def test_a_start_that_fails_is_reported_and_the_others_still_start() -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    default_handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        queue, starts = ArrivalQueue(loop), Starts(fails=frozenset({3}))
        for number in range(10):
            queue.add(starts, number, None)
        for _ in range(3):
            await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(default_handler)
    assert starts.started == list(range(10))
    assert [str(context["exception"]) for context in reported] == ["start 3 failed"]


class Finishing:
    """Starts that each leave a finish for the turn's end; `fails` raises for those named."""

    def __init__(self, queue: ArrivalQueue, fails: frozenset[int] = frozenset()) -> None:
        self.queue = queue
        self.events: list[tuple[str, int]] = []
        self.fails = fails

    def start(self, number: int, app: Any) -> None:
        self.events.append(("start", number))
        self.queue.at_turn_end(self.finish, number, None)

    def finish(self, number: int, _: Any) -> None:
        self.events.append(("finish", number))
        if number in self.fails:
            raise RuntimeError(f"finish {number} failed")


async def test_what_starts_leave_for_the_turn_end_runs_after_all_its_starts_in_order() -> None:
    queue = ArrivalQueue(asyncio.get_running_loop())
    finishing = Finishing(queue)
    for number in range(PER_TURN + 3):
        queue.add(finishing.start, number, None)

    await asyncio.sleep(0)  # one turn
    first_turn = range(PER_TURN)
    assert finishing.events == [
        *(("start", n) for n in first_turn),
        *(("finish", n) for n in first_turn),
    ]
    await asyncio.sleep(0)
    assert finishing.events[2 * PER_TURN :] == [
        *(("start", n) for n in range(PER_TURN, PER_TURN + 3)),
        *(("finish", n) for n in range(PER_TURN, PER_TURN + 3)),
    ]
    assert queue.turn_end == []


async def test_a_failed_finish_or_start_is_reported_and_the_turns_other_finishes_still_run() -> (
    None
):
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    default_handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        queue = ArrivalQueue(loop)
        finishing = Finishing(queue, fails=frozenset({1}))
        starts = Starts(fails=frozenset({3}))
        for number in range(3):
            queue.add(finishing.start, number, None)
        queue.add(starts, 3, None)  # fails after three starts left their finishes
        queue.add(finishing.start, 4, None)
        for _ in range(3):
            await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(default_handler)
    assert [n for event, n in finishing.events if event == "finish"] == [0, 1, 2, 4]
    assert [str(context["exception"]) for context in reported] == [
        "finish 1 failed",
        "start 3 failed",
    ]


def test_requests_that_arrive_together_are_answered_each_its_own_in_arrival_order(
    tmp_path: Path,
) -> None:
    """More requests than a few turns start, all read in one poll after the loop was held."""
    requests = PER_TURN * 3 + 5
    entered = threading.Event()
    started: list[int] = []
    app = create_app(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"))

    @app.get("/block")
    async def block() -> dict[str, bool]:
        entered.set()
        time.sleep(0.5)  # noqa: ASYNC251 - the point: the loop reads nothing meanwhile
        return {"blocked": True}

    @app.get("/number/{number}")
    async def number(number: int) -> dict[str, int]:
        started.append(number)
        return {"number": number}

    with running(app) as port:
        callers = [Connection(port) for _ in range(requests)]
        blocker = Connection(port)
        blocker.send(get("/block"))
        assert entered.wait(5)
        for n, caller in enumerate(callers):
            caller.send(get(f"/number/{n}"))
        answers = [caller.answer() for caller in callers]
        assert blocker.answer().status == 200
        for connection in [*callers, blocker]:
            connection.close()

    assert [(a.status, a.body) for a in answers] == [
        (200, f'{{"number":{n}}}'.encode()) for n in range(requests)
    ]
    assert started == list(range(requests))
