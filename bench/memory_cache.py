"""L1 candidates: our MemoryCache against cachetools, on the operations a request makes.

    .venv/bin/python bench/memory_cache.py

Both full (50,000 entries), both with a TTL: a hit (lookup, expiry check, recency update), and a
set that evicts one entry (a miss filled). cachetools' TTLCache is its LRU with expiry; its
LFUCache has no TTL, and finds the entry to evict with Counter.most_common(1), a scan of every
entry. Best of 5 rounds, microseconds per operation.
"""

import random
import time
import timeit
from collections.abc import Callable
from typing import Any

import cachetools

from linkedin_posts.cache.memory import MemoryCache

ENTRIES = 50_000
ROUNDS = 5


def best(operation: Callable[[], Any], number: int) -> float:
    return min(timeit.repeat(operation, number=number, repeat=ROUNDS)) / number * 1e6


def ours(policy: str) -> tuple[Callable[[str], Any], Callable[[str, Any], None]]:
    cache = MemoryCache(
        max_entries=ENTRIES,
        max_bytes=1 << 40,
        ttl_seconds=300,
        policy=policy,  # type: ignore[arg-type]
    )

    def put(key: str, value: Any) -> None:
        cache.set(key, value, size=300)

    return cache.get, put


def theirs(kind: str) -> tuple[Callable[[str], Any], Callable[[str, Any], None]]:
    cache: Any = (
        cachetools.TTLCache(maxsize=ENTRIES, ttl=300, timer=time.monotonic)
        if kind == "ttl"
        else cachetools.LFUCache(maxsize=ENTRIES)
    )

    def put(key: str, value: Any) -> None:
        cache[key] = value

    return cache.get, put


def measure(name: str, get: Callable[[str], Any], put: Callable[[str, Any], None]) -> None:
    keys = [f"post:{n}" for n in range(ENTRIES)]
    for key in keys:
        put(key, b"x" * 300)
    rng = random.Random(1)
    hot = [rng.choice(keys) for _ in range(10_000)]
    it = iter(hot * 1000)
    hit = best(lambda: get(next(it)), 10_000)
    fresh = (f"new:{n}" for n in range(10**9))
    evicting = best(lambda: put(next(fresh), b"x" * 300), 200 if "LFU" in name else 10_000)
    print(f"| {name} | {hit:.2f} | {evicting:.2f} |")


def main() -> None:
    print(f"{ENTRIES} entries; µs per operation, best of {ROUNDS}\n")
    print("| cache | hit | set that evicts |\n|---|---:|---:|")
    measure("MemoryCache, LRU + TTL (ours)", *ours("lru"))
    measure("cachetools.TTLCache (LRU + TTL)", *theirs("ttl"))
    measure("MemoryCache, LFU + TTL (ours)", *ours("lfu"))
    measure("cachetools.LFUCache (no TTL)", *theirs("lfu"))


if __name__ == "__main__":
    main()
