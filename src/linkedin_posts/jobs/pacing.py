"""How a runner paces items: a priority-ordered cap on all of them, and an adaptive cap on
provider calls.

PrioritySlots: when items wait for a slot, the most urgent job's go first: higher priority,
then the job with fewer items, so a small interactive job is not stuck behind a 10,000-item
one. AdaptiveLimit: additive increase, multiplicative decrease, as TCP paces a link. Until the
first sign of overload each success raises the cap by one (slow start: it doubles every round
of calls); after it, by 1/cap (about one more call per round). A sign of overload from the
provider (its rate limit, a timeout, unavailable) halves the cap, at most once per round, so a
bulk job backs off before it trips the provider's limits for interactive users.
"""

import asyncio
import heapq
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

Rank = tuple[int, int]


class PrioritySlots:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.in_use = 0
        self._waiters: list[tuple[Rank, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @asynccontextmanager
    async def slot(self, rank: Rank) -> AsyncIterator[None]:
        await self._acquire(rank)
        try:
            yield
        finally:
            self._release()

    @property
    def waiting(self) -> int:
        return sum(not future.done() for _, _, future in self._waiters)

    async def _acquire(self, rank: Rank) -> None:
        if self.in_use < self.capacity and not self.waiting:
            self.in_use += 1
            return
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (rank, next(self._order), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release()  # granted as it was cancelled: pass the slot on
            raise

    def _release(self) -> None:
        while self._waiters:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)  # the slot passes straight to it
                return
        self.in_use -= 1


class AdaptiveLimit:
    def __init__(self, *, initial: float, maximum: float, minimum: float = 1.0) -> None:
        self.limit = initial
        self.maximum = maximum
        self.minimum = minimum
        self.in_use = 0
        self._changed = asyncio.Condition()
        self._last_decrease = 0.0
        self.decreases = 0
        self.slow_start = True

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._changed:
            await self._changed.wait_for(lambda: self.in_use < int(self.limit))
            self.in_use += 1
        try:
            yield
        finally:
            async with self._changed:
                self.in_use -= 1
                self._changed.notify_all()

    def succeeded(self) -> None:
        step = 1.0 if self.slow_start else 1 / self.limit
        self.limit = min(self.maximum, self.limit + step)

    async def overloaded(self, round_seconds: float) -> None:
        """Halve the cap, once per round: a burst of failures is one signal, not many."""
        now = time.monotonic()
        if now - self._last_decrease < round_seconds:
            return
        self._last_decrease = now
        self.slow_start = False
        self.limit = max(self.minimum, self.limit / 2)
        self.decreases += 1
        async with self._changed:
            self._changed.notify_all()
