"""The Redis client of the scale-out shape, shared by every part that needs Redis."""

from typing import TYPE_CHECKING

from linkedin_posts.config import Settings

if TYPE_CHECKING:
    import redis.asyncio as redis


def create_redis(settings: Settings) -> "redis.Redis | None":
    """A pooled client with short timeouts, or None in the embedded shape (no LP_REDIS_URL)."""
    if not settings.redis_url:
        return None
    # Imported here: redis-py costs ~15 MB of memory per process, for the scale-out shape only.
    import redis.asyncio as redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    # Short timeouts: a slow Redis must cost a request milliseconds, never seconds. One
    # immediate retry, for a pooled connection that a Redis restart closed; redis-py's default
    # (10 retries, backoff up to 1 s) made a request wait seconds for a Redis that is down.
    return redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds,
        health_check_interval=30,
        retry=Retry(NoBackoff(), retries=1),
    )
