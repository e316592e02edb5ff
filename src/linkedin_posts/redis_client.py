"""The Redis client of the scale-out shape, shared by every part that needs Redis."""

import logging
from typing import TYPE_CHECKING

from linkedin_posts.config import Settings

if TYPE_CHECKING:
    import redis.asyncio as redis

logger = logging.getLogger(__name__)


def create_redis(
    settings: Settings, *, timeout: float | None = None, retries: int = 1
) -> "redis.Redis | None":
    """A pooled client with short timeouts, or None in the embedded shape (no LP_REDIS_URL).

    `timeout` defaults to LP_REDIS_TIMEOUT_SECONDS; `retries` are immediate and only for a
    connection found closed (a Redis restart), never for a timeout, which would double it.
    """
    if not settings.redis_url:
        return None
    timeout = settings.redis_timeout_seconds if timeout is None else timeout
    # Imported here: redis-py costs ~10 MB of memory per process, for the scale-out shape only.
    import redis.asyncio as redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError

    # Short timeouts: a slow Redis must cost a request milliseconds, never seconds. One
    # immediate retry, for a pooled connection that a Redis restart closed; redis-py's default
    # (10 retries, backoff up to 1 s) made a request wait seconds for a Redis that is down.
    return redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=30,
        retry=Retry(NoBackoff(), retries=retries, supported_errors=(RedisConnectionError,)),
    )


async def close_redis(client: "redis.Redis") -> None:
    """Close the client's connections. A close slower than the client's timeout (a busy
    machine) or failing is logged, never raised: the rest of a shutdown (the database's pool,
    the metrics files) must still run."""
    from redis.exceptions import RedisError

    try:
        await client.aclose()
    except (RedisError, OSError) as exc:
        logger.warning("redis: connections not closed cleanly (%s)", type(exc).__name__)
