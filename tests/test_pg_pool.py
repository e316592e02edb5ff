"""The reads' own asyncpg pool: bounded, self-healing, and never reusing a connection in doubt."""

import asyncio
import threading
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import make_url

from linkedin_posts.pg_pool import ReadPool

PID = "SELECT pg_backend_pid() AS pid"


@pytest.fixture(scope="module")
def dsn(backend: str, migrated_url: str) -> str:
    if backend != "postgresql":
        pytest.skip("the read pool is PostgreSQL's; SQLite reads through SQLAlchemy")
    return make_url(migrated_url).set(drivername="postgresql").render_as_string(False)


@pytest.fixture
async def pool(dsn: str) -> AsyncIterator[ReadPool]:
    pool = ReadPool(dsn, size=2, timeout=5, max_lifetime=3600, server_settings={})
    yield pool
    await pool.close()


async def terminate(dsn: str, pid: int) -> None:
    """End a backend as a restart or failover would, and wait until it is gone."""
    admin = await asyncpg.connect(dsn)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
        async with asyncio.timeout(5):
            while await admin.fetchval(  # noqa: ASYNC110 (the server has no event to wait on)
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid
            ):
                await asyncio.sleep(0.01)
    finally:
        await admin.close()


def terminate_unseen(dsn: str, pid: int) -> None:
    """Terminate from another thread while this event loop is blocked, so the pool cannot have
    read the server's goodbye before its next statement."""
    thread = threading.Thread(target=asyncio.run, args=(terminate(dsn, pid),))
    thread.start()
    thread.join()


async def until_in_use(pool: ReadPool) -> None:
    async with asyncio.timeout(5):
        while pool.in_use == 0:  # noqa: ASYNC110 (the pool has no event to wait on)
            await asyncio.sleep(0.01)


async def test_a_connection_is_reused_and_json_is_decoded(pool: ReadPool) -> None:
    first = await pool.fetchrow(PID)
    row = await pool.fetchrow('SELECT \'["ai", "growth"]\'::json AS tags, pg_backend_pid() AS pid')

    assert row["tags"] == ["ai", "growth"]
    assert row["pid"] == first["pid"]
    assert (pool.in_use, pool.idle) == (0, 1)


@pytest.mark.parametrize("seen", [True, False], ids=["close seen", "close unseen"])
async def test_a_connection_the_server_closed_while_idle_costs_no_failed_read(
    pool: ReadPool, dsn: str, seen: bool
) -> None:
    before = await pool.fetchrow(PID)
    if seen:
        await terminate(dsn, before["pid"])
    else:
        terminate_unseen(dsn, before["pid"])

    after = await pool.fetchrow(PID)

    assert after["pid"] != before["pid"]
    assert (pool.in_use, pool.idle) == (0, 1)


async def test_callers_beyond_the_size_wait_and_time_out(dsn: str) -> None:
    pool = ReadPool(dsn, size=1, timeout=0.2, max_lifetime=3600, server_settings={})
    try:
        slow = asyncio.create_task(pool.fetchrow("SELECT pg_sleep(1) AS slept"))
        await until_in_use(pool)
        with pytest.raises(TimeoutError):
            await pool.fetchrow(PID)
        assert (await slow) is not None
        assert (await pool.fetchrow("SELECT 1 AS one"))["one"] == 1
    finally:
        await pool.close()


async def test_a_read_cancelled_mid_statement_leaves_no_busy_connection(
    pool: ReadPool, dsn: str
) -> None:
    pid = (await pool.fetchrow(PID))["pid"]
    stuck = asyncio.create_task(pool.fetchrow("SELECT pg_sleep(30)"))
    await until_in_use(pool)
    stuck.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stuck

    # The connection that ran it was closed, not put back mid-statement.
    assert (pool.in_use, pool.idle) == (0, 0)
    async with asyncio.timeout(5):
        assert (await pool.fetchrow(PID))["pid"] != pid


async def test_connections_older_than_the_lifetime_are_replaced(dsn: str) -> None:
    pool = ReadPool(dsn, size=1, timeout=5, max_lifetime=0, server_settings={})
    try:
        first = await pool.fetchrow(PID)
        second = await pool.fetchrow(PID)
        assert first["pid"] != second["pid"]
    finally:
        await pool.close()


async def test_a_closed_pool_refuses_reads_and_closes_its_connections(
    pool: ReadPool, dsn: str
) -> None:
    pid = (await pool.fetchrow(PID))["pid"]
    await pool.close()

    with pytest.raises(ConnectionError):
        await pool.fetchrow(PID)
    admin = await asyncpg.connect(dsn)
    try:
        async with asyncio.timeout(5):
            while await admin.fetchval(  # noqa: ASYNC110 (the server has no event to wait on)
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid
            ):
                await asyncio.sleep(0.01)
    finally:
        await admin.close()
