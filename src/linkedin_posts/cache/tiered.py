"""Read-through over the levels: memory (L1), then Redis (L2), then the loader (the database).

One load per key at a time in a process (single flight): concurrent misses share it. Across
processes, Redis leases let one process load while the others wait for its value.

A load that overlapped an invalidation is returned but not kept in memory: it may hold what the
write replaced. Writes call `invalidate`, which drops the keys here, then deletes them in Redis
and tells the other processes; if Redis cannot be reached, the deletes are retried every
`retry_seconds` until it can.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from linkedin_posts.cache.bus import CHANNEL, InvalidationBus
from linkedin_posts.cache.memory import MISSING, MemoryCache
from linkedin_posts.cache.shared import Lookup, SharedCache
from linkedin_posts.observability.metrics import CACHE_INVALIDATIONS, CACHE_REQUESTS

logger = logging.getLogger(__name__)

T = TypeVar("T")
# Invalidations waiting for Redis beyond this are logged as an error at every failed retry.
MAX_PENDING = 10_000
# Announced by clear_everywhere: no key is named "*".
CLEAR_ALL = "*"


class Level(StrEnum):
    """Where a value came from, as the X-Cache header says it."""

    L1 = "HIT-L1"
    L2 = "HIT-L2"
    MISS = "MISS"


T_co = TypeVar("T_co", covariant=True)


class Codec(Protocol[T_co]):
    """Bytes for Redis and back, and a value's weight in memory (of the type `loads` returns)."""

    def dumps(self, value: Any) -> bytes: ...
    def loads(self, data: bytes) -> T_co: ...
    def size(self, value: Any) -> int: ...


@dataclass
class LevelCounts:
    hits: int = 0
    misses: int = 0

    def as_dict(self) -> dict[str, Any]:
        total = self.hits + self.misses
        return {
            "hits": self.hits,
            "misses": self.misses,
            "hit_ratio": None if not total else round(self.hits / total, 4),
        }


@dataclass
class Counts:
    l1: LevelCounts = field(default_factory=LevelCounts)
    l2: LevelCounts = field(default_factory=LevelCounts)
    loads: int = 0
    invalidations: int = 0
    remote_invalidations: int = 0
    lease_waits: int = 0
    ack_timeouts: int = 0


_L1_HIT = CACHE_REQUESTS.labels("l1", "hit")
_L1_MISS = CACHE_REQUESTS.labels("l1", "miss")
_L2_HIT = CACHE_REQUESTS.labels("l2", "hit")
_L2_MISS = CACHE_REQUESTS.labels("l2", "miss")
_L2_DOWN = CACHE_REQUESTS.labels("l2", "unavailable")
_LOCAL = CACHE_INVALIDATIONS.labels("local")
_REMOTE = CACHE_INVALIDATIONS.labels("remote")


