"""Hot identities take their quota from Redis a few requests at a time.

An identity sending many requests to one process would cost a Redis round trip per request
(~60 µs of CPU in redis-py, more than a cached read itself). Once it has sent enough in the
current window, the process increments the shared counter by a batch and admits that many
requests from memory. The counter is still the only source of admissions, so however many
processes share it, a window never admits more than the quota. The costs: under-admission at
worst, as tokens a process holds when its client stops sending lapse with the window; and a
RateLimit-Remaining that, while batches are out, is this process's estimate. Batches are kept
small against the budget left (BUDGET_SHARE), so near the limit every request goes to Redis
again and the last tokens are handed out one by one.

A hot identity asks for its next batch before it runs out (REFILL_WHEN_LEFT), in the background
(RateLimiter.hit), so its requests do not wait for Redis at all: a request that waited for its
batch was answered an event-loop turn later, which made most of a loaded process's p99
(docs/benchmarks.md).

Once the counter has reached the quota, the process refuses the rest of the window from memory:
the count never goes down within a window.
"""

import math
from dataclasses import dataclass

from linkedin_posts.ratelimit import windows
from linkedin_posts.ratelimit.windows import Counters, Decision, Quota

# The batch grows with the identity's demand: one admission reserved per this many of its
# requests in the window so far, in this process, up to MAX_BATCH. Until the first batch of two,
# each request waits for Redis; at 8 a new sender's first 16 did, which made the p99 of a
# loaded process's cached reads (docs/benchmarks.md, "Cached reads answered by the server").
DEMAND_PER_TOKEN = 2
MAX_BATCH = 64
# A batch is at most this fraction of the budget left (as last seen), split between instances:
# the tokens a process may strand are few, and small quotas (under 32 a window with two
# instances) are never batched, so their RateLimit-Remaining stays exact.
BUDGET_SHARE = 16
SWEEP_INTERVAL_SECONDS = 1.0
# The next batch is asked for when this share of the last one is left (tokens <= batch // 2).
REFILL_WHEN_LEFT = 2


@dataclass(slots=True)
class _Held:
    window: str
    ends_at: float
    # Kept until then, one window's length after its own, for the demand it carries over to
    # the identity's next window (reserve): a client that pauses and comes back gets its
    # batches at once, instead of its first requests waiting for Redis again.
    forget_at: float
    hits: int = 0  # this window's requests of the identity in this process
    tokens: int = 0  # admissions granted by the counter and not used yet
    count: int = 0  # the counter's value at the last increment
    batch: int = 0  # the size of the last batch asked for
    refilling: bool = False  # a batch is being asked for ahead of need


class Reservations:
    def __init__(self, *, instances: int) -> None:
        self.instances = instances
        self._held: dict[str, _Held] = {}
        self._next_sweep = 0.0

    def take(self, quota: Quota, identity: str, now: float) -> Decision | None:
        """Decide from memory if this process may; None when the counter must be asked."""
        held = self._held.get(identity)
        if held is None:
            return None
        current = windows.window(quota, identity, now)
        if held.window != current.key:
            return None
        held.hits += 1
        if held.tokens > 0:
            held.tokens -= 1
            return _decision(True, quota, held.count, held.tokens, current.reset_after)
        if held.count >= quota.amount:
            return _decision(False, quota, held.count, 0, current.reset_after)
        return None

    def take_token(self, quota: Quota, identity: str, now: float) -> bytes | None:
        """An admission from a token this process holds, as its header lines (_decision's);
        None, changing nothing, without one."""
        held = self._held.get(identity)
        # Still in the window the tokens were granted in (ends_at is that window's end): no
        # window to compute, the server's answers from memory being this service's hot path.
        if held is None or held.tokens == 0 or not 0 < held.ends_at - now <= quota.period:
            return None
        held.hits += 1
        held.tokens -= 1
        remaining = max(0, quota.amount - held.count + held.tokens)
        return quota.lines % (remaining, math.ceil(held.ends_at - now))

    async def reserve(
        self, counters: Counters, quota: Quota, identity: str, now: float
    ) -> Decision:
        """Increment the shared counter for this request, and for a batch if the identity is hot."""
        if now >= self._next_sweep:
            self._sweep(now)
        current = windows.window(quota, identity, now)
        held = self._held.get(identity)
        if held is None or held.window != current.key:
            # The identity's demand carries over from its last window: a steady sender gets
            # full batches at once, instead of a ramp whose first requests each wait for Redis
            # (at every window's start, they made most of a loaded process's p99).
            demand = min(held.hits, MAX_BATCH * DEMAND_PER_TOKEN) if held is not None else 0
            ends_at = now + current.reset_after
            held = self._held[identity] = _Held(
                current.key, ends_at, ends_at + quota.period, hits=demand + 1
            )
        count, granted = await self._ask(counters, quota, current, held)
        if granted == 0:
            return _decision(False, quota, count, 0, current.reset_after)
        held.tokens += granted - 1  # one for this request
        # From this increment's own count: another request of this process may have moved
        # held.count meanwhile.
        return _decision(True, quota, count, granted - 1, current.reset_after)

    def refill_due(self, quota: Quota, identity: str) -> bool:
        """Whether to ask for the identity's next batch now; at most one such ask at a time."""
        held = self._held.get(identity)
        if held is None or held.refilling or held.tokens > held.batch // REFILL_WHEN_LEFT:
            return False
        if self._batch(quota, held) < 2:
            return False  # near the quota, or not hot: the requests themselves ask
        held.refilling = True
        return True

    async def refill(self, counters: Counters, quota: Quota, identity: str, now: float) -> None:
        """Increment the shared counter by the next batch, and keep the admissions it grants."""
        held = self._held.get(identity)
        current = windows.window(quota, identity, now)
        if held is None or held.window != current.key:
            return
        _, granted = await self._ask(counters, quota, current, held)
        # Granted in this window's counter: if the window has ended meanwhile, `take` no longer
        # uses them (it compares windows), and the new window starts with a new _Held.
        held.tokens += granted

    def refill_ended(self, identity: str) -> None:
        held = self._held.get(identity)
        if held is not None:
            held.refilling = False

    async def _ask(
        self, counters: Counters, quota: Quota, current: windows.Window, held: _Held
    ) -> tuple[int, int]:
        """Increment the counter by the next batch: its count, and how much of it is granted."""
        batch = held.batch = self._batch(quota, held)
        count = await counters.incr(current.key, quota.period, batch)
        held.count = max(held.count, count)
        return count, max(0, min(batch, quota.amount - (count - batch)))

    def _batch(self, quota: Quota, held: _Held) -> int:
        by_demand = held.hits // DEMAND_PER_TOKEN
        by_budget = (quota.amount - held.count) // (BUDGET_SHARE * self.instances)
        return max(1, min(MAX_BATCH, by_demand, by_budget))

    def _sweep(self, now: float) -> None:
        ended = [identity for identity, held in self._held.items() if held.forget_at <= now]
        for identity in ended:
            del self._held[identity]
        self._next_sweep = now + SWEEP_INTERVAL_SECONDS


def _decision(allowed: bool, quota: Quota, count: int, unused: int, reset_after: float) -> Decision:
    """Admitted so far, as far as this process knows: a count less the tokens not yet used.

    Exact with batches of one; an estimate while other processes hold batches too.
    """
    return Decision(
        allowed=allowed,
        limit=quota.amount,
        remaining=max(0, quota.amount - count + unused),
        reset_after=reset_after,
    )
