from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from linkedin_posts.main import create_app
from tests.conftest import make_settings

ClientFor = Callable[..., AbstractAsyncContextManager[tuple[FastAPI, httpx.AsyncClient]]]


@pytest.fixture
def client_for(tmp_path: Path) -> ClientFor:
    """An app with these settings and a client of it; its routes here need no database."""

    @asynccontextmanager
    async def open_client(
        build: Callable[[FastAPI], None] = lambda _app: None, **overrides: object
    ) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
        settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", **overrides)
        app = create_app(settings)
        build(app)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield app, client

    return open_client
