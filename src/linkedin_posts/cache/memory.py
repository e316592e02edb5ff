"""L1: this process's memory, bounded by entries and by bytes, with a TTL per entry.

Our own rather than cachetools: its caches bound one quantity (entries, or a `getsizeof` sum,
not both), its LFUCache has no TTL, and its TTLCache (LRU with expiry) took 2.3x our time per hit
and 3.7x per evicting set (bench/memory_cache.py, docs/dependencies.md). Both policies here evict
in O(1).
"""

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Policy = Literal["lru", "lfu"]
MISSING: Any = object()


@dataclass(slots=True)
class _Entry:
    value: Any
    size: int
    expires_at: float


class _Order(Protocol):
    def add(self, key: Hashable) -> None: ...
    def touch(self, key: Hashable) -> None: ...
    def remove(self, key: Hashable) -> None: ...
    def victim(self) -> Hashable: ...
    def clear(self) -> None: ...


class _LeastRecentlyUsed:
    def __init__(self) -> None:
        self._keys: OrderedDict[Hashable, None] = OrderedDict()

    def add(self, key: Hashable) -> None:
        self._keys[key] = None

    def touch(self, key: Hashable) -> None:
        self._keys.move_to_end(key)

    def remove(self, key: Hashable) -> None:
        del self._keys[key]

    def victim(self) -> Hashable:
        return next(iter(self._keys))

    def clear(self) -> None:
        self._keys.clear()


class _LeastFrequentlyUsed:
    """Keys in buckets by use count; the victim is the oldest key of the lowest bucket."""

    def __init__(self) -> None:
        self._count: dict[Hashable, int] = {}
        self._buckets: dict[int, OrderedDict[Hashable, None]] = {}
        self._lowest = 0

    def add(self, key: Hashable) -> None:
        self._count[key] = 1
        self._buckets.setdefault(1, OrderedDict())[key] = None
        self._lowest = 1

    def touch(self, key: Hashable) -> None:
        count = self._count[key]
        self._unlink(key, count)
        self._count[key] = count + 1
        self._buckets.setdefault(count + 1, OrderedDict())[key] = None
        if self._lowest == count and count not in self._buckets:
            self._lowest = count + 1

    def remove(self, key: Hashable) -> None:
        self._unlink(key, self._count.pop(key))

    def victim(self) -> Hashable:
        while self._lowest not in self._buckets:  # only after removals emptied the lowest
            self._lowest = min(self._buckets)
        return next(iter(self._buckets[self._lowest]))

    def clear(self) -> None:
        self._count.clear()
        self._buckets.clear()
        self._lowest = 0

    def _unlink(self, key: Hashable, count: int) -> None:
        bucket = self._buckets[count]
        del bucket[key]
        if not bucket:
            del self._buckets[count]


class MemoryCache:
    """A dict with bounds. Values are kept as given: callers store immutable ones."""

    def __init__(
        self,
        *,
        max_entries: int,
        max_bytes: int,
        ttl_seconds: float,
        policy: Policy = "lru",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.ttl_seconds = ttl_seconds
        self.policy = policy
        self.clock = clock
        self._entries: dict[Hashable, _Entry] = {}
        self._order: _Order = _LeastRecentlyUsed() if policy == "lru" else _LeastFrequentlyUsed()
        self.bytes = 0
        self.evictions = 0
        self.expirations = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> Any:
        """The value, or MISSING when absent or expired."""
        entry = self._entries.get(key)
        if entry is None:
            return MISSING
        if entry.expires_at <= self.clock():
            self.expirations += 1
            self._drop(key, entry)
            return MISSING
        self._order.touch(key)
        return entry.value

    def set(self, key: Hashable, value: Any, *, size: int, ttl: float | None = None) -> None:
        old = self._entries.get(key)
        if old is not None:
            self._drop(key, old)  # replaced, even by a value too big to keep
        if size > self.max_bytes:
            return  # would evict everything and still not fit
        ttl = self.ttl_seconds if ttl is None else min(ttl, self.ttl_seconds)
        while self._entries and (
            len(self._entries) >= self.max_entries or self.bytes + size > self.max_bytes
        ):
            victim = self._order.victim()
            self._drop(victim, self._entries[victim])
            self.evictions += 1
        self._entries[key] = _Entry(value, size, self.clock() + ttl)
        self._order.add(key)
        self.bytes += size

    def delete(self, key: Hashable) -> bool:
        entry = self._entries.get(key)
        if entry is None:
            return False
        self._drop(key, entry)
        return True

    def clear(self) -> int:
        dropped = len(self._entries)
        self._entries.clear()
        self._order.clear()
        self.bytes = 0
        return dropped

    def _drop(self, key: Hashable, entry: _Entry) -> None:
        del self._entries[key]
        self._order.remove(key)
        self.bytes -= entry.size
