"""The provider's edge on a fake clock: the breaker's states, the guard's retries, cap and timeouts.

Retry waits go to a recording `sleep`, so nothing here really sleeps; only the timeout tests
wait, 50 ms at a time, for an attempt that never answers.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import nullcontext
from typing import Any

import pytest
from prometheus_client import REGISTRY

from linkedin_posts.config import Settings
from linkedin_posts.generation import resilience
from linkedin_posts.generation.exceptions import (
    CircuitOpen,
    ProviderBadResponse,
    ProviderBusy,
    ProviderError,
    ProviderInvalidOutput,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
)
from linkedin_posts.generation.resilience import CircuitBreaker, ProviderGuard

SHORT = 0.05  # a real timeout, for the tests that need one to fire
# Longer than any timeout under test: a fake still waiting then fails its test, not hangs it.
HANG = 2.0
STALL = object()  # a stream step: nothing comes


async def stall() -> None:
    """An answer that never comes, for a guard that must give up on it first."""
    await asyncio.sleep(HANG)
    raise AssertionError("the guard let a stalled provider call run past its timeout")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingSleep:
    """Stands in for asyncio.sleep: remembers each wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class Script:
    """An attempt that plays its outcomes in order (the last one repeats): raise or return."""

    def __init__(self, *outcomes: object) -> None:
        self.outcomes = outcomes
        self.calls = 0

    async def __call__(self) -> object:
        outcome = self.outcomes[min(self.calls, len(self.outcomes) - 1)]
        self.calls += 1
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


class Gate:
    """An attempt that waits until the gate opens; counts how many have started."""

    def __init__(self) -> None:
        self.started = 0
        self.opened = asyncio.Event()

    async def __call__(self) -> str:
        self.started += 1
        async with asyncio.timeout(HANG):
            await self.opened.wait()
        return "through"


class Streams:
    """Opens scripted streams, one script per open (the last one repeats). A script's steps are
    pieces to yield, exceptions to raise, or STALL."""

    def __init__(self, *scripts: list[object]) -> None:
        self.scripts = scripts
        self.opens = 0
        self.closed = 0

    def __call__(self) -> AsyncIterator[str]:
        script = self.scripts[min(self.opens, len(self.scripts) - 1)]
        self.opens += 1
        return self._play(script)

    async def _play(self, script: list[object]) -> AsyncIterator[str]:
        try:
            for step in script:
                if isinstance(step, BaseException):
                    raise step
                if step is STALL:
                    await stall()
                assert isinstance(step, str)
                yield step
        finally:
            self.closed += 1


class ResponseStream:
    """A provider stream that is an object, not a generator (as an SDK's response is): nothing
    closes it unless its `aclose` is called."""

    def __init__(self, *steps: object) -> None:
        self.steps = list(steps)
        self.closed = False

    def __aiter__(self) -> "ResponseStream":
        return self

    async def __anext__(self) -> str:
        step = self.steps.pop(0)
        if isinstance(step, BaseException):
            raise step
        assert isinstance(step, str)
        return step

    async def aclose(self) -> None:
        self.closed = True


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "ai_max_retries": 2,
        "ai_breaker_failures": 100,
        "ai_breaker_reset_seconds": 30.0,
        "ai_max_concurrency": 4,
        "ai_queue_timeout_seconds": 1.0,
        "ai_timeout_seconds": 1.0,
        "ai_retry_backoff_seconds": 0.5,
        "ai_retry_after_max_seconds": 5.0,
    }
    return Settings(_env_file=None, env="test", **(values | overrides))


