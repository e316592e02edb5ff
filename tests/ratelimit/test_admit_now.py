"""RateLimiter.admit_now: what the server's protocol asks before it answers a cached read.

It must admit exactly what `hit` would, from memory, and when it cannot (a refusal, or a
decision that needs the shared counter) answer None having counted nothing, so that the
request, sent on to `hit`, is counted once.
"""

import asyncio
import math
import random

from linkedin_posts.ratelimit import windows
from linkedin_posts.ratelimit.limiter import RateLimiter, limit_key
from linkedin_posts.ratelimit.local import LocalCounters
from linkedin_posts.ratelimit.store import CounterStore
from linkedin_posts.ratelimit.windows import Quota
from tests.ratelimit.conftest import FakeClock

IDENTITY = "key:1"


def lines(limit: int, remaining: int, reset: int) -> bytes:
    """The RateLimit-* header lines the server's answer carries."""
    return (
        f"ratelimit-limit: {limit}\r\nratelimit-remaining: {remaining}\r\n"
        f"ratelimit-reset: {reset}\r\n"
    ).encode()


def limiter(
    clock: FakeClock, amount: int, *, shared: LocalCounters | None = None, ceiling: int = 10**9
) -> RateLimiter:
    quota = Quota(amount=amount, period=60)
    return RateLimiter(
        CounterStore(shared, retry_seconds=1, clock=clock),
        quotas={"auth": quota, "read": quota, "write": quota, "ai": quota},
        process_ceiling=Quota(amount=ceiling, period=1),
        expected_instances=2,
        clock=clock,
    )


async def test_embedded_it_admits_the_quota_and_then_leaves_the_refusal_to_hit(
    clock: FakeClock,
) -> None:
    rate = limiter(clock, 5)

    key = limit_key("read", IDENTITY)
    reset = math.ceil(windows.window(rate.quotas["read"], key, clock()).reset_after)

    admitted = [rate.admit_now("read", IDENTITY) for _ in range(5)]
    assert admitted == [lines(5, remaining, reset) for remaining in (4, 3, 2, 1, 0)]
    # The sixth is not decided here, and not counted: `hit` counts it once and refuses it.
    assert rate.admit_now("read", IDENTITY) is None
    assert rate.admit_now("read", IDENTITY) is None
    refused = await rate.hit("read", IDENTITY)
    assert (refused.allowed, refused.remaining) == (False, 0)
    assert rate.local_counts.current(rate.quotas["read"], key, clock()).count == 6

    clock.advance(60)  # the next window admits again
    assert rate.admit_now("read", IDENTITY) is not None


async def test_it_counts_as_hit_does_whichever_of_the_two_a_request_takes(
    clock: FakeClock,
) -> None:
    """Mixed at random, the two admit exactly the quota in a window."""
    rate = limiter(clock, 50)
    rng = random.Random(3)
    admitted = 0
    for _ in range(80):
        if rng.random() < 0.5 and rate.admit_now("read", IDENTITY) is not None:
            admitted += 1
        else:
            admitted += (await rate.hit("read", IDENTITY)).allowed
    assert admitted == 50


async def test_a_full_process_ceiling_leaves_the_request_to_enforce_uncounted(
    clock: FakeClock,
) -> None:
    rate = limiter(clock, 100, ceiling=3)
    assert all(rate.admit_now("read", IDENTITY) is not None for _ in range(3))

    assert rate.admit_now("read", IDENTITY) is None
    # Neither the ceiling nor the identity counted the refused one.
    assert not rate.hit_process_ceiling().allowed
    assert (await rate.hit("read", IDENTITY)).remaining == 100 - 4


async def test_with_redis_it_admits_only_from_tokens_this_process_holds(
    clock: FakeClock,
) -> None:
    shared = LocalCounters(clock)  # plays Redis: the same increments
    rate = limiter(clock, 100_000, shared=shared)

    # A cold identity holds no tokens: the shared counter must be asked.
    assert rate.admit_now("read", IDENTITY) is None
    assert shared.counts == {}
    # Once hot, `hit` takes batches, and admit_now spends what they granted.
    for _ in range(40):
        await rate.hit("read", IDENTITY)
    await asyncio.gather(*rate._refills)  # the batch asked for ahead of need
    from_memory = 0
    while (admitted := rate.admit_now("read", IDENTITY)) is not None:
        assert admitted.startswith(b"ratelimit-limit: 100000\r\n")
        from_memory += 1
        if from_memory > 200:
            break
    assert from_memory > 0
    counted = next(iter(shared.counts.values()))
    # Every admission was granted by the shared counter first: none beyond it.
    assert 40 + from_memory <= counted
