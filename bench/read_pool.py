"""CPU per single-row read: one asyncpg connection, asyncpg's pool, and our ReadPool.

The same indexed SELECT on PostgreSQL, one at a time on uvloop (the loop `serve` runs), best of
five rounds. The bare connection is the floor; each pool's figure minus the floor is what taking
and returning a connection costs it. Supports the choice recorded in docs/dependencies.md.

Run: .venv/bin/python bench/read_pool.py [--reads 5000] [--database-url URL]
"""

import argparse
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import uvloop
from sqlalchemy import make_url

from linkedin_posts.pg_pool import ReadPool

SQL = "SELECT oid, relname FROM pg_class WHERE oid = $1"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


async def best_of(rounds: int, reads: int, read: Callable[[], Awaitable[Any]]) -> float:
    for _ in range(min(reads, 500)):  # warm-up: connections open, statements prepared
        await read()
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(reads):
            await read()
        best = min(best, (time.process_time() - started) / reads * 1e6)
    return best


async def _keep_session(_conn: Any) -> None:
    pass


async def main(args: argparse.Namespace) -> None:
    dsn = make_url(args.database_url).set(drivername="postgresql").render_as_string(False)
    conn = await asyncpg.connect(dsn)
    oid = await conn.fetchval("SELECT oid FROM pg_class WHERE relname = 'pg_class'")
    default_pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
    no_reset_pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4, reset=_keep_session)
    ours = ReadPool(dsn, size=4, timeout=10, max_lifetime=3600, server_settings={})

    async def bare() -> Any:
        return await conn.fetchrow(SQL, oid)

    def via(pool: Any, timeout: float | None) -> Callable[[], Awaitable[Any]]:
        async def read() -> Any:
            async with pool.acquire(timeout=timeout) as pooled:
                return await pooled.fetchrow(SQL, oid)

        return read

    async def via_ours() -> Any:
        return await ours.fetchrow(SQL, oid)

    candidates = [
        ("one connection, no pool (floor)", bare),
        ("asyncpg pool, defaults, acquire timeout", via(default_pool, 10.0)),
        ("asyncpg pool, defaults", via(default_pool, None)),
        ("asyncpg pool, no reset query", via(no_reset_pool, None)),
        ("ReadPool (ours), acquire timeout", via_ours),
    ]
    floor = 0.0
    print(f"{'':42} {'µs CPU/read':>12} {'over floor':>11}")
    for name, read in candidates:
        cost = await best_of(args.rounds, args.reads, read)
        floor = floor or cost
        print(f"{name:42} {cost:12.1f} {cost - floor:11.1f}")
    await ours.close()
    await default_pool.close()
    await no_reset_pool.close()
    await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    uvloop.run(main(parser.parse_args()))
