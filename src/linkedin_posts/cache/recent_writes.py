"""Which accounts wrote their posts a moment ago: read-your-writes beside a lagging read replica.

Every write of an owner's posts drops the owner's list version (keys.list_version). Once such a
write has committed, `noted` marks the owner for `window` seconds: in this process's memory, and
in Redis, where every process sees it, before the response is sent. While the mark lasts, the
owner's reads that the replica could serve go to the primary (replica.py), whichever process
behind the load balancer gets them.

The mark is set before the write's cache invalidations go out. A reader that takes a cache lease
after them finds the mark and reads the primary; one that took its lease before them, and may
have read the replica without the write, loses the lease to them and stores nothing.

Reads look at the mark only when the cache misses, and so already go to the database: memory
first (the writer's own process needs no round trip), then one EXISTS in Redis. When Redis fails,
the answer is "maybe": the read goes to the primary, and so do this process's other such reads for
a window, since marks set meanwhile may be missing; Redis is not asked again until then. Marks this
process could not set, or did not try to, are sent by a task every fraction of the window, with
what is left of their window, until they expire.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis.asyncio as redis

logger = logging.getLogger(__name__)

KEY_PREFIX = "lp:rw:v1:"
# Why a read goes to the primary rather than the replica (metric label values).
RECENT_WRITE = "recent_write"
REDIS_UNAVAILABLE = "redis_unavailable"
MAX_UPKEEP_SECONDS = 1.0


class RecentWrites:
    def __init__(
        self,
        client: "redis.Redis",
        *,
        window: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.window = window
        self.clock = clock
        self._local: dict[str, float] = {}  # owner -> marked until (clock)
        self._unsent: dict[str, float] = {}  # marks Redis has not taken yet -> until
        self._doubtful_until = 0.0  # Redis failed: marks may be missing there until then
        self._task: asyncio.Task[None] | None = None
        import redis.exceptions

        self._failures = (redis.exceptions.RedisError, OSError, TimeoutError)

    def start(self) -> None:
        self._task = asyncio.create_task(self._upkeep(), name="recent-writes")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def noted(self, owners: Iterable[str]) -> None:
        """Mark these owners, whose posts a committed write changed, for the window."""
        now = self.clock()
        marks = dict.fromkeys(owners, now + self.window)
        self._local.update(marks)
        if now < self._doubtful_until:
            # Redis failed a moment ago: the upkeep sends these, so that a dead or slow Redis
            # costs writes no timeout each, only one per window.
            self._unsent.update(marks)
            return
        await self._send(marks)

    async def why_primary(self, owner: str) -> str | None:
        """Why the owner's reads must go to the primary now, or None when they need not."""
        now = self.clock()
        until = self._local.get(owner)
        if until is not None:
            if now < until:
                return RECENT_WRITE
            del self._local[owner]
        if now < self._doubtful_until:
            return REDIS_UNAVAILABLE
        try:
            marked = await self.client.exists(KEY_PREFIX + owner)
        except self._failures as exc:
            self._failed(exc)
            return REDIS_UNAVAILABLE
        return RECENT_WRITE if marked else None

    async def _send(self, marks: dict[str, float]) -> None:
        now = self.clock()
        pipe = self.client.pipeline(transaction=False)
        for owner, until in marks.items():
            # What is left of the window: a mark sent late expires when it would have.
            pipe.set(KEY_PREFIX + owner, b"1", px=max(1, int((until - now) * 1000)))
        try:
            await pipe.execute()
        except self._failures as exc:
            self._failed(exc)
            self._unsent.update(marks)
            return
        for owner, until in marks.items():
            # Unless a later write's mark failed meanwhile: that one is still to send.
            if self._unsent.get(owner) == until:
                del self._unsent[owner]

    def _failed(self, exc: BaseException) -> None:
        now = self.clock()
        if now >= self._doubtful_until:
            logger.warning(
                "recent writes: Redis unreachable (%s); reads go to the primary for %.1fs",
                type(exc).__name__,
                self.window,
            )
        self._doubtful_until = now + self.window

    async def _upkeep(self) -> None:
        while True:
            await asyncio.sleep(min(MAX_UPKEEP_SECONDS, self.window / 4))
            now = self.clock()
            self._local = {owner: until for owner, until in self._local.items() if until > now}
            self._unsent = {owner: until for owner, until in self._unsent.items() if until > now}
            if self._unsent:
                await self._send(dict(self._unsent))
