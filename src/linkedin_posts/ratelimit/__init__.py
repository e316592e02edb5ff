"""Rate limits per route class and identity, and the login lock-out, on one counter store."""

from typing import TYPE_CHECKING

from linkedin_posts.config import Settings
from linkedin_posts.ratelimit.limiter import RateLimiter, create_rate_limiter
from linkedin_posts.ratelimit.lockout import LoginLockout
from linkedin_posts.ratelimit.store import CounterStore, redis_counters

if TYPE_CHECKING:
    import redis.asyncio as redis


def open_rate_limits(
    settings: Settings, client: "redis.Redis | None"
) -> tuple[RateLimiter | None, LoginLockout | None]:
    """The limiter and the lock-out (None when LP_RATELIMIT_ENABLED is off), Redis-backed if any."""
    if not settings.ratelimit_enabled:
        return None, None
    store = CounterStore(
        redis_counters(client) if client is not None else None,
        retry_seconds=settings.ratelimit_redis_retry_seconds,
    )
    lockout = LoginLockout(
        store,
        free_failures=settings.login_lockout_after,
        base_seconds=settings.login_lockout_seconds,
        max_seconds=settings.login_lockout_max_seconds,
    )
    return create_rate_limiter(settings, store), lockout
