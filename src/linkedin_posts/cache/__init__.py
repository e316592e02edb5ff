"""The cache: memory in every process (L1), Redis shared by all (L2) when LP_REDIS_URL is set.

Services read through `TieredCache.get_or_load`; writes name the keys they changed with
`invalidate_after_commit`, and the request's session drops them everywhere once the database has
committed, before the response is sent.
"""

from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from linkedin_posts.cache import keys
from linkedin_posts.cache.bus import InvalidationBus
from linkedin_posts.cache.memory import MemoryCache
from linkedin_posts.cache.recent_writes import RecentWrites
from linkedin_posts.cache.shared import SharedCache
from linkedin_posts.cache.tiered import TieredCache
from linkedin_posts.config import Settings
from linkedin_posts.redis_client import create_redis

if TYPE_CHECKING:
    import redis.asyncio as redis

_PENDING = "cache_keys"


def open_cache(settings: Settings, app_client: "redis.Redis | None") -> TieredCache | None:
    """The cache, or None when LP_CACHE_ENABLED is off.

    `app_client` is the app's Redis client (LP_REDIS_TIMEOUT_SECONDS), which sends the
    invalidations; its owner closes it.
    """
    if not settings.cache_enabled:
        return None
    memory = MemoryCache(
        max_entries=settings.cache_l1_max_entries,
        max_bytes=settings.cache_l1_max_bytes,
        ttl_seconds=settings.cache_l1_ttl_seconds,
        policy=settings.cache_l1_policy,
    )
    if app_client is None:
        return TieredCache(memory)
    # Reads on a client of their own: the cache's timeout is tens of milliseconds.
    client = create_redis(settings, timeout=settings.cache_redis_timeout_seconds)
    # No retries: a dropped subscription must surface, since messages sent while it was down
    # are lost and memory must be cleared.
    subscriber = create_redis(settings, retries=0)
    assert client is not None
    assert subscriber is not None
    shared = SharedCache(
        client,
        writer=app_client,
        ttl_seconds=settings.cache_l2_ttl_seconds,
        lease_ms=settings.cache_lease_ms,
        compress_min_bytes=settings.cache_compress_min_bytes,
        retry_seconds=settings.cache_redis_retry_seconds,
    )
    cache = TieredCache(
        memory,
        shared,
        deaf_ttl_seconds=settings.cache_deaf_ttl_seconds,
        lease_wait_seconds=settings.cache_lease_wait_seconds,
        retry_seconds=settings.cache_redis_retry_seconds,
        ack_timeout_seconds=settings.cache_ack_timeout_seconds,
    )
    cache.attach_bus(
        InvalidationBus(
            subscriber,
            on_keys=cache.on_remote_keys,
            on_hearing=cache.on_hearing,
            on_deaf=cache.on_deaf,
            ping_seconds=settings.cache_ping_seconds,
        )
    )
    return cache


def invalidate_after_commit(session: AsyncSession, *keys: str) -> None:
    """Drop these keys once the session's transaction has committed (see database.get_session).

    Not before: a reader could otherwise load the old row again in between and keep it.
    """
    session.info.setdefault(_PENDING, []).extend(keys)


async def run_invalidations(
    session: AsyncSession, cache: Any, recent_writes: RecentWrites | None = None
) -> None:
    names: list[str] = session.info.pop(_PENDING, [])
    if recent_writes is not None:
        owners = {owner for name in names if (owner := keys.list_version_owner(name))}
        if owners:
            # Before the invalidations: recent_writes.py says why.
            await recent_writes.noted(owners)
    if names and cache is not None:
        await cache.invalidate(names)