async def until(condition: Callable[[], bool], *, within: float = 1.0) -> None:
    """Wait, one loop tick at a time, until another task has made `condition` true."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 (the fakes count; they have no event to wait on)
            await asyncio.sleep(0)


async def a_few_ticks() -> None:
    """Give every ready task a chance to run, to check that something did not happen."""
    for _ in range(20):
        await asyncio.sleep(0)


async def collect(pieces: AsyncIterator[str]) -> list[str]:
    return [piece async for piece in pieces]


async def drain(pieces: AsyncIterator[str], into: list[str]) -> None:
    """Like collect, but what came before an error stays in `into`."""
    async for piece in pieces:
        into.append(piece)


def circuit_open(provider: str) -> float | None:
    return REGISTRY.get_sample_value("lp_llm_circuit_open", {"provider": provider})


def requests(provider: str, outcome: str) -> float:
    labels = {"provider": provider, "outcome": outcome}
    return REGISTRY.get_sample_value("lp_llm_requests_total", labels) or 0.0


@pytest.fixture
def provider() -> str:
    """A label of its own, so metrics start at zero for each test."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def guard_for(
    provider: str, clock: FakeClock, sleep: RecordingSleep
) -> Callable[..., ProviderGuard]:
    def build(**overrides: Any) -> ProviderGuard:
        return ProviderGuard(
            make_settings(**overrides), provider=provider, sleep=sleep, clock=clock
        )

    return build


def breaker_for(
    provider: str, clock: FakeClock, *, failures: int = 3, reset: float = 30.0
) -> CircuitBreaker:
    return CircuitBreaker(failures=failures, reset_seconds=reset, provider=provider, clock=clock)


def open_breaker(breaker: CircuitBreaker) -> None:
    for _ in range(breaker.threshold):
        breaker.before_call()
        breaker.failed()
    assert breaker.state == "open"


# The breaker


def test_a_closed_breaker_lets_calls_through(provider: str, clock: FakeClock) -> None:
    breaker = breaker_for(provider, clock, failures=3)
    for _ in range(10):
        breaker.before_call()
        breaker.succeeded()
    breaker.failed()
    breaker.failed()
    breaker.before_call()  # two failures of three: still closed
    assert breaker.state == "closed"


def test_it_opens_after_exactly_k_failures_in_a_row(provider: str, clock: FakeClock) -> None:
    breaker = breaker_for(provider, clock, failures=3)
    for _ in range(2):
        breaker.before_call()
        breaker.failed()
        assert breaker.state == "closed"
    breaker.before_call()
    breaker.failed()
    assert breaker.state == "open"
    with pytest.raises(CircuitOpen):
        breaker.before_call()


def test_a_success_starts_the_count_again(provider: str, clock: FakeClock) -> None:
    breaker = breaker_for(provider, clock, failures=3)
    breaker.failed()
    breaker.failed()
    breaker.succeeded()
    breaker.failed()
    breaker.failed()
    assert breaker.state == "closed"
    breaker.before_call()
    breaker.failed()
    assert breaker.state == "open"


def test_an_open_breaker_says_how_long_until_the_next_trial(
    provider: str, clock: FakeClock
) -> None:
    breaker = breaker_for(provider, clock, failures=1, reset=30)
    open_breaker(breaker)
    clock.advance(10.4)

    with pytest.raises(CircuitOpen) as refused:
        breaker.before_call()
    assert refused.value.retry_after == pytest.approx(19.6)
    assert refused.value.headers == {"Retry-After": "20"}
    assert refused.value.status == 503
    assert refused.value.code == "ai_circuit_open"
    assert not refused.value.retryable

    clock.advance(19.3)  # 0.3 s left: a client is told 1 s, never 0
    with pytest.raises(CircuitOpen) as refused:
        breaker.before_call()
    assert refused.value.retry_after == 1.0
    assert refused.value.headers == {"Retry-After": "1"}
    assert breaker.state == "open"


def test_after_the_reset_period_exactly_one_trial_goes_through(
    provider: str, clock: FakeClock
) -> None:
    breaker = breaker_for(provider, clock, failures=2, reset=30)
    open_breaker(breaker)
    clock.advance(29.9)
    assert breaker.state == "open"
    clock.advance(0.1)
    assert breaker.state == "half_open"

    breaker.before_call()  # the trial
    with pytest.raises(CircuitOpen) as refused:
        breaker.before_call()  # a second caller while the trial runs
    assert refused.value.retry_after == 1.0
    assert breaker.state == "half_open"


def test_a_successful_trial_closes_it(provider: str, clock: FakeClock) -> None:
    breaker = breaker_for(provider, clock, failures=2, reset=30)
    open_breaker(breaker)
    clock.advance(30)
    breaker.before_call()
    breaker.succeeded()

    assert breaker.state == "closed"
    for _ in range(3):
        breaker.before_call()
    breaker.failed()  # the count started again: one failure of two
    breaker.before_call()
    assert breaker.state == "closed"


