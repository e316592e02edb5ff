"""Engine, session factory and the per-request session (commit on success, rollback on error)."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request
from sqlalchemy import MetaData, event, exc
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry

from linkedin_posts.cache import run_invalidations
from linkedin_posts.cache.recent_writes import RecentWrites
from linkedin_posts.cache.tiered import TieredCache
from linkedin_posts.config import Settings

# Stable constraint names so Alembic can drop and alter them on both PostgreSQL and SQLite.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# How our sessions show in pg_stat_activity.
APPLICATION_NAME = "linkedin-posts"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SQLITE_BEGIN_OPTION = "sqlite_begin"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def create_engine(
    settings: Settings, *, url: str | None = None, timeout: float | None = None
) -> AsyncEngine:
    """Create the engine for the configured database with its pool settings.

    `url` names another PostgreSQL server (the read replica) with the same pool settings;
    `timeout` then bounds both the wait for a pooled connection and a new connection's setup.
    """
    options: dict[str, Any] = {
        "echo": settings.db_echo,
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_pool_max_overflow,
        "pool_timeout": settings.db_pool_timeout if timeout is None else timeout,
        "pool_recycle": settings.db_pool_recycle,
        # JSON columns (tags, job items) through orjson rather than the standard json module:
        # a job item's result, an analysis of a few KB, is written without being parsed again
        # (orjson.Fragment), and everything else 5-10 times faster.
        "json_serializer": _json_text,
        "json_deserializer": orjson.loads,
    }
    if settings.is_sqlite:
        engine = create_async_engine(settings.database_url, **options)
        _configure_sqlite(engine, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
        return engine
    connect_args: dict[str, Any] = {"server_settings": {"application_name": APPLICATION_NAME}}
    if timeout is not None:
        connect_args["timeout"] = timeout
    engine = create_async_engine(
        url or settings.database_url,
        pool_pre_ping=settings.db_pool_pre_ping,
        connect_args=connect_args,
        **options,
    )
    _skip_closed_connections(engine)
    return engine


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def _skip_closed_connections(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "checkout")
    def on_checkout(dbapi_connection: Any, _record: ConnectionPoolEntry, _proxy: Any) -> None:
        # A restarted or failed-over server, or a terminated backend, closes the socket, and
        # asyncpg notices while the connection sits idle in the pool. Checking that costs
        # nothing, where pool_pre_ping's BEGIN; ; ROLLBACK costs three round trips per request.
        # The pool answers DisconnectionError by opening a fresh connection.
        if dbapi_connection.driver_connection.is_closed():
            raise exc.DisconnectionError("the server closed this pooled connection")


def _configure_sqlite(engine: AsyncEngine, *, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Take over BEGIN from the driver so write transactions can say BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Connection) -> None:
        # A deferred transaction that reads and then writes fails at once with SQLITE_BUSY
        # when another writer got there first; IMMEDIATE takes the write lock up front and
        # waits up to busy_timeout instead.
        mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A read session for GET and HEAD; otherwise a transaction, committed when the handler
    succeeds and rolled back when it raises."""
    sessions = read_sessions if request.method in SAFE_METHODS else write_sessions
    async with sessions(request)() as session:
        yield session


@asynccontextmanager
async def write_transaction(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    cache: TieredCache | None,
    recent_writes: RecentWrites | None = None,
) -> AsyncIterator[AsyncSession]:
    """A session that commits when the block ends and rolls back when it raises.

    For a handler that writes after slow work (a provider call): opened only then, so neither
    a pooled connection nor SQLite's write lock is held while it waits. With a read replica,
    `recent_writes` marks the owners whose posts it changed (cache/recent_writes.py).
    """
    async with factory() as session:
        if settings.is_sqlite:
            # Take the write lock now: a read lock upgraded later fails at once when another
            # writer holds it, where a BEGIN IMMEDIATE waits out the busy timeout.
            await session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
        # After the commit, before the response: a read that follows the answer finds no
        # cached copy of what this request changed, in any process, nor a replica behind it.
        await run_invalidations(session, cache, recent_writes)


def read_sessions(request: Request) -> Callable[[], AbstractAsyncContextManager[AsyncSession]]:
    """Sessions for reads that may outlive the request (a cache fill shared by several)."""
    return sessions_of(request.app.state.session_factory, request.app.state.settings)


def write_sessions(request: Request) -> Callable[[], AbstractAsyncContextManager[AsyncSession]]:
    """Write transactions opened when a handler is ready to write (see write_transaction)."""
    state = request.app.state

    def open_transaction() -> AbstractAsyncContextManager[AsyncSession]:
        return write_transaction(
            state.session_factory,
            state.settings,
            getattr(state, "cache", None),
            getattr(state, "recent_writes", None),
        )

    return open_transaction


def sessions_of(
    factory: async_sessionmaker[AsyncSession], settings: Settings
) -> Callable[[], AbstractAsyncContextManager[AsyncSession]]:
    """Read-only sessions of this factory (no transaction on PostgreSQL)."""
    autocommit = not settings.is_sqlite

    @asynccontextmanager
    async def open_session() -> AsyncIterator[AsyncSession]:
        async with factory() as session:
            # A read needs no transaction on PostgreSQL: autocommit saves the BEGIN and COMMIT
            # round trips, a third of a read's database work.
            if autocommit:
                await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            yield session

    return open_session


# scope="function" commits before the response is sent, so an acknowledged write is durable.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
