"""The hot reads (the caller's credentials, one post) without the ORM's per-query cost.

Each read is one SQLAlchemy Core statement. On PostgreSQL it is compiled once and asyncpg runs it
straight from its own small pool: 70 µs of CPU where an ORM session spends 430 µs on the same
query (docs/benchmarks.md). On SQLite, the embedded shape, SQLAlchemy runs the same statement.
Writes, and reads that feed a write, stay in the request's ORM session.
"""

import math
from collections.abc import Mapping
from typing import Annotated, Any, Protocol, cast

from fastapi import Depends, Request
from sqlalchemy import Select, make_url
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from linkedin_posts.config import Settings
from linkedin_posts.database import APPLICATION_NAME
from linkedin_posts.pg_pool import ReadPool

# asyncpg's Record and SQLAlchemy's RowMapping both read a column by name.
Row = Mapping[str, Any]


class ReadQuery:
    """A SELECT kept both as a statement for SQLAlchemy and as asyncpg's `$n` SQL."""

    def __init__(self, statement: Select[*tuple[Any, ...]]) -> None:
        self.statement = statement
        compiled = statement.compile(dialect=asyncpg_dialect.dialect())  # type: ignore[no-untyped-call]
        self.sql = compiled.string
        self.param_names = tuple(compiled.positiontup or ())


class Reader(Protocol):
    async def one(self, query: ReadQuery, **params: Any) -> Row | None:
        """The first row the query returns, by column name, or None."""
        ...

    async def close(self) -> None: ...


class DatabaseUnreachable(ConnectionError):
    """asyncpg could not reach PostgreSQL; answered as 503 database_unavailable."""


class EngineReader:
    """Reads through SQLAlchemy, for SQLite (the embedded shape)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def one(self, query: ReadQuery, **params: Any) -> Row | None:
        async with self.engine.connect() as conn:
            return cast(
                Row | None, (await conn.execute(query.statement, params)).mappings().first()
            )

    async def close(self) -> None:
        """The engine is the app's; its owner disposes of it."""


class AsyncpgReader:
    """Reads with asyncpg from a pool of its own, next to SQLAlchemy's.

    `url` names another server (the read replica) than LP_DATABASE_URL, read with the same pool
    settings; `timeout` then replaces LP_DB_POOL_TIMEOUT.
    """

    def __init__(
        self, settings: Settings, *, url: str | None = None, timeout: float | None = None
    ) -> None:
        import asyncpg  # type: ignore[import-untyped]  # only the PostgreSQL shape loads it

        self.pool = ReadPool(
            make_url(url or settings.database_url)
            .set(drivername="postgresql")
            .render_as_string(False),
            size=settings.db_read_pool_size,
            timeout=settings.db_pool_timeout if timeout is None else timeout,
            max_lifetime=settings.db_pool_recycle if settings.db_pool_recycle >= 0 else math.inf,
            server_settings={"application_name": APPLICATION_NAME},
        )
        self._unreachable = (
            OSError,  # refused, reset, unroutable: ConnectionError and friends
            TimeoutError,  # no connection free within db_pool_timeout, or connect timed out
            asyncpg.PostgresConnectionError,  # the connection died under the statement
            asyncpg.CannotConnectNowError,  # starting up or shutting down
            asyncpg.AdminShutdownError,
            asyncpg.TooManyConnectionsError,
        )

    async def one(self, query: ReadQuery, **params: Any) -> Row | None:
        try:
            row: Row | None = await self.pool.fetchrow(
                query.sql, *[params[name] for name in query.param_names]
            )
        except self._unreachable as exc:
            raise DatabaseUnreachable(type(exc).__name__) from exc
        return row

    async def close(self) -> None:
        await self.pool.close()


def open_reader(settings: Settings, engine: AsyncEngine) -> Reader:
    # Neither opens a connection here: the app starts, and answers 503, while the database is down.
    if settings.is_sqlite:
        return EngineReader(engine)
    return AsyncpgReader(settings)


async def get_reader(request: Request) -> Reader:
    reader: Reader = request.app.state.reader
    return reader


ReaderDep = Annotated[Reader, Depends(get_reader)]