def test_a_failed_trial_opens_it_for_a_fresh_period(provider: str, clock: FakeClock) -> None:
    breaker = breaker_for(provider, clock, failures=3, reset=30)
    open_breaker(breaker)
    clock.advance(45)  # well past the first period
    breaker.before_call()
    breaker.failed()

    assert breaker.state == "open"
    clock.advance(20)
    with pytest.raises(CircuitOpen) as refused:
        breaker.before_call()
    assert refused.value.retry_after == pytest.approx(10)
    clock.advance(10)
    assert breaker.state == "half_open"
    breaker.before_call()  # the next trial


def test_a_trial_released_without_a_verdict_lets_the_next_one_through(
    provider: str, clock: FakeClock
) -> None:
    breaker = breaker_for(provider, clock, failures=1, reset=30)
    open_breaker(breaker)
    clock.advance(30)
    breaker.before_call()
    breaker.released()

    assert breaker.state == "half_open"
    breaker.before_call()  # a new trial
    with pytest.raises(CircuitOpen):
        breaker.before_call()  # and still only one at a time


def test_the_gauge_shows_an_open_circuit_until_it_recovers(provider: str, clock: FakeClock) -> None:
    breaker = breaker_for(provider, clock, failures=2, reset=30)
    assert circuit_open(provider) == 0

    breaker.failed()
    assert circuit_open(provider) == 0
    breaker.failed()
    assert circuit_open(provider) == 1

    clock.advance(30)
    breaker.before_call()
    assert circuit_open(provider) == 1  # half-open still keeps calls away
    breaker.failed()
    assert circuit_open(provider) == 1

    clock.advance(30)
    breaker.before_call()
    breaker.succeeded()
    assert circuit_open(provider) == 0


# ProviderGuard.call: retries


async def test_a_first_success_is_one_attempt(
    guard_for: Callable[..., ProviderGuard], sleep: RecordingSleep, provider: str
) -> None:
    attempt = Script("text")
    assert await guard_for().call(attempt) == "text"
    assert attempt.calls == 1
    assert sleep.waits == []
    assert requests(provider, "ok") == 1


@pytest.mark.parametrize(
    "error",
    [ProviderError, ProviderTimeout, ProviderUnavailable, ProviderBadResponse, ProviderRateLimited],
)
async def test_a_retryable_error_is_retried_then_the_last_one_raised(
    guard_for: Callable[..., ProviderGuard],
    sleep: RecordingSleep,
    provider: str,
    error: type[ProviderError],
) -> None:
    errors = [error(f"attempt {n}") for n in range(4)]
    attempt = Script(*errors)
    with pytest.raises(error) as raised:
        await guard_for(ai_max_retries=3, ai_retry_backoff_seconds=0.5).call(attempt)

    assert raised.value is errors[-1]
    assert attempt.calls == 4
    assert len(sleep.waits) == 3
    for number, wait in enumerate(sleep.waits):
        step = 0.5 * 2**number
        assert step / 2 <= wait <= step, (number, wait)
    assert requests(provider, error.code) == 4
    assert requests(provider, "ok") == 0


@pytest.mark.parametrize(("draw", "expected"), [("low", [0.5, 1.0, 2.0]), ("high", [1, 2, 4])])
async def test_the_waits_double_with_equal_jitter(
    guard_for: Callable[..., ProviderGuard],
    sleep: RecordingSleep,
    monkeypatch: pytest.MonkeyPatch,
    draw: str,
    expected: list[float],
) -> None:
    # The random half at its two ends: each wait is then exactly step / 2 or step.
    monkeypatch.setattr(
        resilience.random, "uniform", lambda low, high: low if draw == "low" else high
    )
    with pytest.raises(ProviderUnavailable):
        await guard_for(ai_max_retries=3, ai_retry_backoff_seconds=1.0).call(
            Script(ProviderUnavailable())
        )
    assert sleep.waits == expected


async def test_the_waits_are_jittered(
    guard_for: Callable[..., ProviderGuard], sleep: RecordingSleep
) -> None:
    guard = guard_for(ai_max_retries=1, ai_retry_backoff_seconds=1.0)
    for _ in range(20):
        with pytest.raises(ProviderUnavailable):
            await guard.call(Script(ProviderUnavailable()))
    assert len(sleep.waits) == 20
    assert len(set(sleep.waits)) > 1
    assert all(0.5 <= wait <= 1.0 for wait in sleep.waits)


