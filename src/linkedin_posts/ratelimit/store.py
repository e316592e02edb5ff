"""Where the counters live: Redis, shared by every process, with this process's memory as fallback.

When Redis fails, the process counts on its own for `retry_seconds` before it tries Redis again
(one request tries; the others keep counting locally meanwhile), so a dead or paused Redis costs
one socket timeout per interval, not one per request. It logs the switch both ways and shows it
in metrics.
"""

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from limits.errors import StorageError

from linkedin_posts.observability.metrics import RATELIMIT_LOCAL_DECISIONS, RATELIMIT_REDIS_DOWN
from linkedin_posts.ratelimit.local import LocalCounters
from linkedin_posts.ratelimit.windows import Counters

if TYPE_CHECKING:
    import redis.asyncio as redis

logger = logging.getLogger(__name__)

T = TypeVar("T")
# Which Counters ran the operation, and whether they are the shared ones.
Operation = Callable[[Counters, bool], Awaitable[T]]
# limits wraps redis-py's errors in StorageError; a timeout or refused socket may surface bare.
SHARED_FAILURES = (StorageError, OSError, TimeoutError)
# Keys carry a version, so a deploy that changes their meaning never reads the old ones.
KEY_PREFIX = "lp:rl:v1"


def redis_counters(client: "redis.Redis") -> Counters:
    """limits' Redis storage on the app's connection pool (its timeouts, its health checks)."""
    from limits.aio.storage import RedisStorage

    return RedisStorage(
        "async+redis://",
        implementation="redispy",
        connection_pool=client.connection_pool,  # type: ignore[arg-type]  # passed to redis-py
        key_prefix=KEY_PREFIX,
        wrap_exceptions=True,
    )


class CounterStore:
    def __init__(
        self,
        shared: Counters | None,
        *,
        retry_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.shared = shared
        self.local = LocalCounters(clock)
        self.retry_seconds = retry_seconds
        self.clock = clock
        # Until when the shared counters are skipped; None while they work.
        self.shared_down_until: float | None = None

    @property
    def shared_down(self) -> bool:
        return self.shared_down_until is not None

    async def run(self, operation: Operation[T]) -> T:
        if self.shared is not None:
            down_until = self.shared_down_until
            if down_until is None or self.clock() >= down_until:
                if down_until is not None:
                    # This request probes; the others stay local until it has an answer.
                    self.shared_down_until = self.clock() + self.retry_seconds
                try:
                    result = await operation(self.shared, True)
                except SHARED_FAILURES as exc:
                    self._shared_failed(exc)
                else:
                    self._shared_works()
                    return result
            RATELIMIT_LOCAL_DECISIONS.inc()
        return await operation(self.local, False)

    def _shared_failed(self, exc: BaseException) -> None:
        if self.shared_down_until is None:
            logger.warning(
                "rate limits: Redis unreachable (%s); counting in this process, retrying in %.1fs",
                type(exc).__name__,
                self.retry_seconds,
            )
            RATELIMIT_REDIS_DOWN.set(1)
        self.shared_down_until = self.clock() + self.retry_seconds

    def _shared_works(self) -> None:
        if self.shared_down_until is not None:
            logger.warning("rate limits: Redis reachable again; counting in Redis")
            RATELIMIT_REDIS_DOWN.set(0)
            self.shared_down_until = None
