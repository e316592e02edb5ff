"""The rate-limit algorithm: fixed windows aligned to the clock, each identity with its own phase.

One atomic increment per request decides it: the key names the window, so a counter's value is
the number of requests admitted or refused in that window, and a request is admitted when its
increment lands at or below the limit. Every process incrementing the same Redis key therefore
admits exactly `limit` requests per window between them, never one more, whatever the
concurrency. Remaining and reset follow from the count and the clock, with no second round trip.

The phase (a stable hash of the identity) spreads window ends over the period, so clients that
were refused do not all come back in the same second at the top of each minute.
"""

import math
import zlib
from dataclasses import dataclass
from typing import Protocol

import limits

from linkedin_posts.ratelimit.local import LocalCounters


class Counters(Protocol):
    """Counters that expire: limits' async storages, and LocalCounters, have this shape."""

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int: ...

    async def get(self, key: str) -> int: ...

    async def get_expiry(self, key: str) -> float: ...

    async def clear(self, key: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Quota:
    """`amount` requests per `period` seconds, written as limits writes it: "10/minute"."""

    amount: int
    period: int

    @classmethod
    def parse(cls, text: str) -> "Quota":
        item = limits.parse(text)
        return cls(amount=item.amount, period=item.get_expiry())

    def share(self, parts: int) -> "Quota":
        """This process's share when `parts` processes enforce the quota without talking."""
        return Quota(amount=max(1, self.amount // parts), period=self.period)

    def __str__(self) -> str:
        return f"{self.amount}/{self.period}s"


# Not frozen: a frozen dataclass sets each field through object.__setattr__, and two of these are
# made for every limited request (0.9 against 0.3 µs each).
@dataclass(slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_after: float

    @property
    def reset_seconds(self) -> int:
        """Whole seconds until the window ends, never 0 (RateLimit-Reset, Retry-After)."""
        return max(1, math.ceil(self.reset_after))


def phase(identity: str, period: int) -> float:
    """Where in the period this identity's windows start, the same in every process."""
    return zlib.crc32(identity.encode()) % (period * 1000) / 1000


@dataclass(slots=True)
class Window:
    key: str  # the counter's name: identity, period and the window's number
    reset_after: float  # seconds until it ends


def window(quota: Quota, identity: str, now: float) -> Window:
    offset = phase(identity, quota.period)
    number = math.floor((now + offset) / quota.period)
    return Window(
        key=f"{identity}:{quota.period}:{number}",
        reset_after=(number + 1) * quota.period - offset - now,
    )


async def hit(counters: Counters, quota: Quota, identity: str, now: float) -> Decision:
    current = window(quota, identity, now)
    return decide(quota, await counters.incr(current.key, quota.period), current)


def hit_local(counters: LocalCounters, quota: Quota, identity: str, now: float) -> Decision:
    """`hit` on this process's counters, without the awaits they do not need."""
    current = window(quota, identity, now)
    return decide(quota, counters.incr_now(current.key, quota.period), current)


class CurrentWindows:
    """Each counter's current window (its key and end), computed once per window, not per
    request: for the server's answers from memory (RateLimiter.admit_now), the hot path."""

    LIMIT = 16_384  # counters remembered; past it, all are forgotten and computed again

    def __init__(self) -> None:
        self._known: dict[str, tuple[str, float]] = {}

    def of(self, quota: Quota, identity: str, now: float) -> tuple[str, float]:
        known = self._known.get(identity)
        if known is not None and 0 < known[1] - now <= quota.period:
            return known
        current = window(quota, identity, now)
        if len(self._known) >= self.LIMIT:
            self._known.clear()
        known = self._known[identity] = (current.key, now + current.reset_after)
        return known


def admit_local(
    counters: LocalCounters, quota: Quota, key: str, ends_at: float, now: float
) -> Decision | None:
    """`hit_local` in the window `key` (ending at `ends_at`) when it admits; None, counting
    nothing, when it would refuse."""
    if counters.get_now(key, now) >= quota.amount:
        return None
    count = counters.incr_now(key, quota.period, now=now)
    return Decision(
        allowed=True,
        limit=quota.amount,
        remaining=max(0, quota.amount - count),
        reset_after=ends_at - now,
    )


def decide(quota: Quota, count: int, current: Window) -> Decision:
    return Decision(
        allowed=count <= quota.amount,
        limit=quota.amount,
        remaining=max(0, quota.amount - count),
        reset_after=current.reset_after,
    )