async def test_a_retry_that_succeeds_returns_its_result_and_each_attempt_is_counted(
    guard_for: Callable[..., ProviderGuard], sleep: RecordingSleep, provider: str
) -> None:
    attempt = Script(ProviderUnavailable(), ProviderTimeout(), "text")
    assert await guard_for(ai_max_retries=2).call(attempt) == "text"
    assert attempt.calls == 3
    assert len(sleep.waits) == 2
    assert requests(provider, "ai_provider_unavailable") == 1
    assert requests(provider, "ai_provider_timeout") == 1
    assert requests(provider, "ok") == 1


async def test_no_retries_configured_means_one_attempt(
    guard_for: Callable[..., ProviderGuard], sleep: RecordingSleep
) -> None:
    attempt = Script(ProviderUnavailable())
    with pytest.raises(ProviderUnavailable):
        await guard_for(ai_max_retries=0).call(attempt)
    assert attempt.calls == 1
    assert sleep.waits == []


@pytest.mark.parametrize("error", [ProviderRejected, CircuitOpen, ProviderBusy])
async def test_a_non_retryable_error_is_raised_at_once(
    guard_for: Callable[..., ProviderGuard],
    sleep: RecordingSleep,
    provider: str,
    error: type[ProviderError],
) -> None:
    assert not error.retryable
    attempt = Script(error("no"))
    with pytest.raises(error):
        await guard_for(ai_max_retries=3).call(attempt)
    assert attempt.calls == 1
    assert sleep.waits == []
    assert requests(provider, error.code) == 1


async def test_invalid_output_is_retried(
    guard_for: Callable[..., ProviderGuard], sleep: RecordingSleep
) -> None:
    # Sampling again may well give valid output: retryable, though not the provider's fault.
    attempt = Script(ProviderInvalidOutput("empty"), "text")
    assert await guard_for(ai_max_retries=1).call(attempt) == "text"
    assert attempt.calls == 2
    assert len(sleep.waits) == 1


async def test_an_error_that_is_not_the_providers_is_not_retried(
    guard_for: Callable[..., ProviderGuard], sleep: RecordingSleep
) -> None:
    attempt = Script(ValueError("a bug of ours"))
    with pytest.raises(ValueError, match="a bug of ours"):
        await guard_for(ai_max_retries=3).call(attempt)
    assert attempt.calls == 1
    assert sleep.waits == []


@pytest.mark.parametrize("retry_after", [0.5, 2.5, 5.0])
async def test_a_short_retry_after_is_waited_exactly(
    guard_for: Callable[..., ProviderGuard], sleep: RecordingSleep, retry_after: float
) -> None:
    attempt = Script(ProviderRateLimited("slow down", retry_after=retry_after), "text")
    guard = guard_for(ai_max_retries=2, ai_retry_after_max_seconds=5.0)
    assert await guard.call(attempt) == "text"
    assert attempt.calls == 2
    assert sleep.waits == [retry_after]


async def test_a_long_retry_after_goes_to_the_client(
    guard_for: Callable[..., ProviderGuard], sleep: RecordingSleep, provider: str
) -> None:
    attempt = Script(ProviderRateLimited("slow down", retry_after=60))
    with pytest.raises(ProviderRateLimited) as raised:
        await guard_for(ai_max_retries=3, ai_retry_after_max_seconds=5.0).call(attempt)
    assert attempt.calls == 1
    assert sleep.waits == []
    assert raised.value.status == 503
    assert raised.value.headers == {"Retry-After": "60"}
    assert requests(provider, "ai_provider_rate_limited") == 1


async def test_a_slow_attempt_times_out(
    guard_for: Callable[..., ProviderGuard], provider: str
) -> None:
    calls = 0

    async def attempt() -> None:
        nonlocal calls
        calls += 1
        await stall()

    with pytest.raises(ProviderTimeout) as raised:
        await guard_for(ai_timeout_seconds=SHORT, ai_max_retries=1).call(attempt)
    assert raised.value.status == 504
    assert calls == 2  # a timeout is retried like any provider failure
    assert requests(provider, "ai_provider_timeout") == 2