class TieredCache:
    def __init__(
        self,
        memory: MemoryCache,
        shared: SharedCache | None = None,
        *,
        deaf_ttl_seconds: float = 1.0,
        lease_wait_seconds: float = 0.5,
        retry_seconds: float = 2.0,
        ack_timeout_seconds: float = 0.1,
    ) -> None:
        self.memory = memory
        self.shared = shared
        self.bus: InvalidationBus | None = None
        self.deaf_ttl_seconds = deaf_ttl_seconds
        self.lease_wait_seconds = lease_wait_seconds
        self.retry_seconds = retry_seconds
        self.ack_timeout_seconds = ack_timeout_seconds
        self.counts = Counts()
        # A load under way per key; an invalidation of the key (or a clear) drops it, and a
        # dropped load's value is not kept (_remember_filled).
        self._flights: dict[str, asyncio.Future[tuple[Any, Level]]] = {}
        self._pending: set[str] = set()
        self._retrier: asyncio.Task[None] | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def attach_bus(self, bus: InvalidationBus) -> None:
        self.bus = bus

    def start(self) -> None:
        if self.bus is not None:
            self.bus.start()
            self._retrier = asyncio.create_task(self._retry_pending(), name="cache-retry")

    async def stop(self) -> None:
        if self._retrier is not None:
            self._retrier.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retrier
        if self.bus is not None:
            await self.bus.stop()
            await self.bus.client.aclose()
        if self.shared is not None:
            await self.shared.client.aclose()  # its writer is the app's, closed by the app

    # -- reads ---------------------------------------------------------------------------------

    def count_fast_hit(self) -> None:
        """A request answered by the front door: its credential and its post, both in memory."""
        self.counts.l1.hits += 2
        _L1_HIT.inc(2)

    async def get_or_load(
        self, key: str, load: Callable[[], Awaitable[T | None]], codec: Codec[T]
    ) -> tuple[T | None, Level]:
        """The value and where it came from; None (not kept) when the loader finds nothing."""
        value = self.memory.get(key)
        if value is not MISSING:
            self.counts.l1.hits += 1
            _L1_HIT.inc()
            return value, Level.L1
        self.counts.l1.misses += 1
        _L1_MISS.inc()
        flight = self._flights.get(key)
        if flight is None:
            # A task of its own: a caller that is cancelled (client gone, deadline) must not
            # cancel the load the others wait for.
            flight = asyncio.ensure_future(self._fill(key, load, codec))
            self._flights[key] = flight
            flight.add_done_callback(lambda done: self._land(key, done))
        return await asyncio.shield(flight)

    def _land(self, key: str, flight: asyncio.Future[Any]) -> None:
        # An invalidation may have replaced this flight with a newer one: leave that one be.
        if self._flights.get(key) is flight:
            del self._flights[key]

    async def _fill(
        self, key: str, load: Callable[[], Awaitable[T | None]], codec: Codec[T]
    ) -> tuple[T | None, Level]:
        shared = self.shared
        found = None
        if shared is not None and not await self._flushed():
            _L2_DOWN.inc()  # Redis may hold values our unsent invalidations would delete
        elif shared is not None:
            found = await shared.get_or_lease(key)
            if found.outcome is Lookup.HIT:
                return self._hit_l2(key, found.value, codec)
            if found.outcome is Lookup.WAIT:
                data = await self._wait_for_holder(shared, key)
                if data is not None:
                    return self._hit_l2(key, data, codec)
            if found.outcome is Lookup.DOWN:
                _L2_DOWN.inc()
            else:
                self.counts.l2.misses += 1
                _L2_MISS.inc()
        self.counts.loads += 1
        lease = found.token if found is not None and found.outcome is Lookup.LEASED else None
        try:
            value = await load()
        except BaseException:
            if lease is not None:
                assert shared is not None
                # Let other processes load now rather than wait for the lease to lapse.
                await shared.release(key, lease)
            raise
        keep = True
        if lease is not None:
            assert shared is not None
            if value is None:
                await shared.release(key, lease)
            else:
                # Refused when a write deleted the lease meanwhile: the value may be old.
                keep = await shared.set_if_leased(key, lease, codec.dumps(value))
        if value is not None and keep:
            self._remember_filled(key, value, codec)
        return value, Level.MISS

    def _hit_l2(self, key: str, data: bytes | None, codec: Codec[T]) -> tuple[T | None, Level]:
        assert data is not None
        self.counts.l2.hits += 1
        _L2_HIT.inc()
        value = codec.loads(data)
        self._remember_filled(key, value, codec)
        return value, Level.L2

    async def _wait_for_holder(self, shared: SharedCache, key: str) -> bytes | None:
        """Poll for the value another process is loading, up to lease_wait_seconds."""
        self.counts.lease_waits += 1
        deadline = time.monotonic() + self.lease_wait_seconds
        delay = 0.002
        while time.monotonic() < deadline:
            await asyncio.sleep(delay)
            data = await shared.get(key)
            if data is not None:
                return data
            delay = min(delay * 2, 0.05)
        return None

    def remember(self, key: str, value: Any, codec: Codec[Any]) -> None:
        """Keep a value in memory that was read outside get_or_load (a warm-up)."""
        self._remember(key, value, codec)

    def _remember_filled(self, key: str, value: T, codec: Codec[T]) -> None:
        """Keep what this flight fetched, unless the key was invalidated (or the memory
        cleared) meanwhile: that drops the flight, and a later reader starts a new one. Only
        this key's invalidations count; another key's (any process writes all the time) do not."""
        if self._flights.get(key) is asyncio.current_task():
            self._remember(key, value, codec)

    def _remember(self, key: str, value: T, codec: Codec[T]) -> None:
        deaf = self.bus is not None and not self.bus.hearing
        # Deaf to other processes' writes: keep the entry only as long as staleness may last.
        ttl = self.deaf_ttl_seconds if deaf else None
        self.memory.set(key, value, size=codec.size(value), ttl=ttl)

    # -- writes --------------------------------------------------------------------------------

    async def invalidate(self, keys: list[str]) -> None:
        """Drop keys everywhere: here now, in Redis and the other processes before returning.

        When Redis is unreachable the write still succeeds: the keys are retried in the
        background, and the other processes keep their copies at most until then.
        """
        self._drop(keys)
        self.counts.invalidations += len(keys)
        _LOCAL.inc(len(keys))
        if self.shared is None:
            return
        self._pending.update(keys)
        await self._flushed()

    async def _flushed(self) -> bool:
        """Send the pending invalidations; True when none are left (Redis may be read)."""
        if not self._pending:
            return True
        assert self.shared is not None
        keys = list(self._pending)
        bus = self.bus
        if bus is None:
            receivers = await self.shared.invalidate(keys, None, CHANNEL)
        else:
            message_id, announcement = bus.announcement(keys)
            bus.expect(message_id)
            receivers = await self.shared.invalidate(keys, announcement, CHANNEL)
            # Wait (briefly) for the other processes to have dropped the keys, so that a read
            # anywhere after this write's answer finds no old copy.
            if not await bus.acknowledged(message_id, receivers or 0, self.ack_timeout_seconds):
                self.counts.ack_timeouts += 1
        if receivers is None:
            if len(self._pending) > MAX_PENDING:
                logger.error("cache: %d invalidations could not reach Redis", len(self._pending))
            return False
        self._pending.difference_update(keys)
        return not self._pending

    async def _retry_pending(self) -> None:
        while True:
            await asyncio.sleep(self.retry_seconds)
            if self._pending:
                await self._flushed()

    def on_remote_keys(self, keys: list[str]) -> None:
        if CLEAR_ALL in keys:
            self.clear()
        self._drop(keys)
        self.counts.remote_invalidations += len(keys)
        _REMOTE.inc(len(keys))

    def on_deaf(self) -> None:
        """Shorten what is kept: another process's write may now go unheard."""
        self.clear()

    def on_hearing(self) -> None:
        """Subscribed (again): anything kept while deaf may be stale."""
        self.clear()

    def clear(self) -> int:
        self._flights.clear()
        return self.memory.clear()

    async def clear_everywhere(self) -> dict[str, Any]:
        """Empty this process's memory, Redis's entries and every other process's memory."""
        cleared = self.clear()
        if self.shared is None or self.bus is None:
            return {"memory_entries": cleared, "redis_entries": None}
        deleted = await self.shared.delete_all()
        _, announcement = self.bus.announcement([CLEAR_ALL])
        announced = await self.shared.invalidate([CLEAR_ALL], announcement, CHANNEL) is not None
        return {
            "memory_entries": cleared,
            "redis_entries": deleted,
            "other_processes_told": announced,
        }

    def stats(self) -> dict[str, Any]:
        memory, counts = self.memory, self.counts
        levels: dict[str, Any] = {
            "l1": {
                **counts.l1.as_dict(),
                "entries": len(memory),
                "bytes": memory.bytes,
                "max_entries": memory.max_entries,
                "max_bytes": memory.max_bytes,
                "policy": memory.policy,
                "evictions": memory.evictions,
                "expirations": memory.expirations,
            }
        }
        if self.shared is not None:
            compression = self.shared.compression
            levels["l2"] = {
                **counts.l2.as_dict(),
                "reachable": self.shared.down_until is None,
                "compressed_values": compression.compressed,
                "compression_ratio": compression.ratio,
                "compression_seconds": round(compression.seconds, 6),
            }
        return {
            "levels": levels,
            "loads": counts.loads,
            "lease_waits": counts.lease_waits,
            "acknowledgement_timeouts": counts.ack_timeouts,
            "invalidations": counts.invalidations,
            "remote_invalidations": counts.remote_invalidations,
            "pending_invalidations": len(self._pending),
            "hearing_other_processes": None if self.bus is None else self.bus.hearing,
        }

    def _drop(self, keys: list[str]) -> None:
        for key in keys:
            self.memory.delete(key)
            # A load under way may return what the write replaced: later readers start anew.
            self._flights.pop(key, None)
