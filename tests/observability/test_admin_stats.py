"""GET /v1/admin/stats: figures of the answering process, for administrators only."""

import asyncio
import os
import platform
import time

import httpx
import pytest
from fastapi import FastAPI

import linkedin_posts
from linkedin_posts.config import Settings
from linkedin_posts.observability.loop_lag import LoopLagMonitor
from tests.conftest import Account, assert_problem, open_admin

STATS = "/v1/admin/stats"


@pytest.fixture
async def admin(app: FastAPI, client: httpx.AsyncClient) -> Account:
    return await open_admin(app, client)


def block_the_loop(seconds: float) -> None:
    # Blocking on purpose: this is the stall the monitor exists to reveal.
    time.sleep(seconds)


async def test_anonymous_gets_401(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(STATS), 401, "not_authenticated")


async def test_a_member_gets_403_admin_required(
    client: httpx.AsyncClient, account: Account
) -> None:
    assert_problem(await client.get(STATS, headers=account.headers), 403, "admin_required")


async def test_an_admin_sees_the_figures_of_this_process(
    client: httpx.AsyncClient, admin: Account, settings: Settings, backend: str
) -> None:
    response = await client.get(STATS, headers=admin.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["version"] == linkedin_posts.__version__
    assert body["python_version"] == platform.python_version()
    assert body["pid"] == os.getpid()
    assert body["uptime_seconds"] >= 0
    assert body["rss_bytes"] > 0
    assert body["threads"] >= 1
    assert body["open_fds"] > 0
    assert body["cpu"]["user_seconds"] > 0
    assert body["cpu"]["percent_since_start"] >= 0
    assert body["event_loop_lag"]["last_ms"] >= 0
    assert body["event_loop_lag"]["max_ms"] >= body["event_loop_lag"]["last_ms"]
    assert [g["generation"] for g in body["gc"]] == [0, 1, 2]
    assert all(g["collections"] >= 0 and g["count"] >= 0 for g in body["gc"])
    pool = body["database_pool"]
    assert pool["size"] == settings.db_pool_size
    # Registering the admin used a connection, which is back in the pool.
    assert pool["checked_out"] == 0
    assert 1 <= pool["checked_in"] <= settings.db_pool_size
    assert pool["overflow"] == 0
    read_pool = body["database_read_pool"]
    if backend == "sqlite":
        assert read_pool is None
    else:
        # The read that looked the admin up is done, and its connection stays open.
        assert read_pool == {"size": settings.db_read_pool_size, "in_use": 0, "idle": 1}


async def test_a_blocked_event_loop_shows_as_lag(client: httpx.AsyncClient, admin: Account) -> None:
    # Longer than the monitor's interval, so its timer falls due during the stall.
    block_the_loop(LoopLagMonitor().interval + 0.3)

    deadline = time.monotonic() + 5
    while True:
        lag = (await client.get(STATS, headers=admin.headers)).json()["event_loop_lag"]
        if lag["max_ms"] >= 250:
            break
        assert time.monotonic() < deadline, f"no lag recorded: {lag}"
        await asyncio.sleep(0.05)


async def test_the_monitor_stops_cleanly_and_may_be_stopped_twice() -> None:
    monitor = LoopLagMonitor(interval=0.01, window=1)
    monitor.start()
    await asyncio.sleep(0)  # let the monitor arm its first timer before the stall
    block_the_loop(0.05)
    deadline = time.monotonic() + 5
    while monitor.max_lag_seconds < 0.03:
        assert time.monotonic() < deadline, "no lag recorded"
        await asyncio.sleep(0.01)
    await monitor.stop()
    await monitor.stop()
    assert monitor.max_lag_seconds >= 0.03
