"""What a client sees when the database misbehaves or the code fails: never a 500 that leaks."""

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from linkedin_posts.auth import security
from linkedin_posts.config import Settings
from linkedin_posts.main import create_app
from tests.conftest import Account, assert_problem, make_settings
from tests.ports import free_port

OUR_BACKENDS = """
    SELECT pid FROM pg_stat_activity
    WHERE datname = current_database() AND application_name = 'linkedin-posts'
"""


async def test_connections_the_server_closed_cost_no_failed_request(
    app: FastAPI, client: httpx.AsyncClient, account: Account, backend: str, migrated_url: str
) -> None:
    if backend != "postgresql":
        pytest.skip("a server closing pooled connections is PostgreSQL's case; SQLite is a file")
    pooled: list[Any] = []
    event.listen(app.state.engine.sync_engine, "checkin", lambda conn, _rec: pooled.append(conn))
    # Both pools now hold open connections: the list reads through the ORM session, and the
    # caller's credentials through the reader's pool.
    for _ in range(3):
        assert (await client.get("/v1/posts", headers=account.headers)).status_code == 200
    assert pooled
    assert app.state.reader.pool.idle

    # What a restart or failover does to every pooled connection.
    admin = create_async_engine(migrated_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            pids = (await conn.execute(text(OUR_BACKENDS))).scalars().all()
            assert pids, "the app holds no pooled connection to terminate"
            for pid in pids:
                await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            deadline = time.monotonic() + 10
            while set(pids) & set((await conn.execute(text(OUR_BACKENDS))).scalars().all()):
                assert time.monotonic() < deadline, "terminated backends did not go away"
    finally:
        await admin.dispose()
    # SQLAlchemy's pool needs a restart's requests to come after the process has read the closed
    # sockets (an event-loop turn); without this the test would race the kernel. The reader's pool
    # is not given that time: a read on a connection that died while idle is run again.
    await _until_closed(pooled)

    for _ in range(3):
        me = await client.get("/v1/users/me", headers=account.headers)
        assert me.status_code == 200, me.text
        assert me.json()["id"] == account.id
        listed = await client.get("/v1/posts", headers=account.headers)
        assert listed.status_code == 200, listed.text


async def _until_closed(connections: list[Any]) -> None:
    deadline = time.monotonic() + 10
    while not all(c.driver_connection.is_closed() for c in connections):
        assert time.monotonic() < deadline, "the pool never saw its connections close"
        await asyncio.sleep(0.01)


async def test_an_unreachable_database_is_a_503_problem_with_retry_after() -> None:
    settings = make_settings(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nowhere")
    app = create_app(settings)
    token = security.create_access_token(settings, uuid.uuid4()).token
    credentials = [
        {"Authorization": f"Bearer {token}"},
        {"X-API-Key": security.generate_api_key().key},
    ]
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for headers in credentials:
                response = await client.get("/v1/posts", headers=headers)
                assert_problem(response, 503, "database_unavailable")
                assert int(response.headers["Retry-After"]) > 0


async def test_a_sqlite_file_that_cannot_be_opened_is_a_503_not_a_500(tmp_path: Any) -> None:
    """The embedded shape's database out of reach: its directory is gone."""
    app = create_app(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'gone' / 'db.sqlite'}"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            body = {"email": "someone@example.com", "password": "correct horse battery staple"}
            response = await client.post("/v1/auth/register", json=body)
            assert_problem(response, 503, "database_unavailable")
            assert int(response.headers["Retry-After"]) > 0
            assert (await client.get("/health/ready")).status_code == 503


async def test_an_unexpected_error_is_a_500_problem_that_reveals_nothing(
    settings: Settings,
) -> None:
    settings = settings.model_copy(
        update={"database_url": "postgresql+asyncpg://app:db-password-123@db/prod"}
    )
    secret = settings.secret_key.get_secret_value()
    app: FastAPI = create_app(settings)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError(f"failed at {settings.database_url} with key {secret} in {__file__}")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/boom")
    body = assert_problem(response, 500, "internal_error")
    for leaked in ("db-password-123", secret, __file__, "RuntimeError", "Traceback"):
        assert leaked not in response.text
    assert body["instance"] == "/boom"


async def test_a_database_out_of_connections_is_a_503_not_a_500(
    backend: str, migrated_url: str, account: Account
) -> None:
    if backend != "postgresql":
        pytest.skip("connection limits are PostgreSQL's")
    # A role allowed one connection: the reader's pool takes it for the caller's credentials,
    # and the write's own connection is then refused with SQLSTATE 53300, as when
    # max_connections is reached.
    role = f"lp_one_conn_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(migrated_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 1"))
        await conn.execute(text(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}"))
    limited_url = make_url(migrated_url).set(username=role).render_as_string(False)
    app = create_app(make_settings(limited_url))
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                response = await client.post(
                    "/v1/posts", json={"body": "Refused politely."}, headers=account.headers
                )
        assert_problem(response, 503, "database_unavailable")
        assert int(response.headers["Retry-After"]) > 0
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f"DROP OWNED BY {role}"))
            await conn.execute(text(f"DROP ROLE {role}"))
        await admin.dispose()