# ProviderGuard.call: the breaker


async def test_failures_across_calls_open_the_breaker_and_then_calls_fail_fast(
    guard_for: Callable[..., ProviderGuard], clock: FakeClock, provider: str
) -> None:
    guard = guard_for(ai_breaker_failures=3, ai_breaker_reset_seconds=30, ai_max_retries=0)
    failing = Script(ProviderUnavailable())
    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            await guard.call(failing)
    assert guard.breaker.state == "open"
    assert circuit_open(provider) == 1

    untouched = Script("text")
    with pytest.raises(CircuitOpen) as refused:
        await guard.call(untouched)
    assert untouched.calls == 0
    assert refused.value.headers == {"Retry-After": "30"}
    assert requests(provider, "ai_circuit_open") == 0  # not a call to the provider

    clock.advance(30)
    assert await guard.call(untouched) == "text"  # the trial
    assert untouched.calls == 1
    assert guard.breaker.state == "closed"
    assert circuit_open(provider) == 0
    assert await guard.call(untouched) == "text"


async def test_retries_stop_once_the_breaker_opens(
    guard_for: Callable[..., ProviderGuard], sleep: RecordingSleep
) -> None:
    guard = guard_for(ai_breaker_failures=2, ai_max_retries=5)
    failing = Script(ProviderUnavailable())
    with pytest.raises(CircuitOpen):
        await guard.call(failing)
    assert failing.calls == 2
    assert len(sleep.waits) == 2  # waited, then found the circuit open


async def test_a_half_open_breaker_lets_one_call_through_at_a_time(
    guard_for: Callable[..., ProviderGuard], clock: FakeClock
) -> None:
    guard = guard_for(ai_breaker_failures=1, ai_max_retries=0)
    with pytest.raises(ProviderUnavailable):
        await guard.call(Script(ProviderUnavailable()))
    clock.advance(30)

    gate = Gate()
    trial = asyncio.create_task(guard.call(gate))
    await until(lambda: gate.started == 1)
    second = Script("text")
    with pytest.raises(CircuitOpen):
        await guard.call(second)
    assert second.calls == 0

    gate.opened.set()
    assert await trial == "through"
    assert await guard.call(second) == "text"


@pytest.mark.parametrize(
    "error",
    [ProviderRateLimited("slow down"), ProviderInvalidOutput("empty")],
    ids=["rate_limited", "invalid_output"],
)
async def test_errors_that_are_not_the_providers_fault_do_not_open_it(
    guard_for: Callable[..., ProviderGuard], error: ProviderError
) -> None:
    guard = guard_for(ai_breaker_failures=1, ai_max_retries=0)
    attempt = Script(error)
    for _ in range(5):
        with pytest.raises(type(error)):
            await guard.call(attempt)
    assert attempt.calls == 5
    assert guard.breaker.state == "closed"


async def test_a_rate_limited_trial_lets_the_next_trial_through(
    guard_for: Callable[..., ProviderGuard], clock: FakeClock
) -> None:
    guard = guard_for(ai_breaker_failures=1, ai_max_retries=0)
    with pytest.raises(ProviderUnavailable):
        await guard.call(Script(ProviderUnavailable()))
    clock.advance(30)

    with pytest.raises(ProviderRateLimited):
        await guard.call(Script(ProviderRateLimited("slow down")))
    assert guard.breaker.state == "half_open"
    assert await guard.call(Script("text")) == "text"
    assert guard.breaker.state == "closed"


# ProviderGuard.call: the concurrency cap


async def test_a_call_beyond_the_cap_waits_for_a_free_slot(
    guard_for: Callable[..., ProviderGuard],
) -> None:
    guard = guard_for(ai_max_concurrency=2, ai_queue_timeout_seconds=5)
    gates = [Gate() for _ in range(3)]
    calls = [asyncio.create_task(guard.call(gate)) for gate in gates]
    await until(lambda: gates[0].started + gates[1].started == 2)
    await a_few_ticks()
    assert gates[2].started == 0

    gates[0].opened.set()
    assert await calls[0] == "through"
    await until(lambda: gates[2].started == 1)
    gates[1].opened.set()
    gates[2].opened.set()
    assert await asyncio.gather(*calls) == ["through"] * 3


