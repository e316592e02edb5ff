"""Requests started in the order they arrived, a few per event-loop turn (server_protocol.py).

uvloop reads every ready connection in one turn, and uvicorn starts each request as soon as its
headers are read: with 1,000 busy connections, a turn answers up to 1,000 requests before the
loop polls again. A request that arrives just after its connection's place in that turn is
missed by the next poll's batch too, and answered at the end of the one after: under overload
the slowest few percent waited two turns, twice the others (docs/benchmarks.md, "Requests in
arrival order").

Here each request whose headers are in waits in its server's queue, and a turn starts at most
PER_TURN of them, oldest first; the loop then polls again, and what arrived meanwhile queues
behind. No request waits more than one pass over the queue, and a turn's answers run one after
another, which also made each cheaper (same section).

What a start leaves for the turn's end (`at_turn_end`) runs once every start of the turn has
run, in the order it was left: serve's protocol writes the answers it made then, together. A
peer on the same host (nginx, or a client) is then woken once for a turn's answers instead of
once for each: 28-36% less of the worker's CPU per cached read, and half the peer's
(docs/benchmarks.md, "Answers written at the turn's end").
"""

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

# Small enough that the loop polls every few milliseconds even for the costliest starts, large
# enough that the poll's own cost is spread over many requests (docs/benchmarks.md).
PER_TURN = 32

Start = Callable[[Any, Any], None]
Finish = Callable[[Any, Any], None]


class ArrivalQueue:
    """One server's requests waiting to start: `start(cycle, app)` each, in arrival order."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiting: deque[tuple[Start, Any, Any]] = deque()
        self.scheduled = False
        self.turn_end: list[tuple[Finish, Any, Any]] = []

    def add(self, start: Start, cycle: Any, app: Any) -> None:
        self.waiting.append((start, cycle, app))
        if not self.scheduled:
            self.scheduled = True
            self.loop.call_soon(self.take_turn)

    def at_turn_end(self, finish: Finish, first: Any, second: Any) -> None:
        """From a start: `finish(first, second)` once this turn's starts have all run."""
        self.turn_end.append((finish, first, second))

    def take_turn(self) -> None:
        self.scheduled = False
        waiting = self.waiting
        try:
            for _ in range(min(PER_TURN, len(waiting))):
                start, cycle, app = waiting.popleft()
                start(cycle, app)
        finally:
            # Even if a start failed (the loop's handler logs it): the others still go.
            self._end_turn()
            if waiting and not self.scheduled:
                self.scheduled = True
                self.loop.call_soon(self.take_turn)

    def _end_turn(self) -> None:
        turn_end, self.turn_end = self.turn_end, []
        for finish, first, second in turn_end:
            try:
                finish(first, second)
            except Exception as exc:
                # As a failed callback is reported; the turn's other answers are still written.
                self.loop.call_exception_handler(
                    {"message": "finishing a request at the turn's end failed", "exception": exc}
                )
