"""A cold key read by hundreds of requests at once costs the database one query, not hundreds.

Within a process, concurrent misses share one load (single flight); across processes, the one
that takes the Redis lease loads while the others wait for its value. The apps' readers are
wrapped to count the statements they run: the post's (`FROM posts`) and the API key's.
"""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest

from linkedin_posts.config import Settings
from tests.cache.two_apps import ROOMY, Node, needs_redis, post_url, two_apps
from tests.conftest import Account, multi_process_settings, open_account

pytestmark = needs_redis

CONCURRENT = 200


@pytest.fixture
def settings(migrated_url: str) -> Settings:
    # What is counted here is what a working Redis saves. With the default 50 ms per call, a
    # machine starved by the other test process times calls out, and the cache rightly stops
    # trusting what it holds (the degradation tests' case), so a post may be loaded again.
    return multi_process_settings(migrated_url, **ROOMY, cache_redis_timeout_seconds=2.0)


@pytest.fixture
async def apps(settings: Settings) -> AsyncIterator[tuple[Node, Node]]:
    async with two_apps(settings) as pair:
        for node in pair:
            node.count_reads()
        yield pair


async def warm_credentials(nodes: tuple[Node, ...], account: Account) -> None:
    """Have each app know the caller, so only the post's reads are left to count."""
    for node in nodes:
        for _ in range(2):
            assert (
                await node.client.get("/v1/users/me", headers=account.headers)
            ).status_code == 200


def assert_all_the_post(responses: list[httpx.Response], post: dict[str, object]) -> Counter[str]:
    assert [r.status_code for r in responses] == [200] * len(responses)
    assert all(r.json() == post for r in responses)
    return Counter(r.headers["X-Cache"] for r in responses)


def key_reads(node: Node) -> int:
    assert node.reader is not None
    return sum("api_keys" in sql for sql in node.reader.statements)


def post_reads(node: Node) -> int:
    assert node.reader is not None
    return node.reader.post_reads()


async def test_one_app_loads_a_cold_post_once(apps: tuple[Node, Node], backend: str) -> None:
    a, _ = apps
    account = await open_account(a.client)
    post = await a.create_post(account)
    await warm_credentials((a,), account)

    responses = await asyncio.gather(
        *(a.get(post_url(post["id"]), account) for _ in range(CONCURRENT))
    )

    levels = assert_all_the_post(list(responses), post)
    print(
        f"\n[{backend}] one app, {CONCURRENT} at once: {post_reads(a)} post query, {dict(levels)}"
    )
    assert post_reads(a) == 1


async def test_two_apps_load_a_cold_post_once_each_at_most(
    apps: tuple[Node, Node], backend: str
) -> None:
    a, b = apps
    account = await open_account(a.client)
    post = await a.create_post(account)
    await warm_credentials((a, b), account)

    responses = await asyncio.gather(
        *(
            node.get(post_url(post["id"]), account)
            for _ in range(CONCURRENT // 2)
            for node in (a, b)
        )
    )

    levels = assert_all_the_post(list(responses), post)
    total = post_reads(a) + post_reads(b)
    print(
        f"\n[{backend}] two apps, {CONCURRENT} at once: {post_reads(a)} + {post_reads(b)} "
        f"post queries, {dict(levels)}"
    )
    assert post_reads(a) <= 1
    assert post_reads(b) <= 1
    assert total >= 1


async def test_a_cold_api_key_and_post_are_each_loaded_once_per_app_at_most(
    apps: tuple[Node, Node], backend: str
) -> None:
    a, b = apps
    account = await open_account(a.client)
    post = await a.create_post(account)
    created = await a.client.post("/v1/api-keys", json={"name": "ci"}, headers=account.headers)
    assert created.status_code == 201, created.text
    key = {"X-API-Key": created.json()["key"]}

    responses = await asyncio.gather(
        *(
            node.client.get(post_url(post["id"]), headers=key)
            for _ in range(CONCURRENT // 2)
            for node in (a, b)
        )
    )

    assert_all_the_post(list(responses), post)
    print(
        f"\n[{backend}] cold key and post on two apps: key queries {key_reads(a)} + "
        f"{key_reads(b)}, post queries {post_reads(a)} + {post_reads(b)}"
    )
    for node in (a, b):
        assert key_reads(node) <= 1
        assert post_reads(node) <= 1
