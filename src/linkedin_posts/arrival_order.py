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
"""

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

# Small enough that the loop polls every few milliseconds even for the costliest starts, large
# enough that the poll's own cost is spread over many requests (docs/benchmarks.md).
PER_TURN = 32

Start = Callable[[Any, Any], None]


class ArrivalQueue:
    """One server's requests waiting to start: `start(cycle, app)` each, in arrival order."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiting: deque[tuple[Start, Any, Any]] = deque()
        self.scheduled = False

    def add(self, start: Start, cycle: Any, app: Any) -> None:
        self.waiting.append((start, cycle, app))
        if not self.scheduled:
            self.scheduled = True
            self.loop.call_soon(self.take_turn)

    def take_turn(self) -> None:
        self.scheduled = False
        waiting = self.waiting
        try:
            for _ in range(min(PER_TURN, len(waiting))):
                start, cycle, app = waiting.popleft()
                start(cycle, app)
        finally:
            # Even if a start failed (the loop's handler logs it): the others still go.
            if waiting and not self.scheduled:
                self.scheduled = True
                self.loop.call_soon(self.take_turn)
