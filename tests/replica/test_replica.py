"""LP_DATABASE_READ_URL against a real primary and streaming replica (conftest.py makes them).

To tell which server answered, replay on the replica is paused and a row is changed on the
primary behind the API's back (as an operator's UPDATE would): an answer with the old value can
only have come from the replica.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from linkedin_posts.config import Settings
from linkedin_posts.main import create_app
from tests.conftest import REDIS_URL, Account, make_settings, open_account, serving
from tests.observability.test_metrics import scrape
from tests.ports import free_port
from tests.replica.conftest import Servers

POSTS = "/v1/posts"
# The metric sample of reads the replica served.
ON_REPLICA = ("lp_db_read_routes_total", (("database", "replica"), ("reason", "lag_tolerant")))
# Short, to keep the module quick; the default is 5 s.
WINDOW = 2.0
ROOMY: dict[str, object] = {
    "ratelimit_read": "1000000/minute",
    "ratelimit_write": "1000000/minute",
    "ratelimit_auth": "1000000/minute",
    "db_pool_size": 3,
    "db_read_pool_size": 2,
}


def replica_settings(servers: Servers, **overrides: object) -> Settings:
    return make_settings(
        servers.primary_url,
        **{
            "redis_url": REDIS_URL,
            "database_read_url": servers.replica_url,
            "database_read_after_write_seconds": WINDOW,
            **ROOMY,
            **overrides,
        },
    )


@asynccontextmanager
async def another_process(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a second app on the same servers and Redis, like a second API process
    behind the load balancer; the first app's `serving` empties the tables."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def create_post(client: httpx.AsyncClient, account: Account, title: str) -> str:
    response = await client.post(
        POSTS, json={"title": title, "body": "A post about work"}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    post_id: str = response.json()["id"]
    return post_id


async def read_post(client: httpx.AsyncClient, account: Account, post_id: str) -> dict[str, Any]:
    response = await client.get(f"{POSTS}/{post_id}", headers=account.headers)
    assert response.status_code == 200, response.text
    # Loaded from a database, not from a cache filled before.
    assert response.headers["x-cache"] == "MISS"
    post: dict[str, Any] = response.json()
    return post


async def listed_titles(client: httpx.AsyncClient, account: Account) -> list[str]:
    response = await client.get(POSTS, headers=account.headers)
    assert response.status_code == 200, response.text
    return [item["title"] for item in response.json()["items"]]


async def exported_titles(client: httpx.AsyncClient, account: Account) -> list[str]:
    response = await client.get(f"{POSTS}/export", headers=account.headers)
    assert response.status_code == 200, response.text
    return [item["title"] for item in response.json()]


async def change_title_behind_the_api(servers: Servers, post_id: str, title: str) -> None:
    """An UPDATE on the primary that no cache hears of and no account is marked for."""
    await servers.fetchval(
        servers.primary_port, "UPDATE posts SET title = $1 WHERE id = $2::uuid", title, post_id
    )


async def window_ends() -> None:
    # The window is a span of time: waiting it out is the condition itself.
    await asyncio.sleep(WINDOW)


def counted(samples: dict[Any, float], name: str) -> float:
    return sum(value for (sample, _), value in samples.items() if sample == name)


async def test_an_account_reads_its_writes_and_other_reads_go_to_the_replica(
    servers: Servers,
) -> None:
    settings = replica_settings(servers)
    async with (
        serving(create_app(settings)) as first,
        another_process(create_app(settings)) as second,
    ):
        writer, other = await open_account(first), await open_account(first)
        written = await create_post(first, writer, "A: first")
        untouched = await create_post(first, other, "B: first")
        await servers.until_replayed()
        await window_ends()

        await servers.pause_replay()
        try:
            edited = await first.patch(
                f"{POSTS}/{written}", json={"title": "A: edited"}, headers=writer.headers
            )
            assert edited.status_code == 200, edited.text
            await change_title_behind_the_api(servers, untouched, "B: changed on the primary")

            # Read-your-writes: in another process at once, with nothing of it cached there.
            assert (await read_post(second, writer, written))["title"] == "A: edited"
            assert await listed_titles(second, writer) == ["A: edited"]
            assert await exported_titles(first, writer) == ["A: edited"]
            # Whoever did not write reads the replica, which has not seen the primary's change.
            assert (await read_post(second, other, untouched))["title"] == "B: first"
            assert await listed_titles(second, other) == ["B: first"]
            assert await exported_titles(first, other) == ["B: first"]
        finally:
            await servers.resume_replay()

        # Once the window has passed, the writer reads the replica too.
        await window_ends()
        await servers.pause_replay()
        try:
            await change_title_behind_the_api(servers, written, "A: changed on the primary")
            assert await exported_titles(second, writer) == ["A: edited"]
        finally:
            await servers.resume_replay()


async def test_a_replica_further_behind_than_the_window_is_passed_over(servers: Servers) -> None:
    async with serving(create_app(replica_settings(servers))) as client:
        account = await open_account(client)
        post_id = await create_post(client, account, "C: first")
        await servers.until_replayed()
        await window_ends()
        before = await scrape(client)

        await servers.pause_replay()
        try:
            await change_title_behind_the_api(servers, post_id, "C: changed on the primary")
            assert await exported_titles(client, account) == ["C: first"]
            # No answer older than the window: once the replica may be further behind than
            # that, the primary answers, though nobody wrote through the API.
            async with asyncio.timeout(WINDOW + 5):
                while await exported_titles(client, account) == ["C: first"]:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            assert await exported_titles(client, account) == ["C: changed on the primary"]
        finally:
            await servers.resume_replay()

        after = await scrape(client)
        behind = ("lp_db_read_fallbacks_total", (("reason", "behind"),))
        assert after[behind] > before.get(behind, 0.0)


async def test_an_idle_primary_leaves_reads_on_the_replica(servers: Servers) -> None:
    async with serving(create_app(replica_settings(servers))) as client:
        account = await open_account(client)
        # What archive_timeout does on a quiet primary; then no write for a whole window.
        await servers.fetchval(servers.primary_port, "SELECT pg_switch_wal()")
        await servers.until_replayed()
        await window_ends()
        before = await scrape(client)

        assert await exported_titles(client, account) == []

        after = await scrape(client)
        assert after[ON_REPLICA] == before.get(ON_REPLICA, 0.0) + 1


async def test_reads_of_an_account_stay_on_the_primary_while_redis_cannot_tell(
    servers: Servers,
) -> None:
    # Marks cannot be set nor read: every process must assume the worst.
    settings = replica_settings(
        servers,
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        cache_enabled=False,
        ratelimit_enabled=False,
    )
    async with (
        serving(create_app(settings)) as first,
        another_process(create_app(settings)) as second,
    ):
        account = await open_account(first)
        await servers.pause_replay()
        try:
            post_id = await create_post(first, account, "Written while Redis is down")

            assert (await second.get(f"{POSTS}/{post_id}", headers=account.headers)).json()[
                "title"
            ] == "Written while Redis is down"
            assert await listed_titles(second, account) == ["Written while Redis is down"]
        finally:
            await servers.resume_replay()


async def until_the_replica_serves(client: httpx.AsyncClient, account: Account) -> None:
    """Read (the export: never cached) until one read is the replica's."""
    served = (await scrape(client)).get(ON_REPLICA, 0.0)
    async with asyncio.timeout(10):
        while (await scrape(client)).get(ON_REPLICA, 0.0) == served:
            assert (await client.get(f"{POSTS}/export", headers=account.headers)).is_success
            await asyncio.sleep(0.05)


