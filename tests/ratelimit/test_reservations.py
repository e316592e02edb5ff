"""Batched reservations: hot identities ask the shared counter for several admissions at once.

The shared counter is played by LocalCounters (the same increment Redis makes); two
Reservations stand for two processes. Whatever the interleaving, a window admits at most the
quota, and a hot identity costs far fewer increments than requests.
"""

import random

import pytest

from linkedin_posts.ratelimit.local import LocalCounters
from linkedin_posts.ratelimit.reservations import Reservations
from linkedin_posts.ratelimit.windows import Decision, Quota
from tests.ratelimit.conftest import FakeClock


class CountingCounters(LocalCounters):
    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.increments = 0

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        self.increments += 1
        return await super().incr(key, expiry, amount)


async def decide(
    process: Reservations, shared: CountingCounters, quota: Quota, now: float
) -> Decision:
    return process.take(quota, "read:user:1", now) or await process.reserve(
        shared, quota, "read:user:1", now
    )


@pytest.mark.parametrize("amount", [5, 20, 1000, 100_000])
@pytest.mark.parametrize("seed", range(3))
async def test_two_processes_never_admit_more_than_the_quota(
    clock: FakeClock, amount: int, seed: int
) -> None:
    quota = Quota(amount=amount, period=3600)  # all of it in one window
    shared = CountingCounters(clock)
    processes = [Reservations(instances=2), Reservations(instances=2)]
    rng = random.Random(seed)
    admitted = 0
    for _ in range(amount * 2 + 100):
        decision = await decide(rng.choice(processes), shared, quota, clock.now)
        admitted += decision.allowed
        clock.advance(0.0001)

    assert admitted <= amount
    # Both processes kept sending to the end: nothing was stranded.
    assert admitted == amount


async def test_a_hot_identity_costs_few_increments(clock: FakeClock) -> None:
    quota = Quota(amount=1_000_000, period=60)
    shared = CountingCounters(clock)
    process = Reservations(instances=2)

    decisions = [await decide(process, shared, quota, clock.now) for _ in range(10_000)]

    assert all(d.allowed for d in decisions)
    assert shared.increments < 10_000 / 30
    # Remaining still counts down by one per request in one process.
    assert [d.remaining for d in decisions[-3:]] == [
        quota.amount - 9_998,
        quota.amount - 9_999,
        quota.amount - 10_000,
    ]


async def test_small_quotas_go_to_the_counter_every_time(clock: FakeClock) -> None:
    quota = Quota(amount=20, period=1)
    shared = CountingCounters(clock)
    process = Reservations(instances=2)

    decisions = [await decide(process, shared, quota, clock.now) for _ in range(20)]

    assert shared.increments == 20
    assert [d.remaining for d in decisions] == list(range(19, -1, -1))


async def test_past_the_quota_the_rest_of_the_window_is_refused_from_memory(
    clock: FakeClock,
) -> None:
    quota = Quota(amount=3, period=60)
    shared = CountingCounters(clock)
    process = Reservations(instances=2)
    for _ in range(4):
        await decide(process, shared, quota, clock.now)
    increments = shared.increments

    refused = [await decide(process, shared, quota, clock.now) for _ in range(50)]

    assert not any(d.allowed for d in refused)
    assert shared.increments == increments
    assert all(d.remaining == 0 and 0 < d.reset_after <= 60 for d in refused)

    clock.advance(60)  # the next window starts afresh
    assert (await decide(process, shared, quota, clock.now)).allowed
