"""L2: Redis, shared by every process, with leases against stampedes and a circuit breaker.

A miss takes a short lease (Facebook's memcache leases): the holder loads the value and may store
it only while its lease stands. A write deletes the value and the lease together, so a reader
that loaded the old row before the write can no longer store it afterwards. Processes that find
the lease taken wait briefly for the holder's value instead of querying the database too.

Values above `compress_min_bytes` are compressed with zstd. Keys carry SCHEMA_VERSION: a deploy
that changes what a value holds bumps it and never reads the old shapes.

Any Redis failure (refused, reset, slower than the cache's timeout) opens the breaker: the
level is skipped for `retry_seconds`, then one request tries again. A dead Redis therefore costs
one timeout per interval, not one per request, and the level heals by itself.
"""

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

import zstandard

from linkedin_posts.observability.metrics import CACHE_REDIS_DOWN

if TYPE_CHECKING:
    import redis.asyncio as redis

logger = logging.getLogger(__name__)

SCHEMA_VERSION = "v1"
KEY_PREFIX = f"lp:c:{SCHEMA_VERSION}"
_RAW = b"\x00"
_ZSTD = b"\x01"

# KEYS: value, lease. ARGV: token, lease ms. -> [1, value] | [2] lease granted | [0] lease held
_GET_OR_LEASE = """
local value = redis.call('GET', KEYS[1])
if value then return {1, value} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2} end
return {0}
"""
# KEYS: value, lease. ARGV: token[, value, ttl ms]. -> 1 stored (or released) | 0 the lease was
# lost to a write
_SET_IF_LEASED = """
if redis.call('GET', KEYS[2]) == ARGV[1] then
  if ARGV[2] then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
"""


class Lookup(Enum):
    HIT = "hit"
    LEASED = "leased"  # a miss, and this caller loads and stores the value
    WAIT = "wait"  # a miss, and another caller holds the lease
    DOWN = "down"  # Redis is skipped or failed: load without storing in Redis


@dataclass(slots=True)
class Found:
    outcome: Lookup
    value: bytes | None = None
    token: str | None = None


def redis_key(key: str) -> str:
    # The braces make the value and its lease one Redis Cluster hash slot, for the scripts.
    return f"{KEY_PREFIX}:{{{key}}}"


def lease_key(key: str) -> str:
    return f"{redis_key(key)}:lease"


@dataclass
class CompressionStats:
    compressed: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    seconds: float = 0.0

    @property
    def ratio(self) -> float | None:
        return None if not self.bytes_out else round(self.bytes_in / self.bytes_out, 3)


