"""A small pool of asyncpg connections for single-statement reads.

Not asyncpg's own pool: its release runs a reset query (a round trip) and shields a new task, which
costs 100 µs of CPU per read, twice the read itself (bench/read_pool.py, docs/dependencies.md). A
statement that runs alone needs none of that: a connection is taken, used once and put back, and
one that failed in any way is closed instead of reused, so no half-finished state can reach the
next request.
"""

import asyncio
import time
from typing import Any

import orjson


class ReadPool:
    """Up to `size` connections, the most recently used first; waiting callers time out."""

    def __init__(
        self,
        dsn: str,
        *,
        size: int,
        timeout: float,
        max_lifetime: float,
        server_settings: dict[str, str],
    ) -> None:
        self.size = size
        self._dsn = dsn
        self._timeout = timeout
        self._max_lifetime = max_lifetime
        self._server_settings = server_settings
        self._slots = asyncio.Semaphore(size)
        self._idle: list[tuple[Any, float]] = []  # (connection, opened at), newest last
        self._closed = False
        self._busy = 0
        import asyncpg  # type: ignore[import-untyped]  # only the PostgreSQL shape loads it

        self._asyncpg = asyncpg
        # What a read on a connection the server dropped while it sat idle raises, depending on
        # how much of the drop asyncpg had read: the server's FATAL (57P01 and friends), a
        # protocol left mid-message, or the closed socket.
        self._connection_lost = (
            asyncpg.PostgresConnectionError,
            asyncpg.OperatorInterventionError,
            asyncpg.InterfaceError,
            asyncpg.InternalClientError,
            OSError,
        )

    @property
    def in_use(self) -> int:
        return self._busy

    @property
    def idle(self) -> int:
        return len(self._idle)

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        """Run one statement and return its first row (an asyncpg Record) or None."""
        if self._closed:
            raise ConnectionError("the read pool is closed")
        if self._slots.locked():
            async with asyncio.timeout(self._timeout):
                await self._slots.acquire()
        else:
            await self._slots.acquire()  # a free slot: returns without suspending
        self._busy += 1
        try:
            conn, opened_at = self._take_idle()
            if conn is None:
                conn, opened_at = await self._connect(), time.monotonic()
                row = await self._run(conn, sql, args)
            else:
                try:
                    row = await self._run(conn, sql, args)
                except self._connection_lost:
                    # The server closed it while it sat idle (a restart, a failover, an idle
                    # timeout) before we saw the socket close: a read is safe to run again.
                    conn, opened_at = await self._connect(), time.monotonic()
                    row = await self._run(conn, sql, args)
            if self._closed:
                await conn.close()
            else:
                self._idle.append((conn, opened_at))
            return row
        finally:
            self._busy -= 1
            self._slots.release()

    async def _run(self, conn: Any, sql: str, args: tuple[Any, ...]) -> Any:
        try:
            return await conn.fetchrow(sql, *args)
        except BaseException:
            # Cancelled mid-statement, or the server went away: its state is unknown.
            conn.terminate()
            raise

    def _take_idle(self) -> tuple[Any, float]:
        now = time.monotonic()
        while self._idle:
            conn, opened_at = self._idle.pop()
            # A restarted server or a terminated backend closes the socket while it sits idle.
            if not conn.is_closed() and now - opened_at < self._max_lifetime:
                return conn, opened_at
            conn.terminate()
        return None, now

    async def _connect(self) -> Any:
        conn = await self._asyncpg.connect(
            self._dsn, timeout=self._timeout, server_settings=self._server_settings
        )
        # asyncpg hands json columns over as text, where SQLAlchemy's JSON type decodes them.
        await conn.set_type_codec(
            "json", schema="pg_catalog", encoder=_encode_json, decoder=orjson.loads
        )
        return conn

    async def close(self) -> None:
        """Close the idle connections now, and the busy ones as they come back."""
        self._closed = True
        idle, self._idle = self._idle, []
        await asyncio.gather(*(conn.close(timeout=self._timeout) for conn, _ in idle))


def _encode_json(value: Any) -> str:
    return orjson.dumps(value).decode()
