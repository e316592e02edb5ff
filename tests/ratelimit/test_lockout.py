"""The login lock-out on a fake clock: when it starts, how long it lasts, how it grows."""

from linkedin_posts.ratelimit.lockout import LoginLocked, LoginLockout
from linkedin_posts.ratelimit.store import CounterStore
from tests.ratelimit.conftest import FakeClock


def make_lockout(clock: FakeClock) -> LoginLockout:
    store = CounterStore(None, retry_seconds=1, clock=clock)
    return LoginLockout(store, free_failures=3, base_seconds=30, max_seconds=100, clock=clock)


async def locked_for(lockout: LoginLockout, email: str) -> int | None:
    """Retry-After of the refusal, or None when a login may proceed."""
    try:
        await lockout.check(email)
    except LoginLocked as refused:
        headers = refused.headers or {}
        return int(headers["Retry-After"])
    return None


async def test_the_lock_starts_at_the_nth_failure_and_doubles_up_to_the_cap(
    clock: FakeClock,
) -> None:
    lockout = make_lockout(clock)
    for _ in range(2):
        await lockout.failed("ana@example.com")
        assert await locked_for(lockout, "ana@example.com") is None

    locks = []
    for _ in range(4):
        await lockout.failed("ana@example.com")
        locks.append(await locked_for(lockout, "ana@example.com"))
        clock.advance(locks[-1] or 0)
        assert await locked_for(lockout, "ana@example.com") is None

    assert locks == [30, 60, 100, 100]


async def test_retry_after_counts_down_to_the_end_of_the_lock(clock: FakeClock) -> None:
    lockout = make_lockout(clock)
    for _ in range(3):
        await lockout.failed("ana@example.com")

    clock.advance(29.2)
    assert await locked_for(lockout, "ana@example.com") == 1
    clock.advance(0.8)
    assert await locked_for(lockout, "ana@example.com") is None


async def test_a_lock_is_per_account(clock: FakeClock) -> None:
    lockout = make_lockout(clock)
    for _ in range(3):
        await lockout.failed("ana@example.com")

    assert await locked_for(lockout, "ana@example.com") == 30
    assert await locked_for(lockout, "bo@example.com") is None


async def test_a_successful_login_forgets_the_failures(clock: FakeClock) -> None:
    lockout = make_lockout(clock)
    for _ in range(2):
        await lockout.failed("ana@example.com")
    await lockout.succeeded("ana@example.com")

    for _ in range(2):
        await lockout.failed("ana@example.com")
    assert await locked_for(lockout, "ana@example.com") is None


async def test_failures_are_forgotten_an_hour_after_the_first(clock: FakeClock) -> None:
    lockout = make_lockout(clock)
    for _ in range(2):
        await lockout.failed("ana@example.com")

    clock.advance(3600)
    await lockout.failed("ana@example.com")
    assert await locked_for(lockout, "ana@example.com") is None
