"""Counters in this process: the embedded shape's storage (login lock-outs; the rate limits count
in windows.LocalWindows), and the limits' fallback when Redis is down.

Not limits' MemoryStorage: it starts an asyncio task on every increment, and that task walks every
key in the store, so a request's cost grew with the number of clients (docs/dependencies.md).
These counters are a dict; expired keys are swept at most once a second.
"""

import time
from collections.abc import Callable

SWEEP_INTERVAL_SECONDS = 1.0


class LocalCounters:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.counts: dict[str, int] = {}
        self.expires: dict[str, float] = {}
        self.next_sweep = 0.0

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self.clock()
        if now >= self.next_sweep:
            self._sweep(now)
        if self.expires.get(key, 0.0) <= now:
            # Like limits' Redis storage: the expiry is set when the counter starts, not moved.
            self.counts[key] = 0
            self.expires[key] = now + expiry
        count = self.counts[key] + amount
        self.counts[key] = count
        return count

    async def get(self, key: str) -> int:
        if self.expires.get(key, 0.0) <= self.clock():
            return 0
        return self.counts[key]

    async def get_expiry(self, key: str) -> float:
        """When the counter ends (now, for a counter that does not exist), as limits returns it."""
        return max(self.expires.get(key, 0.0), self.clock())

    async def clear(self, key: str) -> None:
        self.counts.pop(key, None)
        self.expires.pop(key, None)

    def _sweep(self, now: float) -> None:
        expired = [key for key, expires in self.expires.items() if expires <= now]
        for key in expired:
            del self.counts[key], self.expires[key]
        self.next_sweep = now + SWEEP_INTERVAL_SECONDS
