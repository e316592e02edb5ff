"""Per-identity limits by route class, and a ceiling on what one process admits in all."""

import asyncio
import time
from collections.abc import Callable
from typing import Literal

from linkedin_posts.config import Settings
from linkedin_posts.ratelimit import windows
from linkedin_posts.ratelimit.reservations import Reservations
from linkedin_posts.ratelimit.store import CounterStore
from linkedin_posts.ratelimit.windows import Counters, Decision, Quota

RouteClass = Literal["auth", "read", "write", "ai"]


def limit_key(route_class: RouteClass, identity: str) -> str:
    """What is counted: one identity in one class (its windows' phase derives from it)."""
    return f"{route_class}:{identity}"


class RateLimiter:
    def __init__(
        self,
        store: CounterStore,
        *,
        quotas: dict[RouteClass, Quota],
        process_ceiling: Quota,
        expected_instances: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.quotas = quotas
        # With Redis unreachable each process admits its share, so the processes together stay
        # near the quota instead of admitting it once each.
        self.local_quotas = {name: q.share(expected_instances) for name, q in quotas.items()}
        self.process_ceiling = process_ceiling
        self.process_counts = windows.LocalWindows()
        # The embedded shape's counts (no Redis). With Redis down, the scale-out shape counts
        # its share in the store's local counters instead.
        self.local_counts = windows.LocalWindows()
        self.reservations = Reservations(instances=expected_instances)
        self.clock = clock
        self._refills: set[asyncio.Task[None]] = set()

    async def hit(self, route_class: RouteClass, identity: str) -> Decision:
        key = limit_key(route_class, identity)
        now = self.clock()
        quota = self.quotas[route_class]
        if self.store.shared is None:
            # The embedded shape: this process's counters, with nothing to wait for.
            return self.local_counts.hit(quota, key, now)
        decided = self.reservations.take(quota, key, now)
        if decided is not None:
            self._refill_if_due(quota, key)
            return decided

        async def count(counters: Counters, shared: bool) -> Decision:
            if shared:
                return await self.reservations.reserve(counters, quota, key, now)
            # Redis is down: this process's share of the quota, in its own counters.
            return await windows.hit(counters, self.local_quotas[route_class], key, now)

        return await self.store.run(count)

    def admit_now(self, route_class: RouteClass, identity: str) -> bytes | None:
        """The process ceiling and `hit` together, when they admit from this process's memory:
        the admission's RateLimit-* header lines.

        None, having counted nothing, when the decision needs Redis or would refuse: the request
        then goes through `enforce`, which counts it once and answers the 429. For the server's
        answers from memory (cache/front_door.py), which cannot wait.
        """
        now = self.clock()
        ceiling = self.process_ceiling
        ceiling_window = self.process_counts.current(ceiling, "process", now)
        if ceiling_window.count >= ceiling.amount:
            return None
        key = f"{route_class}:{identity}"  # limit_key, inlined: the hot path
        quota = self.quotas[route_class]
        if self.store.shared is None:
            lines = self.local_counts.admit(quota, key, now)
        else:
            lines = self.reservations.take_token(quota, key, now)
            if lines is not None:
                self._refill_if_due(quota, key)
        if lines is not None:
            ceiling_window.count += 1
        return lines

    def _refill_if_due(self, quota: Quota, key: str) -> None:
        if self.reservations.refill_due(quota, key):
            task = asyncio.get_running_loop().create_task(self._refill(quota, key))
            self._refills.add(task)
            task.add_done_callback(self._refills.discard)

    async def _refill(self, quota: Quota, key: str) -> None:
        async def ask(counters: Counters, shared: bool) -> None:
            if shared:  # with Redis down, requests count in memory: nothing to ask ahead
                await self.reservations.refill(counters, quota, key, self.clock())

        try:
            await self.store.run(ask)
        finally:
            self.reservations.refill_ended(key)

    async def aclose(self) -> None:
        """Cancel the batches still being asked for (shutdown): their tokens die with us."""
        for task in self._refills:
            task.cancel()
        await asyncio.gather(*self._refills, return_exceptions=True)

    def hit_process_ceiling(self) -> Decision:
        """The ceiling is this process's own: it protects the process, so it is never shared."""
        return self.process_counts.hit(self.process_ceiling, "process", self.clock())


def create_rate_limiter(settings: Settings, store: CounterStore) -> RateLimiter:
    return RateLimiter(
        store,
        quotas={
            "auth": Quota.parse(settings.ratelimit_auth),
            "read": Quota.parse(settings.ratelimit_read),
            "write": Quota.parse(settings.ratelimit_write),
            "ai": Quota.parse(settings.ratelimit_ai),
        },
        process_ceiling=Quota.parse(settings.ratelimit_process),
        expected_instances=settings.ratelimit_expected_instances,
    )
