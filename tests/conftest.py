"""Shared fixtures: every test runs on SQLite, and on PostgreSQL when LP_TEST_DATABASE_URL is set.

Under CI=true both LP_TEST_DATABASE_URL and LP_TEST_REDIS_URL must be set and reachable: the
run fails at once instead of quietly skipping the real services.
"""

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import anyio.to_thread
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from linkedin_posts import migrate
from linkedin_posts.auth import service
from linkedin_posts.auth.models import Role
from linkedin_posts.config import Settings
from linkedin_posts.main import create_app

# CI systems set CI=true, CI=1 or CI=yes; only an unset, empty, "0" or "false" CI means a laptop.
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false")
PG_URL = os.environ.get("LP_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("LP_TEST_REDIS_URL")
# Children first, so deleting never trips a foreign key.
TABLES = ("job_items", "jobs", "ai_usage", "post_tags", "posts", "api_keys", "users")
PASSWORD = "correct horse battery"


def pytest_configure(config: pytest.Config) -> None:
    if IN_CI:
        missing = [
            name
            for name, value in [("LP_TEST_DATABASE_URL", PG_URL), ("LP_TEST_REDIS_URL", REDIS_URL)]
            if not value
        ]
        if missing:
            raise pytest.UsageError(f"CI=true but {', '.join(missing)} is not set")


def _ping_redis(url: str) -> None:
    # A real PING over RESP: an open port alone could be anything. (redis-py arrives with the
    # cache; until then this is all the suite asks of Redis.)
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 3) as sock:
        if parts.password:
            user = parts.username or "default"
            sock.sendall(f"AUTH {user} {parts.password}\r\n".encode())
            sock.recv(64)
        sock.sendall(b"PING\r\n")
        reply = sock.recv(64)
    if not reply.startswith(b"+PONG"):
        raise RuntimeError(f"Redis answered {reply[:40]!r} to PING")


async def _ping_postgres(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Stop the whole run, loudly and at once, when a configured service does not answer."""
    checks = [("PostgreSQL", PG_URL, lambda url: asyncio.run(_ping_postgres(url)))]
    checks.append(("Redis", REDIS_URL, _ping_redis))
    for name, url, check in checks:
        if not url:
            continue
        try:
            check(url)
        except Exception as exc:
            shown = make_url(url).render_as_string(hide_password=True)
            pytest.exit(
                f"{name} at {shown} is unreachable ({type(exc).__name__}: {exc}); "
                "start it (see ARCHITECTURE.md)",
                returncode=3,
            )


def _backends() -> list[str]:
    return ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


@pytest.fixture(scope="session", params=_backends())
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
async def database_url(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    async with fresh_database(backend, tmp_path_factory.mktemp("db")) as url:
        yield url


@asynccontextmanager
async def fresh_database(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database nobody else uses: a new file, or a new database on the PG server.

    Parallel runs and tests that need a database of their own never see each other's rows.
    """
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / f'fresh-{uuid.uuid4().hex[:8]}.db'}"
        return
    assert PG_URL
    server = make_url(PG_URL)
    name = f"lp_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def make_settings(database_url: str, **overrides: object) -> Settings:
    # No job runner unless a test asks for one (tests/jobs): its queries every poll would
    # otherwise run beside every other test's statements.
    overrides = {"jobs_enabled": False, **overrides}
    return Settings(_env_file=None, env="test", database_url=database_url, **overrides)  # type: ignore[call-arg]


def multi_process_settings(database_url: str, **overrides: object) -> Settings:
    """For several apps on one database, like API processes: they share the cache in Redis or,
    without Redis (a laptop), run without one, as `serve --workers N` does."""
    shared: dict[str, object] = (
        # Every test registers from the same address; in Redis the auth budget outlives an app.
        {"redis_url": REDIS_URL, "ratelimit_auth": "100000/minute"}
        if REDIS_URL
        else {"cache_enabled": False}
    )
    return make_settings(database_url, **{**shared, **overrides})


@pytest.fixture(scope="session")
async def migrated_url(database_url: str) -> str:
    """A fresh database at the head migration, applied the way `linkedin-posts migrate` does."""
    await anyio.to_thread.run_sync(migrate.upgrade, database_url)
    return database_url


async def truncate(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
        else:
            for table in TABLES:
                await conn.execute(text(f"DELETE FROM {table}"))


async def empty(app: FastAPI) -> None:
    """Empty the app's tables, its job runner stopped first: a runner's transaction holding
    one table while TRUNCATE takes them all in turn is a deadlock."""
    runner = app.state.job_runner
    if runner is not None:
        await runner.stop()
    await truncate(app.state.engine)


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `app`, started; its tables are emptied when it stops."""
    async with app.router.lifespan_context(app):
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield client
        finally:
            await empty(app)


@pytest.fixture
def settings(migrated_url: str) -> Settings:
    return make_settings(migrated_url)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        try:
            yield app
        finally:
            await empty(app)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
async def second_client(app: FastAPI, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a second app with its own engine and pool on the same database.

    Like a second API process: requests through it race with requests through `client` on the
    database itself, not only on the event loop. It depends on `app` so it closes before `app`
    empties the tables. Modules that use it build `settings` with multi_process_settings.
    """
    assert settings.redis_url or not settings.cache_enabled, "use multi_process_settings"
    other = create_app(settings)
    async with other.router.lifespan_context(other):
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@dataclass
class Account:
    id: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


MakeAccount = Callable[..., Awaitable[Account]]


async def open_account(
    client: httpx.AsyncClient, email: str | None = None, password: str = PASSWORD
) -> Account:
    """Register a user through the API and log in; returns its id, email and token."""
    email = email or f"user-{uuid.uuid4().hex[:12]}@example.com"
    created = await client.post("/v1/auth/register", json={"email": email, "password": password})
    assert created.status_code == 201, created.text
    login = await client.post("/v1/auth/token", data={"username": email, "password": password})
    assert login.status_code == 200, login.text
    return Account(id=created.json()["id"], email=email, token=login.json()["access_token"])


async def open_admin(app: FastAPI, client: httpx.AsyncClient) -> Account:
    """An administrator made the way `linkedin-posts create-user --admin` makes one, logged in."""
    email = f"admin-{uuid.uuid4().hex[:12]}@example.com"
    async with app.state.session_factory() as session:
        user = await service.create_user(
            session, settings=app.state.settings, email=email, password=PASSWORD, role=Role.ADMIN
        )
        await session.commit()
    login = await client.post("/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return Account(id=str(user.id), email=email, token=login.json()["access_token"])


@pytest.fixture
def make_account(client: httpx.AsyncClient) -> MakeAccount:
    """open_account on the test's client."""

    async def make(email: str | None = None, password: str = PASSWORD) -> Account:
        return await open_account(client, email, password)

    return make


@pytest.fixture
async def account(make_account: MakeAccount) -> Account:
    return await make_account()


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    """Assert an RFC 9457 problem response with our stable code, and return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert {"type", "title", "detail"} <= body.keys()
    return body


REPO_ROOT = Path(__file__).resolve().parent.parent
