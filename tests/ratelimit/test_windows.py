"""The algorithm on a fake clock: exact remaining and reset values, window by window."""

import random

import pytest
from pydantic import ValidationError

from linkedin_posts.ratelimit import windows
from linkedin_posts.ratelimit.headers import limit_headers
from linkedin_posts.ratelimit.local import LocalCounters
from linkedin_posts.ratelimit.windows import Quota
from tests.conftest import make_settings
from tests.ratelimit.conftest import FakeClock


def window_start(identity: str, period: int, now: float) -> float:
    """The start of the window `now` falls in, from the documented phase."""
    offset = windows.phase(identity, period)
    return ((now + offset) // period) * period - offset


def test_quotas_are_written_as_limits_writes_them() -> None:
    assert Quota.parse("10/minute") == Quota(amount=10, period=60)
    assert Quota.parse("5 per second") == Quota(amount=5, period=1)
    assert Quota.parse("1000/hour") == Quota(amount=1000, period=3600)


def test_a_rate_that_is_not_one_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="'10 per fortnight' is not a rate such as"):
        make_settings("sqlite+aiosqlite://", ratelimit_read="10 per fortnight")


def test_a_share_is_the_quota_divided_never_below_one() -> None:
    assert Quota(amount=100, period=60).share(3) == Quota(amount=33, period=60)
    assert Quota(amount=2, period=60).share(4) == Quota(amount=1, period=60)


async def test_remaining_counts_down_and_the_reset_is_the_window_end(clock: FakeClock) -> None:
    counters = LocalCounters(clock)
    quota = Quota(amount=3, period=60)
    start = window_start("alice", 60, clock.now)
    clock.now = start + 10.25  # 49.75 s before the window ends

    seen = []
    for _ in range(4):
        decision = await windows.hit(counters, quota, "alice", clock())
        seen.append((decision.allowed, decision.remaining, decision.reset_seconds))
        clock.advance(1)

    assert seen == [(True, 2, 50), (True, 1, 49), (True, 0, 48), (False, 0, 47)]
    assert decision.limit == 3
    assert decision.reset_after == pytest.approx(60 - 13.25)


async def test_the_next_window_starts_full(clock: FakeClock) -> None:
    counters = LocalCounters(clock)
    quota = Quota(amount=2, period=10)
    clock.now = window_start("bob", 10, clock.now) + 9.5
    for _ in range(3):
        last = await windows.hit(counters, quota, "bob", clock())
    assert not last.allowed

    clock.advance(0.5)  # exactly the window end
    fresh = await windows.hit(counters, quota, "bob", clock())

    assert (fresh.allowed, fresh.remaining, fresh.reset_seconds) == (True, 1, 10)


async def test_identities_count_apart_and_end_their_windows_at_different_times(
    clock: FakeClock,
) -> None:
    counters = LocalCounters(clock)
    quota = Quota(amount=1, period=3600)

    first = [await windows.hit(counters, quota, f"user-{n}", clock()) for n in range(20)]

    assert all(decision.allowed for decision in first)
    assert not (await windows.hit(counters, quota, "user-0", clock())).allowed
    # Spread over the hour, not all at its top: 20 identities, at least 15 distinct ends.
    assert len({decision.reset_seconds for decision in first}) >= 15


async def test_local_windows_decide_as_hit_on_counters_does(clock: FakeClock) -> None:
    """The embedded shape's counts (LocalWindows) and `hit` on any Counters: the same decisions,
    request by request, over window ends, for several identities."""
    counters, local = LocalCounters(clock), windows.LocalWindows()
    quota = Quota(amount=4, period=10)
    rng = random.Random(5)
    for _ in range(400):
        clock.advance(rng.choice([0, 0, 0.5, 3]))
        identity = f"user-{rng.randrange(3)}"
        expected = await windows.hit(counters, quota, identity, clock())
        if rng.random() < 0.5:
            assert local.hit(quota, identity, clock()) == expected
            continue
        # admit: hit's header lines when it admits; None, counting nothing, when hit would refuse.
        admitted = local.admit(quota, identity, clock())
        if admitted is None:
            assert local.hit(quota, identity, clock()) == expected
        else:
            assert expected.allowed
            # The lines of the headers the stack's middleware sends for the same decision.
            assert admitted == b"".join(b"%s: %s\r\n" % h for h in limit_headers(expected))


async def test_local_windows_forget_ended_windows(clock: FakeClock) -> None:
    local = windows.LocalWindows()
    quota = Quota(amount=1, period=5)
    for n in range(100):
        local.hit(quota, f"user-{n}", clock())
    clock.advance(5)
    assert local.hit(quota, "user-0", clock()).allowed  # a new window, and a sweep
    assert len(local._counts) == 1


async def test_local_counters_expire_and_are_swept(clock: FakeClock) -> None:
    counters = LocalCounters(clock)
    assert await counters.incr("k", 5) == 1
    assert await counters.incr("k", 5) == 2
    assert await counters.get_expiry("k") == clock.now + 5

    clock.advance(5)
    assert await counters.get("k") == 0
    assert await counters.incr("other", 5) == 1  # sweeps what expired
    assert "k" not in counters.counts
    assert await counters.incr("k", 5) == 1

    await counters.clear("k")
    assert await counters.get("k") == 0
    assert await counters.get_expiry("k") == clock.now
