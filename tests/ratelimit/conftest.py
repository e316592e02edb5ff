import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from linkedin_posts.main import create_app
from linkedin_posts.ratelimit.limiter import RouteClass, limit_key
from linkedin_posts.ratelimit.windows import Quota, window
from tests.conftest import make_settings, serving


class FakeClock:
    """time.time for the code under test, moved by the test alone."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


ClientFor = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


# Each identity's windows end at a phase of their own (ratelimit/windows.py), so on the real clock
# a test's requests sometimes straddle the end of one and find a fresh budget: seen in CI, a
# third login admitted under "2/minute". A test that counts up to a limit therefore holds the
# clock (an app in the test's process) or starts early in a window (a server in its own).


def hold_the_clock(app: FastAPI, clock: Callable[[], float] | None = None) -> None:
    """Give the started app's rate limiter a clock (by default stopped at now) that only the
    test moves."""
    if app.state.rate_limiter is not None:
        app.state.rate_limiter.clock = clock or FakeClock(time.time())


async def a_window_that_lasts(
    seconds: float, quota: str, route_class: RouteClass, identity: str
) -> None:
    """Wait, if need be, for the identity's next window, so that the next `seconds` fall in one."""
    current = window(Quota.parse(quota), limit_key(route_class, identity), time.time())
    if current.reset_after < seconds:
        await asyncio.sleep(current.reset_after + 0.1)


@pytest.fixture
def client_for(migrated_url: str) -> ClientFor:
    """A client of an app with these settings on the migrated database, emptied afterwards.

    Every app of the test counts on one held clock, at the time the test started."""
    held = FakeClock(time.time())

    @asynccontextmanager
    async def open_client(
        build: Callable[[FastAPI], None] = lambda _app: None, **overrides: object
    ) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(make_settings(migrated_url, **overrides))
        build(app)
        async with serving(app) as client:
            hold_the_clock(app, held)
            yield client

    return open_client


def limit_headers(response: httpx.Response) -> tuple[int, int, int]:
    """RateLimit-Limit, -Remaining and -Reset."""
    return (
        int(response.headers["RateLimit-Limit"]),
        int(response.headers["RateLimit-Remaining"]),
        int(response.headers["RateLimit-Reset"]),
    )