async def test_a_replica_that_stops_leaves_its_reads_to_the_primary(servers: Servers) -> None:
    async with serving(create_app(replica_settings(servers))) as client:
        account = await open_account(client)
        first = await create_post(client, account, "Still here")
        second = await create_post(client, account, "Here too")
        await servers.until_replayed()
        await window_ends()
        before = await scrape(client)

        servers.stop("replica")
        try:
            assert await exported_titles(client, account) == ["Here too", "Still here"]
            assert await listed_titles(client, account) == ["Here too", "Still here"]
            assert (await read_post(client, account, first))["title"] == "Still here"

            after = await scrape(client)
            fallbacks = counted(after, "lp_db_read_fallbacks_total") - counted(
                before, "lp_db_read_fallbacks_total"
            )
            assert fallbacks == 3
        finally:
            servers.start("replica")
            servers.until_streaming()

        # Back: reads go to it again once a probe has found it; and again without it.
        await until_the_replica_serves(client, account)
        servers.stop("replica")
        try:
            assert (await read_post(client, account, second))["title"] == "Here too"
        finally:
            servers.start("replica")
            servers.until_streaming()


async def test_the_replica_has_its_own_pools_only_when_configured(servers: Servers) -> None:
    async with asyncio.timeout(10):
        while await servers.app_connections(servers.replica_port):  # noqa: ASYNC110
            await asyncio.sleep(0.02)  # the sessions of the tests before, ending

    primary_only = make_settings(servers.primary_url, redis_url=REDIS_URL, **ROOMY)
    async with serving(create_app(primary_only)) as client:
        account = await open_account(client)
        post_id = await create_post(client, account, "On the primary")
        await read_post(client, account, post_id)
        assert await exported_titles(client, account) == ["On the primary"]
        assert await servers.app_connections(servers.replica_port) == 0

    async with serving(create_app(replica_settings(servers))) as client:
        await open_account(client)
        # The probes' connection, at least.
        assert await servers.app_connections(servers.replica_port) >= 1

    # Closed at shutdown.
    async with asyncio.timeout(10):
        while await servers.app_connections(servers.replica_port):  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def test_a_server_that_is_not_a_standby_is_not_read(servers: Servers) -> None:
    # A replica promoted by a failover, or a URL that names a primary: its data may differ.
    settings = replica_settings(servers, database_read_url=servers.primary_url)
    async with serving(create_app(settings)) as client:
        account = await open_account(client)
        before = await scrape(client)

        assert await exported_titles(client, account) == []

        after = await scrape(client)
        down = ("lp_db_read_fallbacks_total", (("reason", "down"),))
        assert after[down] == before.get(down, 0.0) + 1
        assert after[("lp_db_replica_down", ())] == 1
