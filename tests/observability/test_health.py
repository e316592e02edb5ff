"""Liveness and readiness, against real failures: a Redis that stops, a database that goes away."""

import asyncio
import contextlib
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from linkedin_posts.main import create_app
from tests.conftest import fresh_database, make_settings
from tests.ports import free_port

READY = "/health/ready"
# Short, so the failure tests wait little; long enough that a healthy check on a busy CI
# machine does not time out.
HEALTH_TIMEOUT = 1.0


async def wait_for(condition: Callable[[], Awaitable[bool]], *, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        assert time.monotonic() < deadline, "the condition did not become true in time"
        await asyncio.sleep(0.05)


async def ready_status(client: httpx.AsyncClient, status: int) -> httpx.Response:
    """Poll readiness until it answers `status`, and return that answer."""
    answers: list[httpx.Response] = []

    async def answered() -> bool:
        answers.append(await client.get(READY))
        return answers[-1].status_code == status

    await wait_for(answered)
    return answers[-1]


@contextlib.asynccontextmanager
async def app_client(database_url: str, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(database_url, health_timeout_seconds=HEALTH_TIMEOUT, **overrides)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def assert_failed(body: dict[str, Any], check: str, error: str | None = None) -> None:
    assert body["status"] == "not_ready"
    result = body["checks"][check]
    assert result["ok"] is False
    assert result["latency_ms"] <= HEALTH_TIMEOUT * 1000 + 250
    if error is not None:
        assert result["error"] == error


async def test_live_answers_ok_and_is_never_cached(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"


async def test_ready_reports_each_check_with_its_latency(client: httpx.AsyncClient) -> None:
    response = await client.get(READY)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["status"] == "ready"
    # No LP_REDIS_URL: no redis check, rather than a check of nothing.
    assert set(body["checks"]) == {"database", "migrations"}
    for result in body["checks"].values():
        assert result["ok"] is True
        assert "error" not in result
        assert 0 <= result["latency_ms"] < HEALTH_TIMEOUT * 1000
    assert body["checks"]["migrations"]["detail"].startswith("database at ")


async def test_health_routes_are_documented(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "security" not in paths["/health/live"]["get"]
    responses = paths[READY]["get"]["responses"]
    for status in ("200", "503"):
        schema = responses[status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Readiness"}


# --- Redis ------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def redis_server(port: int, workdir: Path) -> AsyncIterator[None]:
    """A private redis-server on a loopback port, answering PING before this yields."""
    process = await asyncio.create_subprocess_exec(
        *("redis-server", "--port", str(port), "--bind", "127.0.0.1"),
        *("--save", "", "--appendonly", "no", "--dir", str(workdir)),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await wait_for(lambda: redis_answers(port))
        yield
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=10)


async def redis_answers(port: int) -> bool:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    try:
        writer.write(b"PING\r\n")
        return (await reader.readline()).startswith(b"+PONG")
    finally:
        writer.close()
        await writer.wait_closed()


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs the redis-server binary")
async def test_ready_follows_redis_going_down_and_coming_back(
    migrated_url: str, tmp_path: Path
) -> None:
    port = free_port()
    async with app_client(migrated_url, redis_url=f"redis://127.0.0.1:{port}/0") as client:
        async with redis_server(port, tmp_path):
            response = await ready_status(client, 200)
            assert response.json()["checks"]["redis"]["ok"] is True

        response = await ready_status(client, 503)
        body = response.json()
        assert_failed(body, "redis", "unreachable")
        assert body["checks"]["database"]["ok"] is True
        assert str(port) not in response.text

        async with redis_server(port, tmp_path):
            response = await ready_status(client, 200)
            assert response.json()["checks"]["redis"]["ok"] is True


# --- Database ---------------------------------------------------------------------------------


class TcpProxy:
    """A loopback TCP relay to the database server that a test can cut and restore."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def running(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def stop(self) -> None:
        """Stop listening and drop every open connection, like a server that went away."""
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()
        self._server = None

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self._writers.add(client_w)
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.transport.abort()
            self._writers.discard(client_w)
            return
        self._writers.add(server_w)
        try:
            await asyncio.gather(_pipe(client_r, server_w), _pipe(server_r, client_w))
        finally:
            self._writers.difference_update((client_w, server_w))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.transport.abort()


async def test_ready_follows_the_database_going_away_and_coming_back(
    backend: str, migrated_url: str
) -> None:
    if backend != "postgresql":
        pytest.skip("a database server that goes away is PostgreSQL's case; SQLite is a file")
    url = make_url(migrated_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    await proxy.start()
    try:
        async with app_client(proxied) as client:
            response = await client.get(READY)
            assert response.status_code == 200, response.text

            await proxy.stop()
            response = await client.get(READY)
            assert response.status_code == 503
            body = response.json()
            assert_failed(body, "database", "unreachable")
            assert_failed(body, "migrations", "unreachable")
            for leak in (str(proxy.port), url.database or "", "postgres", "SELECT"):
                assert leak not in response.text

            await proxy.start()
            response = await ready_status(client, 200)
            assert response.json()["checks"]["database"]["ok"] is True
    finally:
        if proxy.running:
            await proxy.stop()


async def test_a_database_that_never_answers_is_a_timeout_within_the_limit() -> None:
    # Accepts connections and never says a word: a hung server, or a network that drops packets.
    async def hang(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    held: list[asyncio.StreamWriter] = []
    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with app_client(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/hung") as client:
            started = time.monotonic()
            response = await client.get(READY)
            assert time.monotonic() - started < HEALTH_TIMEOUT + 1
        assert response.status_code == 503
        assert_failed(response.json(), "database", "timeout")
        assert_failed(response.json(), "migrations", "timeout")
    finally:
        server.close()
        for writer in held:
            writer.transport.abort()
        await server.wait_closed()


async def test_any_other_database_failure_is_named_only_failed(
    backend: str, migrated_url: str
) -> None:
    if backend != "postgresql":
        pytest.skip("a missing database is a server's answer; SQLite would create the file")
    name = f"lp_missing_{uuid.uuid4().hex[:8]}"
    missing = make_url(migrated_url).set(database=name).render_as_string(hide_password=False)
    async with app_client(missing) as client:
        response = await client.get(READY)
    assert response.status_code == 503
    assert_failed(response.json(), "database", "failed")
    assert name not in response.text


# --- Migrations -------------------------------------------------------------------------------


@pytest.fixture
async def empty_database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """A database that exists and answers, with no schema in it."""
    async with fresh_database(backend, tmp_path) as url:
        yield url


async def test_ready_is_503_on_a_database_without_the_schema(empty_database_url: str) -> None:
    async with app_client(empty_database_url) as client:
        response = await client.get(READY)
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"]["ok"] is True
    assert_failed(body, "migrations", "not migrated")
    assert body["checks"]["migrations"]["detail"].startswith("database at none, head ")


async def test_ready_is_503_on_a_database_at_a_revision_this_code_does_not_know(
    empty_database_url: str,
) -> None:
    # What an old process sees after a newer release has migrated the database.
    engine = create_async_engine(empty_database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
            )
            await conn.execute(text("INSERT INTO alembic_version VALUES ('9999_from_the_future')"))
    finally:
        await engine.dispose()
    async with app_client(empty_database_url) as client:
        response = await client.get(READY)
    assert response.status_code == 503
    assert_failed(response.json(), "migrations", "unknown revision")
    assert "9999_from_the_future" in response.json()["checks"]["migrations"]["detail"]
