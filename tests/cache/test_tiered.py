"""The read-through cache: levels reported as X-Cache says them, one load per cold key however
many callers ask (and whoever gives up), loads that overlap an invalidation are not kept, and
two caches on one Redis ("two processes") share L2, leases and invalidations.
"""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from linkedin_posts.cache import open_cache
from linkedin_posts.cache.codecs import TEXT
from linkedin_posts.cache.memory import MISSING, MemoryCache
from linkedin_posts.cache.tiered import Level, TieredCache
from linkedin_posts.redis_client import create_redis
from tests.cache.test_shared import REDIS_URL, needs_redis, settings_for


class Loader:
    """The database behind the cache: counts its loads; `gate` holds them until it is set."""

    def __init__(self, value: str | None = "value", *, held: bool = False) -> None:
        self.value = value
        self.calls = 0
        self.started = asyncio.Event()
        self.gate = asyncio.Event()
        if not held:
            self.gate.set()

    async def __call__(self) -> str | None:
        self.calls += 1
        value = self.value  # what the query sees when it runs, before it returns
        self.started.set()
        await self.gate.wait()
        return value


def memory_only() -> TieredCache:
    return TieredCache(MemoryCache(max_entries=100, max_bytes=100_000, ttl_seconds=60.0))


async def eventually(condition: Callable[[], bool], *, within: float = 2.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "the condition did not become true in time"
        await asyncio.sleep(0.01)


# --- one process --------------------------------------------------------------------------------


async def test_a_load_is_a_miss_then_a_memory_hit() -> None:
    cache, load = memory_only(), Loader("v")
    assert await cache.get_or_load("k", load, TEXT) == ("v", Level.MISS)
    assert await cache.get_or_load("k", load, TEXT) == ("v", Level.L1)
    assert load.calls == 1


async def test_nothing_found_is_not_cached() -> None:
    cache, load = memory_only(), Loader(None)
    assert await cache.get_or_load("k", load, TEXT) == (None, Level.MISS)
    assert await cache.get_or_load("k", load, TEXT) == (None, Level.MISS)
    assert load.calls == 2


async def test_concurrent_misses_on_one_key_share_one_load() -> None:
    cache, load = memory_only(), Loader("v", held=True)
    callers = [asyncio.create_task(cache.get_or_load("k", load, TEXT)) for _ in range(200)]
    await load.started.wait()
    load.gate.set()
    assert await asyncio.gather(*callers) == [("v", Level.MISS)] * 200
    assert load.calls == 1


async def test_a_cancelled_caller_does_not_cancel_the_load_the_others_share() -> None:
    cache, load = memory_only(), Loader("v", held=True)
    leaving = asyncio.create_task(cache.get_or_load("k", load, TEXT))
    staying = asyncio.create_task(cache.get_or_load("k", load, TEXT))
    await load.started.wait()
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    load.gate.set()

    assert await staying == ("v", Level.MISS)
    assert await cache.get_or_load("k", load, TEXT) == ("v", Level.L1)
    assert load.calls == 1


async def test_a_failed_load_reaches_every_caller_and_the_next_call_tries_again() -> None:
    cache, calls = memory_only(), []

    async def failing() -> str:
        calls.append(1)
        await asyncio.sleep(0)
        raise RuntimeError("database gone")

    callers = [cache.get_or_load("k", failing, TEXT) for _ in range(3)]
    results = await asyncio.gather(*callers, return_exceptions=True)
    assert [type(result) for result in results] == [RuntimeError] * 3
    assert await cache.get_or_load("k", Loader("v"), TEXT) == ("v", Level.MISS)
    assert len(calls) == 1


async def test_a_load_overlapped_by_an_invalidation_is_returned_but_not_kept() -> None:
    cache, load = memory_only(), Loader("old", held=True)
    reader = asyncio.create_task(cache.get_or_load("k", load, TEXT))
    await load.started.wait()
    load.value = "new"
    await cache.invalidate(["k"])  # the write commits while the reader's query is out
    load.gate.set()

    assert await reader == ("old", Level.MISS)
    assert await cache.get_or_load("k", load, TEXT) == ("new", Level.MISS)
    assert load.calls == 2


async def test_a_read_that_starts_after_an_invalidation_sees_the_write() -> None:
    cache, load = memory_only(), Loader("old", held=True)
    before = asyncio.create_task(cache.get_or_load("k", load, TEXT))
    await load.started.wait()
    load.value = "new"
    await cache.invalidate(["k"])  # the write has committed and returned to its client...
    after = asyncio.create_task(cache.get_or_load("k", load, TEXT))  # ...who reads it back
    await asyncio.sleep(0)  # let `after` look up its flight before the old load ends
    load.gate.set()

    assert await before == ("old", Level.MISS)
    assert await after == ("new", Level.MISS)


async def test_invalidate_drops_the_key_from_memory() -> None:
    cache, load = memory_only(), Loader("v")
    await cache.get_or_load("k", load, TEXT)
    await cache.get_or_load("other", load, TEXT)
    await cache.invalidate(["k"])

    assert cache.memory.get("k") is MISSING
    assert cache.memory.get("other") == "v"
    assert await cache.get_or_load("k", load, TEXT) == ("v", Level.MISS)
    assert load.calls == 3


@pytest.mark.parametrize("event", ["on_deaf", "on_hearing"])
async def test_losing_or_regaining_the_channel_clears_memory(event: str) -> None:
    cache, load = memory_only(), Loader("v")
    await cache.get_or_load("k", load, TEXT)
    getattr(cache, event)()
    assert await cache.get_or_load("k", load, TEXT) == ("v", Level.MISS)
    assert load.calls == 2


# --- two processes on one Redis -----------------------------------------------------------------


@asynccontextmanager
async def process() -> AsyncIterator[TieredCache]:
    """The cache one API process builds, started, and hearing the invalidation channel."""
    assert REDIS_URL
    settings = settings_for(REDIS_URL).model_copy(
        update={"cache_redis_timeout_seconds": 0.5, "cache_lease_wait_seconds": 5.0}
    )
    app_client = create_redis(settings)
    cache = open_cache(settings, app_client)
    assert cache is not None
    assert cache.bus is not None
    cache.start()
    try:
        bus = cache.bus
        await eventually(lambda: bus.hearing, within=5.0)
        yield cache
    finally:
        await cache.stop()
        assert app_client is not None
        await app_client.aclose()


def refuse() -> Callable[[], Awaitable[str]]:
    async def load() -> str:
        raise AssertionError("this process should not have loaded")

    return load


@needs_redis
async def test_a_second_process_reads_the_first_ones_value_from_redis() -> None:
    key = f"test:{uuid.uuid4().hex}"
    async with process() as a, process() as b:
        assert await a.get_or_load(key, Loader("v"), TEXT) == ("v", Level.MISS)
        assert await b.get_or_load(key, refuse(), TEXT) == ("v", Level.L2)
        assert await b.get_or_load(key, refuse(), TEXT) == ("v", Level.L1)


@needs_redis
async def test_an_invalidation_in_one_process_reaches_the_others_memory() -> None:
    key = f"test:{uuid.uuid4().hex}"
    async with process() as a, process() as b:
        await a.get_or_load(key, Loader("old"), TEXT)
        assert await b.get_or_load(key, refuse(), TEXT) == ("old", Level.L2)
        assert b.memory.get(key) == "old"

        await a.invalidate([key])
        # Not eventually: the write returns once the other process has acknowledged it.
        assert b.memory.get(key) is MISSING
        assert a.counts.ack_timeouts == 0
        assert await b.get_or_load(key, Loader("new"), TEXT) == ("new", Level.MISS)


@needs_redis
async def test_a_process_waits_for_the_lease_holders_value_instead_of_loading() -> None:
    key = f"test:{uuid.uuid4().hex}"
    async with process() as a, process() as b:
        holder = Loader("from a", held=True)
        loading = asyncio.create_task(a.get_or_load(key, holder, TEXT))
        await holder.started.wait()  # a holds the lease in Redis while its query runs

        waiting = asyncio.create_task(b.get_or_load(key, refuse(), TEXT))
        await eventually(lambda: b.counts.lease_waits == 1)
        holder.gate.set()

        assert await loading == ("from a", Level.MISS)
        assert await waiting == ("from a", Level.L2)
