"""The hook for results computed from content (analyses, generations): keyed by a hash of the
inputs, so the same draft is analysed once, and kept through the tiers, plus an optional L3 on
disk for the embedded shape, where results outlive a restart.

    result = await state.content_cache.get_or_compute("analysis", (language, text), compute)

A result is any JSON value, or with `codec=codecs.RESPONSE` the JSON body itself, sent as kept.

Never invalidated: the same inputs give the same result; the TTLs retire old entries. Whatever
goes into the result must therefore be in `parts` (model, prompt, options, schema version).
"""

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from linkedin_posts.cache import codecs, keys
from linkedin_posts.cache.memory import MISSING
from linkedin_posts.cache.tiered import Codec, TieredCache
from linkedin_posts.config import Settings


class DiskLevel:
    """L3: diskcache (SQLite plus files) in a directory, bounded in bytes, LRU.

    Its calls are synchronous; a read or write of a small value costs tens of microseconds,
    less than handing it to a thread would.
    """

    def __init__(self, directory: str, *, max_bytes: int, ttl_seconds: float) -> None:
        import diskcache  # type: ignore[import-untyped]  # only when L3 is configured

        self.store = diskcache.Cache(
            directory, size_limit=max_bytes, eviction_policy="least-recently-used"
        )
        self.ttl_seconds = ttl_seconds
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> bytes | None:
        value = self.store.get(key)
        if value is None:
            self.misses += 1
            return None
        self.hits += 1
        return bytes(value)

    def set(self, key: str, value: bytes) -> None:
        self.store.set(key, value, expire=self.ttl_seconds)

    def close(self) -> None:
        self.store.close()


class ContentCache:
    def __init__(self, tiered: TieredCache | None, disk: DiskLevel | None) -> None:
        self.tiered = tiered
        self.disk = disk

    async def get_or_compute(
        self,
        kind: str,
        parts: Sequence[str],
        compute: Callable[[], Awaitable[Any]],
        codec: Codec[Any] = codecs.JSON,
        *,
        keep: bool = True,
    ) -> Any:
        """The result for these inputs, computed at most once per key.

        `keep=False`, for bulk work: a result already kept is used, a new one is not kept (nor
        looked for in Redis, where a bulk job's new texts never are): ten thousand analyses of
        a job would push what interactive users read out of the caches, and the job keeps its
        results in its own rows.
        """
        key = keys.content(kind, *parts)

        async def load() -> Any:
            if self.disk is not None:
                stored = self.disk.get(key)
                if stored is not None:
                    return codec.loads(stored)
            result = await compute()
            if self.disk is not None and keep:
                self.disk.set(key, codec.dumps(result))
            return result

        if self.tiered is None:
            return await load()
        if not keep:
            value = self.tiered.memory.get(key)
            return await load() if value is MISSING else value
        value, _ = await self.tiered.get_or_load(key, load, codec)
        return value

    def stats(self) -> dict[str, Any] | None:
        if self.disk is None:
            return None
        total = self.disk.hits + self.disk.misses
        return {
            "hits": self.disk.hits,
            "misses": self.disk.misses,
            "hit_ratio": None if not total else round(self.disk.hits / total, 4),
            "entries": len(self.disk.store),
            "bytes": self.disk.store.volume(),
        }

    def close(self) -> None:
        if self.disk is not None:
            self.disk.close()


def open_content_cache(settings: Settings, tiered: TieredCache | None) -> ContentCache:
    disk = None
    if settings.cache_enabled and settings.cache_disk_dir:
        disk = DiskLevel(
            settings.cache_disk_dir,
            max_bytes=settings.cache_disk_max_bytes,
            ttl_seconds=settings.cache_l2_ttl_seconds,
        )
    return ContentCache(tiered, disk)