async def test_a_call_that_waits_too_long_for_a_slot_is_told_busy(
    guard_for: Callable[..., ProviderGuard], provider: str
) -> None:
    guard = guard_for(ai_max_concurrency=2, ai_queue_timeout_seconds=SHORT, ai_max_retries=2)
    gate = Gate()
    running = [asyncio.create_task(guard.call(gate)) for _ in range(2)]
    await until(lambda: gate.started == 2)

    with pytest.raises(ProviderBusy) as busy:
        await guard.call(gate)
    assert busy.value.status == 503
    assert busy.value.headers == {"Retry-After": "1"}
    assert gate.started == 2  # the third never reached the provider, nor retried

    gate.opened.set()
    assert await asyncio.gather(*running) == ["through", "through"]
    assert requests(provider, "ok") == 2


@pytest.mark.parametrize(
    ("ending", "raised"),
    [
        ("success", None),
        ("failure", ProviderRejected),
        ("error of ours", ValueError),
        ("timeout", ProviderTimeout),
    ],
)
async def test_the_slot_is_freed_however_a_call_ends(
    guard_for: Callable[..., ProviderGuard], ending: str, raised: type[Exception] | None
) -> None:
    guard = guard_for(
        ai_max_concurrency=1,
        ai_queue_timeout_seconds=SHORT,
        ai_timeout_seconds=SHORT,
        ai_max_retries=0,
    )

    async def first() -> str:
        if ending == "failure":
            raise ProviderRejected("bad key")
        if ending == "error of ours":
            raise ValueError("bug")
        if ending == "timeout":
            await stall()
        return "text"

    with pytest.raises(raised) if raised else nullcontext():
        await guard.call(first)
    assert await guard.call(Script("next")) == "next"  # not ProviderBusy


async def test_a_cancelled_call_frees_its_slot(guard_for: Callable[..., ProviderGuard]) -> None:
    guard = guard_for(ai_max_concurrency=1, ai_queue_timeout_seconds=SHORT)
    gate = Gate()
    call = asyncio.create_task(guard.call(gate))
    await until(lambda: gate.started == 1)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert await guard.call(Script("next")) == "next"


async def test_a_cancelled_trial_does_not_leave_the_breaker_stuck(
    guard_for: Callable[..., ProviderGuard], clock: FakeClock
) -> None:
    guard = guard_for(ai_breaker_failures=1, ai_max_retries=0)
    with pytest.raises(ProviderUnavailable):
        await guard.call(Script(ProviderUnavailable()))
    clock.advance(30)

    gate = Gate()
    trial = asyncio.create_task(guard.call(gate))
    await until(lambda: gate.started == 1)
    trial.cancel()
    with pytest.raises(asyncio.CancelledError):
        await trial

    assert guard.breaker.state == "half_open"  # a client leaving says nothing of the provider
    assert await guard.call(Script("text")) == "text"
    assert guard.breaker.state == "closed"


async def test_a_trial_cancelled_while_queued_for_a_slot_does_not_leave_the_breaker_stuck(
    guard_for: Callable[..., ProviderGuard], clock: FakeClock
) -> None:
    guard = guard_for(
        ai_breaker_failures=1, ai_max_retries=0, ai_max_concurrency=1, ai_queue_timeout_seconds=5
    )
    # A call admitted while closed holds the only slot...
    holder = Gate()
    holding = asyncio.create_task(guard.call(holder))
    await until(lambda: holder.started == 1)
    # ...another call fails and opens the breaker; it cools down...
    guard.breaker.failed()
    assert guard.breaker.state == "open"
    clock.advance(30)
    # ...and the trial, queued behind the holder, is cancelled before it gets the slot.
    queued = Gate()
    trial = asyncio.create_task(guard.call(queued))
    await a_few_ticks()
    assert not trial.done()
    trial.cancel()
    with pytest.raises(asyncio.CancelledError):
        await trial
    assert queued.started == 0

    # The next call is the next trial: admitted, and queued for the slot, not refused.
    following = asyncio.create_task(guard.call(Script("text")))
    await a_few_ticks()
    assert not following.done()
    holder.opened.set()
    assert await holding == "through"
    assert await following == "text"
    assert guard.breaker.state == "closed"