class SharedCache:
    def __init__(
        self,
        client: "redis.Redis",
        *,
        writer: "redis.Redis | None" = None,
        ttl_seconds: float,
        lease_ms: int,
        compress_min_bytes: int,
        retry_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        # Invalidations go through the app's client, with the longer LP_REDIS_TIMEOUT_SECONDS: a
        # read may give up on a slow Redis and use the database, but a dropped invalidation leaves
        # other processes serving what a write replaced (or accepting a revoked key).
        self.writer = writer or client
        self.ttl_ms = int(ttl_seconds * 1000)
        self.lease_ms = lease_ms
        self.compress_min_bytes = compress_min_bytes
        self.retry_seconds = retry_seconds
        self.clock = clock
        self.down_until: float | None = None
        self.compression = CompressionStats()
        self._compressor = zstandard.ZstdCompressor(level=3)
        self._decompressor = zstandard.ZstdDecompressor()
        self._get_or_lease = client.register_script(_GET_OR_LEASE)
        self._set_if_leased = client.register_script(_SET_IF_LEASED)
        import redis.exceptions

        self._failures = (redis.exceptions.RedisError, OSError, TimeoutError)

    def _may_try(self) -> bool:
        """Whether to call Redis now: it works, or this caller probes after the interval."""
        down_until = self.down_until
        if down_until is None:
            return True
        now = self.clock()
        if now < down_until:
            return False
        self.down_until = now + self.retry_seconds  # the others stay off while this one probes
        return True

    async def get_or_lease(self, key: str) -> Found:
        if not self._may_try():
            return Found(Lookup.DOWN)
        token = secrets.token_hex(8)
        reply = await self._call(
            self._get_or_lease, keys=[redis_key(key), lease_key(key)], args=[token, self.lease_ms]
        )
        if reply is None:
            return Found(Lookup.DOWN)
        if reply[0] == 1:
            return Found(Lookup.HIT, self._decode(reply[1]))
        if reply[0] == 2:
            return Found(Lookup.LEASED, token=token)
        return Found(Lookup.WAIT)

    async def get(self, key: str) -> bytes | None:
        if not self._may_try():
            return None
        raw = await self._call(self.client.get, redis_key(key))
        return None if raw is None else self._decode(raw)

    async def set_if_leased(self, key: str, token: str, value: bytes) -> bool:
        """Store the value unless a write took the lease since it was granted."""
        if self.down_until is not None:
            return False  # failed since the lease was granted: no probe on its behalf
        reply = await self._call(
            self._set_if_leased,
            keys=[redis_key(key), lease_key(key)],
            args=[token, self._encode(value), self.ttl_ms],
        )
        return bool(reply == 1)

    async def release(self, key: str, token: str) -> None:
        """Give a lease back: nothing to store (no such row), or the load failed."""
        if self.down_until is not None:
            return
        await self._call(self._set_if_leased, keys=[redis_key(key), lease_key(key)], args=[token])

    async def invalidate(
        self, keys: list[str], announcement: bytes | None, channel: str
    ) -> int | None:
        """Delete the values and their leases, then announce it, in one round trip.

        The number of subscribers the announcement reached (0 without one), or None when Redis
        could not be reached (or the breaker is open): the caller retries later.
        """
        if not self._may_try():
            return None
        names = [name for key in keys for name in (redis_key(key), lease_key(key))]
        pipe = self.writer.pipeline(transaction=False)
        pipe.delete(*names)
        if announcement is not None:
            pipe.publish(channel, announcement)
        replies = await self._call(pipe.execute)
        if replies is None:
            return None
        return int(replies[1]) if announcement is not None else 0

    async def delete_all(self) -> int | None:
        """Delete every entry of this schema version (SCAN, then UNLINK in batches)."""
        deleted = 0
        try:
            batch: list[bytes] = []
            async for name in self.client.scan_iter(match=f"{KEY_PREFIX}:*", count=1000):
                batch.append(name)
                if len(batch) >= 1000:
                    deleted += await self.client.unlink(*batch)
                    batch.clear()
            if batch:
                deleted += await self.client.unlink(*batch)
        except self._failures as exc:
            self._failed(exc)
            return None
        return deleted

    async def _call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            result = await function(*args, **kwargs)
        except self._failures as exc:
            self._failed(exc)
            return None
        if self.down_until is not None:
            logger.warning("cache: Redis reachable again")
            CACHE_REDIS_DOWN.set(0)
            self.down_until = None
        return result

    def _failed(self, exc: BaseException) -> None:
        if self.down_until is None:
            logger.warning(
                "cache: Redis unreachable (%s); serving from memory and the database, "
                "retrying in %.1fs",
                type(exc).__name__,
                self.retry_seconds,
            )
            CACHE_REDIS_DOWN.set(1)
        self.down_until = self.clock() + self.retry_seconds

    def _encode(self, value: bytes) -> bytes:
        if len(value) < self.compress_min_bytes:
            return _RAW + value
        started = time.perf_counter()
        packed = self._compressor.compress(value)
        stats = self.compression
        stats.seconds += time.perf_counter() - started
        stats.compressed += 1
        stats.bytes_in += len(value)
        stats.bytes_out += len(packed)
        return _ZSTD + packed

    def _decode(self, stored: bytes) -> bytes:
        if stored[:1] == _ZSTD:
            return self._decompressor.decompress(stored[1:])
        return stored[1:]
