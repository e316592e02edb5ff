"""The shared Redis client: closing it never stops a shutdown halfway."""

import logging

import pytest
import redis.asyncio as redis
from redis.exceptions import TimeoutError as RedisTimeoutError

from linkedin_posts.config import Settings
from linkedin_posts.redis_client import close_redis, create_redis


async def test_a_close_slower_than_the_timeout_is_logged_not_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # What a busy machine did in CI: redis-py bounds a connection's close by its connect
    # timeout (LP_REDIS_TIMEOUT_SECONDS), and raised out of the app's lifespan shutdown.
    settings = Settings(_env_file=None, redis_url="redis://127.0.0.1:6379/0")  # type: ignore[call-arg]
    client = create_redis(settings)
    assert isinstance(client, redis.Redis)

    async def times_out(*_args: object, **_kwargs: object) -> None:
        raise RedisTimeoutError("Timed out closing connection after 0.25")

    monkeypatch.setattr(client.connection_pool, "disconnect", times_out)
    with caplog.at_level(logging.WARNING, logger="linkedin_posts.redis_client"):
        await close_redis(client)

    assert "redis: connections not closed cleanly (TimeoutError)" in caplog.text
