"""Batched reservations: hot identities ask the shared counter for several admissions at once.

The shared counter is played by LocalCounters (the same increment Redis makes); two
Reservations stand for two processes. Whatever the interleaving, a window admits at most the
quota, and a hot identity costs far fewer increments than requests.
"""

import asyncio
import random
from typing import Any

import pytest

from linkedin_posts.ratelimit.limiter import RateLimiter
from linkedin_posts.ratelimit.local import LocalCounters
from linkedin_posts.ratelimit.reservations import Reservations
from linkedin_posts.ratelimit.store import CounterStore
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


@pytest.mark.parametrize(
    ("pause", "increments"),
    [
        # Going on, or back within a window's length: batches of 64 from its first request.
        (0.01, 4),
        (59.0, 4),
        # Back later: it ramps up again like a new identity, from a batch of one.
        (61.0, 14),
    ],
)
async def test_an_identity_that_sent_much_gets_full_batches_in_its_next_window(
    clock: FakeClock, pause: float, increments: int
) -> None:
    quota = Quota(amount=1_000_000, period=60)
    shared = CountingCounters(clock)
    process = Reservations(instances=2)
    for _ in range(1000):
        last = await decide(process, shared, quota, clock.now)
    clock.advance(last.reset_after + pause)  # a window that starts after its own ended
    before = shared.increments

    decisions = [await decide(process, shared, quota, clock.now) for _ in range(256)]

    assert all(d.allowed for d in decisions)
    assert shared.increments - before == increments


class RoundTripCounters(LocalCounters):
    """The shared counter as Redis is to a process: each increment takes an event-loop turn.

    Counts the increments a request waited for (made in the task that asked for the decision)
    apart from those made ahead of need, in the limiter's background tasks.
    """

    def __init__(self, clock: FakeClock, requests: set[asyncio.Task[Any]]) -> None:
        super().__init__(clock)
        self.requests = requests
        self.waited = 0
        self.ahead = 0

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        if asyncio.current_task() in self.requests:
            self.waited += 1
        else:
            self.ahead += 1
        await asyncio.sleep(0)
        return await super().incr(key, expiry, amount)


def limiter_on(shared: LocalCounters, clock: FakeClock, amount: int, period: int) -> RateLimiter:
    quota = Quota(amount=amount, period=period)
    return RateLimiter(
        CounterStore(shared, retry_seconds=1, clock=clock),
        quotas={"auth": quota, "read": quota, "write": quota, "ai": quota},
        process_ceiling=Quota(amount=10**9, period=1),
        expected_instances=2,
        clock=clock,
    )


async def test_a_hot_identity_asks_for_its_next_batch_before_it_runs_out(
    clock: FakeClock,
) -> None:
    requests = {asyncio.current_task()}
    shared = RoundTripCounters(clock, requests)  # type: ignore[arg-type]
    limiter = limiter_on(shared, clock, amount=1_000_000, period=60)

    decisions = []
    for _ in range(10_000):
        decisions.append(await limiter.hit("read", "user:1"))
        await asyncio.sleep(0)  # other requests, and the background asks, run meanwhile

    assert all(d.allowed for d in decisions)
    # Only the first requests, while the identity is not yet hot, waited for the counter.
    assert shared.waited <= 20
    assert shared.ahead > 10_000 / 64
    await limiter.aclose()


@pytest.mark.parametrize("amount", [50, 1000, 20_000])
@pytest.mark.parametrize("seed", range(2))
async def test_asking_ahead_never_admits_more_than_the_quota_across_two_processes(
    clock: FakeClock, amount: int, seed: int
) -> None:
    shared = RoundTripCounters(clock, set())
    processes = [limiter_on(shared, clock, amount, 3600) for _ in range(2)]  # one window
    rng = random.Random(seed)
    admitted = 0

    async def client(requests: int) -> None:
        nonlocal admitted
        for _ in range(requests):
            decision = await rng.choice(processes).hit("read", "user:1")
            admitted += decision.allowed
            for _ in range(rng.randrange(3)):
                await asyncio.sleep(0)

    await asyncio.gather(*(client(amount * 2 // 64 + 10) for _ in range(64)))

    assert admitted == amount  # never more, and nothing stranded while clients kept sending
    for process in processes:
        await process.aclose()
