"""Cost of one rate-limit decision with its headers: limits' own strategy against ours.

A decision the client can be told about needs the count and the window's end. limits'
FixedWindowRateLimiter answers with `hit` and then `get_window_stats` (on Redis: the Lua
increment, then GET and TTL: three round trips). Ours (ratelimit/windows.py) reads both from
one increment of limits' storage. In memory, limits' MemoryStorage is compared with our
LocalCounters, with few and with many clients' keys in the store.

    .venv/bin/python bench/ratelimit.py [--redis-url redis://127.0.0.1:6379/0] [--n 20000]

Prints microseconds per decision (wall time, one decision and one loop turn at a time, uvloop).
"""

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import redis.asyncio as redis
import uvloop
from limits import parse
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter

from linkedin_posts.ratelimit import windows
from linkedin_posts.ratelimit.local import LocalCounters
from linkedin_posts.ratelimit.store import redis_counters
from linkedin_posts.ratelimit.windows import Counters, Quota

ITEM = parse("1000000/minute")
QUOTA = Quota.parse("1000000/minute")


async def per_call_us(n: int, call: Callable[[], Awaitable[object]]) -> float:
    # One turn of the event loop per decision, as between the requests of a server: the tasks
    # a storage starts get to run.
    for _ in range(min(n // 10, 1000)):
        await call()
        await asyncio.sleep(0)
    start = time.perf_counter()
    for _ in range(n):
        await call()
        await asyncio.sleep(0)
    return (time.perf_counter() - start) / n * 1e6


def limits_decision(
    limiter: FixedWindowRateLimiter, identity: str
) -> Callable[[], Awaitable[object]]:
    async def call() -> object:
        allowed = await limiter.hit(ITEM, identity)
        return allowed, await limiter.get_window_stats(ITEM, identity)

    return call


def our_decision(counters: Counters, identity: str) -> Callable[[], Awaitable[object]]:
    async def call() -> object:
        return await windows.hit(counters, QUOTA, identity, time.time())

    return call


async def fill(counters: Counters, keys: int) -> None:
    for n in range(keys):
        await counters.incr(f"other-{n}", 60)


async def main(args: argparse.Namespace) -> None:
    rows: list[tuple[str, float]] = []
    for keys in (0, args.keys):
        memory = MemoryStorage()
        await fill(memory, keys)
        local = LocalCounters()
        await fill(local, keys)
        rows.append(
            (
                f"memory, {keys} other keys: limits MemoryStorage, hit + get_window_stats",
                await per_call_us(args.n, limits_decision(FixedWindowRateLimiter(memory), "me")),
            )
        )
        rows.append(
            (
                f"memory, {keys} other keys: windows.hit on LocalCounters",
                await per_call_us(args.n, our_decision(local, "me")),
            )
        )
    client = redis.Redis.from_url(args.redis_url)
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    storage = RedisStorage(
        "async+redis://",
        implementation="redispy",
        connection_pool=client.connection_pool,  # type: ignore[arg-type]  # passed to redis-py
    )
    rows.append(
        (
            "redis: limits FixedWindowRateLimiter, hit + get_window_stats",
            await per_call_us(args.n, limits_decision(FixedWindowRateLimiter(storage), prefix)),
        )
    )
    rows.append(
        (
            "redis: windows.hit on limits' RedisStorage.incr",
            await per_call_us(args.n, our_decision(redis_counters(client), prefix)),
        )
    )
    await client.aclose()
    print("| Decision | µs |\n|---|---:|")
    for name, micros in rows:
        print(f"| {name} | {micros:.1f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--keys", type=int, default=10000, help="other clients' keys")
    uvloop.run(main(parser.parse_args()))
