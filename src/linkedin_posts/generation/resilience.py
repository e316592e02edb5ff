"""The provider's edge: a cap on calls at once, a timeout per call, retries, a circuit breaker.

Our own, not the openai SDK's retries (switched off) nor a breaker library: the SDK's loop
cannot see our breaker, cap or metrics, and would retry a 429 for up to 60 s; the maintained
breaker libraries are synchronous (pybreaker) or unmaintained for asyncio (aiobreaker). What is
here is two small state machines, tested in tests/generation/test_resilience.py.

Each process has its own breaker: a provider failing for one process fails for the others
within K calls of theirs, and needs no shared state that could itself fail.
"""

import asyncio
import logging
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing, asynccontextmanager
from typing import TypeVar

from linkedin_posts.config import Settings
from linkedin_posts.generation.exceptions import (
    CircuitOpen,
    ProviderBusy,
    ProviderError,
    ProviderTimeout,
)
from linkedin_posts.observability.metrics import LLM_CIRCUIT_OPEN, LLM_REQUEST_SECONDS, LLM_REQUESTS

T = TypeVar("T")
logger = logging.getLogger(__name__)


class CircuitBreaker:
    """Closed until `failures` calls in a row fail; then open for `reset_seconds`, refusing every
    call; then half-open: one trial call goes through, and closes it or opens it again."""

    def __init__(
        self,
        *,
        failures: int,
        reset_seconds: float,
        provider: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = failures
        self.reset_seconds = reset_seconds
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self.trial_running = False
        self._gauge = LLM_CIRCUIT_OPEN.labels(provider)

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half_open" if self._cooled_down() else "open"

    def _cooled_down(self) -> bool:
        return self.opened_at is not None and self.clock() - self.opened_at >= self.reset_seconds

    def before_call(self) -> None:
        """Let a call through, or raise CircuitOpen with how long until the next trial."""
        if self.opened_at is None:
            return
        if self._cooled_down() and not self.trial_running:
            self.trial_running = True
            return
        wait = max(1.0, self.reset_seconds - (self.clock() - self.opened_at))
        raise CircuitOpen("The AI provider is failing; calls to it are paused.", retry_after=wait)

    def succeeded(self) -> None:
        self.failures = 0
        self.opened_at = None
        self.trial_running = False
        self._gauge.set(0)

    def failed(self) -> None:
        self.failures += 1
        if self.trial_running or self.failures >= self.threshold:
            self.opened_at = self.clock()
            self.trial_running = False
            self._gauge.set(1)

    def released(self) -> None:
        """A trial call ended without a verdict on the provider (e.g. its own rate limit)."""
        self.trial_running = False


class ProviderGuard:
    """Runs provider calls within the limits of the LP_AI_* settings."""

    def __init__(
        self,
        settings: Settings,
        *,
        provider: str,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.provider = provider
        self.timeout = settings.ai_timeout_seconds
        self.retries = settings.ai_max_retries
        self.backoff = settings.ai_retry_backoff_seconds
        self.retry_after_max = settings.ai_retry_after_max_seconds
        self.queue_timeout = settings.ai_queue_timeout_seconds
        self.slots = asyncio.Semaphore(settings.ai_max_concurrency)
        self.breaker = CircuitBreaker(
            failures=settings.ai_breaker_failures,
            reset_seconds=settings.ai_breaker_reset_seconds,
            provider=provider,
            clock=clock,
        )
        self.sleep = sleep
        self._requests = LLM_REQUESTS
        self._seconds = LLM_REQUEST_SECONDS.labels(provider)

    async def call(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """`attempt()`'s result, retried on a retryable ProviderError with backoff and jitter."""
        for number in range(self.retries + 1):
            try:
                async with self._slot():
                    return await self._timed(attempt)
            except ProviderError as exc:
                await self._before_retry(exc, number)
        raise AssertionError("unreachable: the last attempt raises")

    async def stream(self, open_stream: Callable[[], AsyncIterator[T]]) -> AsyncGenerator[T, None]:
        """The pieces of a stream. Opening it (up to its first piece) is retried like a call;
        once a piece has gone to the client, a failure ends the stream. Each piece must come
        within the timeout, so a stalled stream ends too."""
        for number in range(self.retries + 1):
            try:
                async with self._slot():
                    started = time.perf_counter()
                    pieces = open_stream()
                    try:
                        first = await self._next(pieces)
                    except StopAsyncIteration:
                        self._finished("ok", started)
                        self.breaker.succeeded()
                        return
                    except ProviderError as exc:
                        self._record_failure(exc, started)
                        await _close(pieces)
                        raise
                    except BaseException:
                        self.breaker.released()
                        await _close(pieces)
                        raise
                    # From here on no retry: the client has what was sent. aclosing: a
                    # consumer that stops early closes the rest now, not when it is collected.
                    async with aclosing(self._rest(first, pieces, started)) as rest:
                        async for piece in rest:
                            yield piece
                    return
            except ProviderError as exc:
                await self._before_retry(exc, number)

    async def _rest(
        self, first: T, pieces: AsyncIterator[T], started: float
    ) -> AsyncGenerator[T, None]:
        try:
            yield first
            while True:
                try:
                    piece = await self._next(pieces)
                except StopAsyncIteration:
                    break
                yield piece
        except ProviderError as exc:
            self._record_failure(exc, started)
            exc.retryable = False  # pieces have been sent: no retry
            raise
        except BaseException:  # the client went away: no verdict on the provider
            self.breaker.released()
            raise
        finally:
            await _close(pieces)
        self._finished("ok", started)
        self.breaker.succeeded()

    async def _next(self, pieces: AsyncIterator[T]) -> T:
        try:
            async with asyncio.timeout(self.timeout):
                return await anext(pieces)
        except TimeoutError:
            raise ProviderTimeout(f"The AI provider sent nothing for {self.timeout:g} s.") from None

    @asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        self.breaker.before_call()
        try:
            async with asyncio.timeout(self.queue_timeout):
                await self.slots.acquire()
        except TimeoutError:
            self.breaker.released()
            raise ProviderBusy(
                "Every AI provider slot of this server is taken; retry shortly.", retry_after=1
            ) from None
        except BaseException:
            self.breaker.released()  # cancelled while queued: a trial must not stay taken
            raise
        try:
            yield
        finally:
            self.slots.release()

    async def _timed(self, attempt: Callable[[], Awaitable[T]]) -> T:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                result = await attempt()
        except TimeoutError:
            exc = ProviderTimeout(f"The AI provider did not answer within {self.timeout:g} s.")
            self._record_failure(exc, started)
            raise exc from None
        except ProviderError as exc:
            self._record_failure(exc, started)
            raise
        except BaseException:
            self.breaker.released()  # cancelled: no verdict on the provider
            raise
        self._finished("ok", started)
        self.breaker.succeeded()
        return result

    def _record_failure(self, exc: ProviderError, started: float) -> None:
        # Our own words only: a provider's body may quote the request or the key.
        logger.warning("AI provider %s call failed: %s: %s", self.provider, exc.code, exc.detail)
        self._finished(exc.code, started)
        if exc.counts_as_failure:
            self.breaker.failed()
        else:
            self.breaker.released()

    def _finished(self, outcome: str, started: float) -> None:
        self._requests.labels(self.provider, outcome).inc()
        self._seconds.observe(time.perf_counter() - started)

    async def _before_retry(self, exc: ProviderError, number: int) -> None:
        """Wait before the next attempt, or raise `exc` when there is none worth making."""
        if not exc.retryable or number >= self.retries:
            raise exc
        if exc.retry_after is not None:
            if exc.retry_after > self.retry_after_max:
                raise exc  # its Retry-After goes to the client, who can wait better than we
            wait = exc.retry_after
        else:
            wait = backoff_seconds(self.backoff, number)
        await self.sleep(wait)


def backoff_seconds(first: float, retry: int) -> float:
    """The wait before retry number `retry` (from 0): exponential from `first`, with "equal
    jitter" (half fixed, half random), so callers that failed together do not come back
    together."""
    step = first * 2.0**retry
    return step / 2 + random.uniform(0, step / 2)  # noqa: S311  # not for security


async def _close(pieces: AsyncIterator[object]) -> None:
    close = getattr(pieces, "aclose", None)
    if close is not None:
        await close()
