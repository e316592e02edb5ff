"""Limits shared through a real Redis, and what happens when that Redis goes away."""

import asyncio
import logging
import shutil
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from tests.conftest import REDIS_URL, open_account
from tests.observability.test_health import redis_server
from tests.ports import free_port
from tests.ratelimit.conftest import ClientFor, limit_headers

needs_redis = pytest.mark.skipif(not REDIS_URL, reason="needs LP_TEST_REDIS_URL")


@needs_redis
async def test_two_apps_on_one_redis_share_one_budget(client_for: ClientFor) -> None:
    # The auth budget in Redis is per address, and every test registers from the same one.
    settings = {
        "redis_url": REDIS_URL,
        "ratelimit_read": "4/minute",
        "ratelimit_auth": "100000/minute",
    }
    async with client_for(**settings) as one, client_for(**settings) as other:
        account = await open_account(one)
        answers = [
            await client.get("/v1/posts", headers=account.headers)
            for client in (one, other, one, other, one, other)
        ]

    assert [r.status_code for r in answers] == [200, 200, 200, 200, 429, 429]
    assert [limit_headers(r)[1] for r in answers] == [3, 2, 1, 0, 0, 0]


def redis_down() -> float | None:
    return REGISTRY.get_sample_value("lp_ratelimit_redis_down")


def local_decisions() -> float:
    return REGISTRY.get_sample_value("lp_ratelimit_local_decisions_total") or 0.0


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs the redis-server binary")
async def test_redis_stopped_mid_test_falls_back_to_a_share_and_recovers(
    client_for: ClientFor, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    settings = {
        "redis_url": f"redis://127.0.0.1:{port}/0",
        "ratelimit_read": "6/minute",
        "ratelimit_expected_instances": 2,
        "ratelimit_redis_retry_seconds": 0.2,
    }
    statuses: list[int] = []
    async with client_for(**settings) as client:
        async with redis_server(port, tmp_path):
            account = await open_account(client)
            shared = [await client.get("/v1/posts", headers=account.headers) for _ in range(2)]
        assert [limit_headers(r)[:2] for r in shared] == [(6, 5), (6, 4)]
        before = local_decisions()

        # Redis is gone: this process admits its share, 6 / 2 instances, counted afresh.
        with caplog.at_level(logging.WARNING, logger="linkedin_posts.ratelimit.store"):
            alone = [await client.get("/v1/posts", headers=account.headers) for _ in range(4)]
        statuses += [r.status_code for r in alone]
        assert statuses == [200, 200, 200, 429]
        assert [limit_headers(r)[:2] for r in alone] == [(3, 2), (3, 1), (3, 0), (3, 0)]
        assert "Redis unreachable" in caplog.text
        assert redis_down() == 1
        assert local_decisions() >= before + 4

        async with redis_server(port, tmp_path):
            # Heals by itself within a retry interval: the full quota again, from Redis.
            async with asyncio.timeout(10):
                while True:
                    response = await client.get("/v1/posts", headers=account.headers)
                    statuses.append(response.status_code)
                    if limit_headers(response)[0] == 6:
                        break
                    await asyncio.sleep(0.05)
            assert response.status_code == 200
            assert redis_down() == 0

    assert all(status < 500 for status in statuses)
