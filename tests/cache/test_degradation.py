"""Redis stopped, paused or never there: two API processes keep answering, then heal by themselves.

Each test runs its own redis-server on a free loopback port, so stopping or pausing it disturbs
nobody else. The cache's breaker and the rate limiter's retry after 0.2 s, and memory entries
kept while the invalidation channel is deaf live 0.5 s, so the tests wait little.
"""

import asyncio
import shutil
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import redis.asyncio as redis

from linkedin_posts.config import Settings
from tests.cache.two_apps import POSTS, ROOMY, Node, cached_on, post_url, two_apps
from tests.conftest import Account, make_settings, open_account
from tests.observability.test_health import TcpProxy, redis_server
from tests.ports import free_port

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="needs the redis-server binary"
)

RETRY_SECONDS = 0.2
DEAF_TTL_SECONDS = 0.5
PING_SECONDS = 0.2
PAUSE_MS = 3000
HEAL_WITHIN_SECONDS = 10.0
# For the polling itself and a busy CI machine; still well below the seconds a bug would show.
STALE_SLACK_SECONDS = 0.5
# What a reader may serve a replaced version for while Redis is gone: the short TTL of what it
# kept unaware, plus the slack. The polling gives up there, as the final assertion does.
STALE_BOUND = DEAF_TTL_SECONDS + STALE_SLACK_SECONDS
# During a pause the paused Redis holds A's invalidation; docs/operations.md promises that B
# learns of the write when it gets through: staleness lasts the pause, plus at most one retry
# interval. B often sees it sooner (its listener gives up after three silent pings and it reads
# past Redis), 2.5-2.95 s into a 3 s pause here, but a busy machine has made that path take
# until the pause's end (3.02 s in one CI run), so the test holds the documented bound.
STALE_AFTER_PAUSE_BOUND = PAUSE_MS / 1000 + RETRY_SECONDS + STALE_SLACK_SECONDS
OK = {200, 201, 204}


def settings_for(database_url: str, redis_url: str) -> Settings:
    return make_settings(
        database_url,
        redis_url=redis_url,
        cache_redis_retry_seconds=RETRY_SECONDS,
        ratelimit_redis_retry_seconds=RETRY_SECONDS,
        cache_deaf_ttl_seconds=DEAF_TTL_SECONDS,
        cache_ping_seconds=PING_SECONDS,
        **ROOMY,
    )