async def test_a_trial_told_busy_lets_the_next_trial_through(
    guard_for: Callable[..., ProviderGuard], clock: FakeClock
) -> None:
    guard = guard_for(
        ai_breaker_failures=1,
        ai_max_retries=0,
        ai_max_concurrency=1,
        ai_queue_timeout_seconds=SHORT,
    )
    holder = Gate()
    holding = asyncio.create_task(guard.call(holder))
    await until(lambda: holder.started == 1)
    guard.breaker.failed()
    clock.advance(30)

    with pytest.raises(ProviderBusy):
        await guard.call(Script("text"))  # the trial, but no slot for it
    holder.opened.set()
    await holding  # a success that closes the breaker: open it again for a fresh trial
    guard.breaker.failed()
    clock.advance(30)
    assert await guard.call(Script("text")) == "text"


# ProviderGuard.stream


async def test_a_stream_passes_its_pieces_through_in_order(
    guard_for: Callable[..., ProviderGuard], provider: str
) -> None:
    streams = Streams(["Hello", ", ", "world"])
    assert await collect(guard_for().stream(streams)) == ["Hello", ", ", "world"]
    assert streams.opens == 1
    assert streams.closed == 1
    assert requests(provider, "ok") == 1


async def test_an_empty_stream_is_a_success(
    guard_for: Callable[..., ProviderGuard], clock: FakeClock, provider: str
) -> None:
    guard = guard_for(ai_breaker_failures=1, ai_max_retries=0)
    with pytest.raises(ProviderUnavailable):
        await guard.call(Script(ProviderUnavailable()))
    clock.advance(30)

    assert await collect(guard.stream(Streams([]))) == []
    assert guard.breaker.state == "closed"
    assert requests(provider, "ok") == 1


async def test_an_error_before_the_first_piece_is_retried(
    guard_for: Callable[..., ProviderGuard], sleep: RecordingSleep, provider: str
) -> None:
    streams = Streams([ProviderUnavailable()], [ProviderTimeout()], ["a", "b"])
    assert await collect(guard_for(ai_max_retries=2).stream(streams)) == ["a", "b"]
    assert streams.opens == 3
    assert streams.closed == 3
    assert len(sleep.waits) == 2
    assert requests(provider, "ai_provider_unavailable") == 1
    assert requests(provider, "ok") == 1


async def test_a_stream_that_never_opens_raises_after_its_retries(
    guard_for: Callable[..., ProviderGuard], sleep: RecordingSleep
) -> None:
    streams = Streams([ProviderUnavailable()])
    with pytest.raises(ProviderUnavailable):
        await collect(guard_for(ai_max_retries=2).stream(streams))
    assert streams.opens == 3
    assert len(sleep.waits) == 2


async def test_a_non_retryable_error_before_the_first_piece_is_not_retried(
    guard_for: Callable[..., ProviderGuard], sleep: RecordingSleep
) -> None:
    streams = Streams([ProviderRejected("bad key")])
    with pytest.raises(ProviderRejected):
        await collect(guard_for(ai_max_retries=2).stream(streams))
    assert streams.opens == 1
    assert sleep.waits == []


async def test_an_error_after_the_first_piece_ends_the_stream_without_retry(
    guard_for: Callable[..., ProviderGuard], sleep: RecordingSleep, provider: str
) -> None:
    streams = Streams(["a", "b", ProviderUnavailable("dropped")], ["never"])
    received: list[str] = []
    guard = guard_for(ai_max_retries=3, ai_breaker_failures=1)
    with pytest.raises(ProviderUnavailable):
        await drain(guard.stream(streams), received)
    assert received == ["a", "b"]
    assert streams.opens == 1
    assert sleep.waits == []
    assert requests(provider, "ai_provider_unavailable") == 1
    assert guard.breaker.state == "open"  # the provider failed: it counts


