from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from linkedin_posts.main import create_app
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


@pytest.fixture
def client_for(migrated_url: str) -> ClientFor:
    """A client of an app with these settings on the migrated database, emptied afterwards."""

    @asynccontextmanager
    async def open_client(
        build: Callable[[FastAPI], None] = lambda _app: None, **overrides: object
    ) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(make_settings(migrated_url, **overrides))
        build(app)
        async with serving(app) as client:
            yield client

    return open_client


def limit_headers(response: httpx.Response) -> tuple[int, int, int]:
    """RateLimit-Limit, -Remaining and -Reset."""
    return (
        int(response.headers["RateLimit-Limit"]),
        int(response.headers["RateLimit-Remaining"]),
        int(response.headers["RateLimit-Reset"]),
    )