@dataclass
class Traffic:
    """Every answer's status and latency, as a client saw them."""

    statuses: list[int] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    async def send(self, request: Awaitable[httpx.Response]) -> httpx.Response:
        started = time.perf_counter()
        response = await request
        self.latencies.append(time.perf_counter() - started)
        self.statuses.append(response.status_code)
        return response

    async def round(self, a: Node, b: Node, account: Account, post_id: str, n: int) -> None:
        """Reads and writes of every kind through both apps."""
        url = post_url(post_id)
        writer, other = (a, b) if n % 2 else (b, a)
        for node in (a, b):
            await self.send(node.get(url, account))
            await self.send(node.get(POSTS, account))
        patched = await self.send(
            writer.client.patch(url, json={"body": f"round {n}"}, headers=account.headers)
        )
        # The writer itself never serves what it replaced.
        mine = await self.send(writer.get(url, account))
        assert mine.json()["version"] == patched.json()["version"]
        created = await self.send(
            other.client.post(POSTS, json={"body": f"new {n}"}, headers=account.headers)
        )
        await self.send(other.get(post_url(created.json()["id"]), account))
        await self.send(
            writer.client.delete(post_url(created.json()["id"]), headers=account.headers)
        )

    def assert_all_succeeded(self) -> None:
        assert self.statuses, "no request was sent"
        assert set(self.statuses) <= OK, sorted(set(self.statuses))

    def summary(self) -> str:
        worst = max(self.latencies) * 1000
        median = sorted(self.latencies)[len(self.latencies) // 2] * 1000
        errors = sum(status >= 500 for status in self.statuses)
        return (
            f"{len(self.statuses)} requests, {errors} 5xx, "
            f"latency median {median:.1f} ms, worst {worst:.1f} ms"
        )


async def time_until_seen(
    writer: Node, reader: Node, account: Account, post_id: str, body: str, bound: float
) -> float:
    """Write on `writer` while `reader` holds the post in memory; seconds until `reader` has it."""
    url = post_url(post_id)
    await cached_on(reader, account, url)
    version = (await writer.patch_post(account, post_id, body))["version"]
    acknowledged = time.perf_counter()
    while True:
        response = await reader.get(url, account)
        assert response.status_code == 200, response.text
        waited = time.perf_counter() - acknowledged
        if response.json()["version"] == version:
            return waited
        assert waited < bound, f"{reader.name} served the replaced version for {waited:.2f} s"
        await asyncio.sleep(0.01)


async def assert_heals(a: Node, b: Node, account: Account) -> float:
    """Wait until Redis is shared again; return how long that took.

    Healed means: a value A loaded reaches B through Redis (HIT-L2), and three writes in a row on
    A are each seen by B's very next read although B held the old version in memory.
    """
    started = time.perf_counter()
    deadline = started + HEAL_WITHIN_SECONDS
    while True:
        post = await a.create_post(account)
        assert (await a.get(post_url(post["id"]), account)).status_code == 200
        shared = await b.get(post_url(post["id"]), account)
        assert shared.status_code == 200
        if shared.headers["X-Cache"] == "HIT-L2":
            break
        assert time.perf_counter() < deadline, "HIT-L2 did not come back"
        await asyncio.sleep(0.05)
    in_a_row = 0
    while in_a_row < 3:
        assert time.perf_counter() < deadline, "B did not hear A's writes again"
        url = post_url(post["id"])
        await cached_on(b, account, url)
        version = (await a.patch_post(account, post["id"], f"healed {in_a_row}"))["version"]
        seen = (await b.get(url, account)).json()["version"]
        in_a_row = in_a_row + 1 if seen == version else 0
        if not in_a_row:
            await asyncio.sleep(0.05)
    return time.perf_counter() - started


async def test_redis_stopped_mid_test_then_restarted(
    migrated_url: str, tmp_path: Path, backend: str
) -> None:
    port = free_port()
    traffic = Traffic()
    async with two_apps(settings_for(migrated_url, f"redis://127.0.0.1:{port}/0")) as (a, b):
        async with redis_server(port, tmp_path):
            account = await open_account(a.client)
            post = await a.create_post(account)
            await cached_on(b, account, post_url(post["id"]))
            await traffic.round(a, b, account, post["id"], 0)

        # Redis is gone: every answer still succeeds, from memory and the database.
        for n in range(1, 11):
            await traffic.round(a, b, account, post["id"], n)
        stale = [
            await time_until_seen(writer, reader, account, post["id"], f"outage {n}", STALE_BOUND)
            for n, (writer, reader) in enumerate([(a, b), (b, a)] * 3)
        ]

        async with redis_server(port, tmp_path):
            healed_in = await assert_heals(a, b, account)
            await traffic.round(a, b, account, post["id"], 99)

    print(
        f"\n[{backend}] Redis stopped: {traffic.summary()}; other app stale for at most "
        f"{max(stale) * 1000:.0f} ms during the outage; healed {healed_in:.2f} s after restart"
    )
    traffic.assert_all_succeeded()
    # Deaf to the other's writes, each app keeps what it reads in memory only this long.
    assert max(stale) < STALE_BOUND


async def test_client_pause_mid_test(migrated_url: str, tmp_path: Path, backend: str) -> None:
    port = free_port()
    traffic = Traffic()
    async with (
        redis_server(port, tmp_path),
        two_apps(settings_for(migrated_url, f"redis://127.0.0.1:{port}/0")) as (a, b),
    ):
        account = await open_account(a.client)
        busy = await a.create_post(account)
        watched = await a.create_post(account)
        url = post_url(watched["id"])
        await traffic.round(a, b, account, busy["id"], 0)
        await cached_on(b, account, url)

        async with redis.Redis(host="127.0.0.1", port=port) as pauser:
            await pauser.execute_command("CLIENT", "PAUSE", str(PAUSE_MS), "ALL")  # type: ignore[no-untyped-call]
        paused_at = time.perf_counter()
        # A write while every Redis command hangs: acknowledged all the same.
        patched = await traffic.send(
            a.client.patch(url, json={"body": "during the pause"}, headers=account.headers)
        )
        version = patched.json()["version"]
        acknowledged = time.perf_counter()
        seen_after: float | None = None
        n = 1
        while time.perf_counter() < paused_at + PAUSE_MS / 1000 + 0.5 or seen_after is None:
            read = await traffic.send(b.get(url, account))
            if seen_after is None and read.json()["version"] == version:
                seen_after = time.perf_counter() - acknowledged
            waited = time.perf_counter() - acknowledged
            assert seen_after is not None or waited < STALE_AFTER_PAUSE_BOUND, (
                f"B still served the replaced version {waited:.2f} s after the write"
            )
            await traffic.round(a, b, account, busy["id"], n)
            n += 1
        healed_in = await assert_heals(a, b, account)

    assert seen_after is not None
    print(
        f"\n[{backend}] CLIENT PAUSE {PAUSE_MS} ms: {traffic.summary()}; B first served A's "
        f"write {seen_after * 1000:.0f} ms after it was acknowledged; healed {healed_in:.2f} s "
        "after the pause"
    )
    traffic.assert_all_succeeded()


async def test_redis_refusing_from_the_start(migrated_url: str, backend: str) -> None:
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    traffic = Traffic()
    async with two_apps(settings_for(migrated_url, nowhere)) as (a, b):
        account = await open_account(a.client)
        post = await a.create_post(account)
        url = post_url(post["id"])
        levels = [(await traffic.send(a.get(url, account))).headers["X-Cache"] for _ in range(2)]
        for n in range(10):
            await traffic.round(a, b, account, post["id"], n)
        stale = [
            await time_until_seen(writer, reader, account, post["id"], f"alone {n}", STALE_BOUND)
            for n, (writer, reader) in enumerate([(a, b), (b, a)] * 3)
        ]

    print(
        f"\n[{backend}] no Redis at all: {traffic.summary()}; other app stale for at most "
        f"{max(stale) * 1000:.0f} ms"
    )
    traffic.assert_all_succeeded()
    assert levels == ["MISS", "HIT-L1"]
    assert max(stale) < STALE_BOUND


async def test_a_write_cut_off_from_redis_reaches_the_others_when_its_writer_reconnects(
    migrated_url: str, tmp_path: Path, backend: str
) -> None:
    """Only A loses Redis (a partition between A and Redis): B still hears the channel.

    The write succeeds (the database has it); B cannot learn of it until A reaches Redis
    again, then within one retry interval (documented in docs/operations.md, "The cache").
    """
    port = free_port()
    proxy = TcpProxy("127.0.0.1", port)
    await proxy.start()
    direct = settings_for(migrated_url, f"redis://127.0.0.1:{port}/0")
    through_proxy = settings_for(migrated_url, f"redis://127.0.0.1:{proxy.port}/0")
    cut_for = 2.0
    try:
        async with redis_server(port, tmp_path), two_apps(through_proxy, direct) as (a, b):
            account = await open_account(a.client)
            post = await a.create_post(account)
            url = post_url(post["id"])
            await cached_on(b, account, url)

            await proxy.stop()
            version = (await a.patch_post(account, post["id"], "while cut off"))["version"]
            acknowledged = time.perf_counter()
            while (await b.get(url, account)).json()["version"] != version:
                if proxy.running is False and time.perf_counter() - acknowledged > cut_for:
                    await proxy.start()
                assert time.perf_counter() - acknowledged < cut_for + HEAL_WITHIN_SECONDS
                await asyncio.sleep(0.02)
            stale_for = time.perf_counter() - acknowledged
    finally:
        if proxy.running:
            await proxy.stop()

    print(f"\n[{backend}] writer cut off from Redis: B stale for {stale_for * 1000:.0f} ms")
    assert cut_for <= stale_for < cut_for + RETRY_SECONDS + 1.0 + STALE_SLACK_SECONDS