@pytest.mark.parametrize(
    ("steps", "raised"),
    [
        ([ProviderUnavailable()], ProviderUnavailable),
        (["a", ProviderUnavailable()], ProviderUnavailable),
        (["a", "b"], None),
    ],
    ids=["before the first piece", "after it", "at the end"],
)
async def test_the_provider_stream_is_closed_however_it_ends(
    guard_for: Callable[..., ProviderGuard], steps: list[object], raised: type[Exception] | None
) -> None:
    opened: list[ResponseStream] = []

    def open_stream() -> ResponseStream:
        opened.append(ResponseStream(*steps, StopAsyncIteration()))
        return opened[-1]

    with pytest.raises(raised) if raised else nullcontext():
        await collect(guard_for(ai_max_retries=1).stream(open_stream))
    assert opened
    assert all(stream.closed for stream in opened)


async def test_a_stall_between_pieces_times_out_without_retry(
    guard_for: Callable[..., ProviderGuard], provider: str
) -> None:
    streams = Streams(["a", STALL, "never"])
    received: list[str] = []
    guard = guard_for(ai_timeout_seconds=SHORT, ai_max_retries=2)
    with pytest.raises(ProviderTimeout):
        await drain(guard.stream(streams), received)
    assert received == ["a"]
    assert streams.opens == 1
    assert streams.closed == 1
    assert requests(provider, "ai_provider_timeout") == 1


async def test_a_stall_before_the_first_piece_times_out_and_is_retried(
    guard_for: Callable[..., ProviderGuard],
) -> None:
    streams = Streams([STALL], ["a"])
    guard = guard_for(ai_timeout_seconds=SHORT, ai_max_retries=1)
    assert await collect(guard.stream(streams)) == ["a"]
    assert streams.opens == 2


async def test_a_stream_holds_its_slot_until_it_ends(
    guard_for: Callable[..., ProviderGuard],
) -> None:
    guard = guard_for(ai_max_concurrency=1, ai_queue_timeout_seconds=SHORT)
    stream = guard.stream(Streams(["a", "b"]))
    assert await anext(stream) == "a"
    with pytest.raises(ProviderBusy):
        await guard.call(Script("text"))

    assert await collect(stream) == ["b"]
    assert await guard.call(Script("text")) == "text"


async def test_a_consumer_that_stops_early_closes_the_provider_stream(
    guard_for: Callable[..., ProviderGuard],
) -> None:
    guard = guard_for(ai_max_concurrency=1, ai_queue_timeout_seconds=SHORT)
    streams = Streams(["a", "b", "c"])
    stream = guard.stream(streams)
    assert await anext(stream) == "a"
    await stream.aclose()

    assert streams.closed == 1
    assert await guard.call(Script("text")) == "text"  # the slot is free


async def test_a_trial_stream_stopped_early_lets_the_next_trial_through(
    guard_for: Callable[..., ProviderGuard], clock: FakeClock
) -> None:
    guard = guard_for(ai_breaker_failures=1, ai_max_retries=0)
    with pytest.raises(ProviderUnavailable):
        await guard.call(Script(ProviderUnavailable()))
    clock.advance(30)

    stream = guard.stream(Streams(["a", "b"]))
    assert await anext(stream) == "a"
    await stream.aclose()

    assert await guard.call(Script("text")) == "text"
    assert guard.breaker.state == "closed"


async def test_a_trial_stream_cancelled_before_its_first_piece_lets_the_next_trial_through(
    guard_for: Callable[..., ProviderGuard], clock: FakeClock
) -> None:
    guard = guard_for(ai_breaker_failures=1, ai_max_retries=0)
    with pytest.raises(ProviderUnavailable):
        await guard.call(Script(ProviderUnavailable()))
    clock.advance(30)

    streams = Streams([STALL])
    task = asyncio.create_task(collect(guard.stream(streams)))
    await until(lambda: streams.opens == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert streams.closed == 1
    assert await guard.call(Script("text")) == "text"
    assert guard.breaker.state == "closed"


async def test_a_cancelled_consumer_frees_the_slot_and_closes_the_provider_stream(
    guard_for: Callable[..., ProviderGuard],
) -> None:
    guard = guard_for(ai_max_concurrency=1, ai_queue_timeout_seconds=SHORT)
    streams = Streams(["a", STALL])
    received: list[str] = []

    task = asyncio.create_task(drain(guard.stream(streams), received))
    await until(lambda: received == ["a"])
    await a_few_ticks()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert streams.closed == 1
    assert await guard.call(Script("text")) == "text"
