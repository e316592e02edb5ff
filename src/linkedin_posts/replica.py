"""The read replica (LP_DATABASE_READ_URL): which reads it serves, and the primary behind it.

What goes where:

- The replica may serve the reads of an account's posts that miss the cache: GET /v1/posts/{id},
  list pages, the export, and the routes that read a post to answer (its analysis, its LinkedIn
  payload, a rewrite's input). They go there unless the account wrote its posts within the window
  (LP_DATABASE_READ_AFTER_WRITE_SECONDS; read-your-writes, cache/recent_writes.py) or the
  replica may be further behind than the window.
- Everything else stays on the primary. Credentials above all: an API key revoked or a user
  deleted a moment ago must stop working at once, in every process, and the lookup happens
  before we know whose write to look for. So do reads that feed a write: the post a PATCH or
  DELETE loads (its version is checked against the row it updates), jobs (an item's result is
  written, and runners poll rows other processes change), quotas and usage, and the cache
  warm-up, which fills entries every reader then trusts.

Freshness. Every probe interval each process notes the primary's WAL insert position with the
time (the insert position, not the written one: an asynchronous commit returns before its WAL is
written), then asks the replica how far it has replayed. The newest noted position the replica has
replayed gives `fresh_as_of`: every commit that had finished by then is visible on the replica.
The replica is used only while fresh_as_of is within the window of now. An account without a
mark (recent_writes.py) wrote, if at all, more than a window ago, so before fresh_as_of: what the
replica answers for it is what the primary would (writes behind the API's back aside), however
the replication lag varies, and a cache filled from it is as right as one filled from the
primary. A replica further behind leaves its reads to the primary
(lp_db_read_fallbacks_total{reason="behind"}) until it catches up.

Failures. A replica read that fails runs again on the primary, and the replica is left alone
until a probe reaches it again: no request fails because the replica does
(lp_db_read_fallbacks_total{reason="error"|"down"}). A statement the replica breaks off midway
through a list page or an export batch is the exception: it fails as a primary's would (503).
"""

import asyncio
import contextlib
import logging
import math
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from linkedin_posts.cache.recent_writes import RecentWrites
from linkedin_posts.config import Settings
from linkedin_posts.database import (
    create_engine,
    create_session_factory,
    read_sessions,
    sessions_of,
)
from linkedin_posts.observability.metrics import (
    DB_READ_FALLBACKS,
    DB_READ_ROUTES,
    DB_REPLICA_DOWN,
    DB_REPLICA_LAG_SECONDS,
)
from linkedin_posts.pg_pool import ReadPool
from linkedin_posts.reader import AsyncpgReader, Reader, ReadQuery, Row

if TYPE_CHECKING:
    import redis.asyncio as redis

logger = logging.getLogger(__name__)

Sessions = Callable[[], AbstractAsyncContextManager[AsyncSession]]

# Why a read the replica could serve ran on the primary because the replica could not.
BEHIND = "behind"
DOWN = "down"
ERROR = "error"
# The longest a replica read waits for a connection before the primary answers instead.
REPLICA_WAIT_SECONDS = 1.0
MAX_PROBE_SECONDS = 1.0
# How long start-up waits for the first probe before serving (from the primary until it ends).
STARTUP_PROBE_SECONDS = 2.0
# A failing replica is logged once, then at most this often.
LOG_EVERY_SECONDS = 10.0

PRIMARY_POSITION = (
    "SELECT pg_current_wal_insert_lsn() AS position,"
    " current_setting('wal_block_size')::bigint AS page,"
    " (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size') AS segment"
)
# The WAL page headers (xlog_internal.h: SizeOfXLogShortPHD, and SizeOfXLogLongPHD at the start
# of a segment), as 64-bit builds align them.
SHORT_PAGE_HEADER = 24
LONG_PAGE_HEADER = 40
REPLICA_POSITION = "SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn() AS replayed"

_ON_REPLICA = DB_READ_ROUTES.labels("replica", "lag_tolerant")


def wal_end(insert_position: int, *, page: int, segment: int) -> int:
    """Where the WAL written so far ends, from the primary's insert position.

    At the very start of a page the insert position lies past the page's header, which is
    written only with the next record: a replica that has everything stops short of it. Idle
    after a WAL switch (archive_timeout), the primary stays there, and the replica would look
    behind until the next write. No record ends right after a header, so the page's start is
    exact.
    """
    if insert_position % segment == LONG_PAGE_HEADER:
        return insert_position - LONG_PAGE_HEADER
    if insert_position % page == SHORT_PAGE_HEADER:
        return insert_position - SHORT_PAGE_HEADER
    return insert_position


class Freshness:
    """Up to when the replica has every commit of the primary, from WAL positions of both."""

    MAX_SAMPLES = 1000

    def __init__(self) -> None:
        # (time, primary's insert position), oldest first. Full, the oldest go: the replica
        # then only looks staler than it is.
        self._samples: deque[tuple[float, int]] = deque(maxlen=self.MAX_SAMPLES)
        self.fresh_as_of: float | None = None

    def primary_at(self, moment: float, position: int) -> None:
        """The primary's WAL insert position, asked for at `moment` (taken before asking)."""
        self._samples.append((moment, position))

    def replica_replayed(self, position: int) -> None:
        samples = self._samples
        while samples and samples[0][1] <= position:
            self.fresh_as_of = samples.popleft()[0]


class Replica:
    def __init__(
        self,
        settings: Settings,
        *,
        primary: ReadPool,
        recent_writes: RecentWrites,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        url = settings.database_read_url
        assert url is not None
        # Pools of its own, sized as the primary's. A replica slow to give a connection is
        # passed over for the primary sooner than the primary itself would give up.
        wait = min(settings.db_pool_timeout, REPLICA_WAIT_SECONDS)
        self.reader = AsyncpgReader(settings, url=url, timeout=wait)
        self.engine = create_engine(settings, url=url, timeout=wait)
        self._sessions = sessions_of(create_session_factory(self.engine), settings)
        self.primary = primary
        self.recent_writes = recent_writes
        self.window = settings.database_read_after_write_seconds
        self.probe_seconds = min(MAX_PROBE_SECONDS, self.window / 4)
        self.clock = clock
        self.freshness = Freshness()
        self.down = False
        self._logged_at = -math.inf
        self._probed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.recent_writes.start()
        self._task = asyncio.create_task(self._probe_forever(), name="replica-probe")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STARTUP_PROBE_SECONDS):
                await self._probed.wait()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.recent_writes.stop()
        await self.reader.close()
        await self.engine.dispose()

    # -- where a read goes ---------------------------------------------------------------------

    async def route(self, owner_id: uuid.UUID) -> str | None:
        """None: read the replica; otherwise why not (a metric label)."""
        if self.down:
            return DOWN
        fresh = self.freshness.fresh_as_of
        if fresh is None or self.clock() - fresh > self.window:
            return BEHIND
        return await self.recent_writes.why_primary(str(owner_id))

    async def one(
        self, owner_id: uuid.UUID, primary: Reader, query: ReadQuery, params: dict[str, Any]
    ) -> Row | None:
        reason = await self.route(owner_id)
        if reason is None:
            try:
                row = await self.reader.one(query, **params)
            except Exception as exc:  # whatever it is, the primary may still answer
                reason = self._failed(exc)
            else:
                _ON_REPLICA.inc()
                return row
        _count(reason)
        return await primary.one(query, **params)

    def sessions(self, owner_id: uuid.UUID, primary: Sessions) -> Sessions:
        """Sessions on the replica, or on the primary when `route` says so or the replica
        cannot give a connection."""

        @asynccontextmanager
        async def open_session() -> AsyncIterator[AsyncSession]:
            reason = await self.route(owner_id)
            async with AsyncExitStack() as stack:
                session = None
                if reason is None:
                    try:
                        # sessions_of connects at once: a replica that is down fails here.
                        session = await stack.enter_async_context(self._sessions())
                    except Exception as exc:
                        reason = self._failed(exc)
                if session is None:
                    session = await stack.enter_async_context(primary())
                if reason is None:
                    _ON_REPLICA.inc()
                else:
                    _count(reason)
                yield session

        return open_session

    def _failed(self, exc: Exception) -> str:
        # Down until a probe reaches it again (within a probe interval): meanwhile no read
        # waits for a replica that just failed one.
        self._mark_down(f"a read failed ({type(exc).__name__})")
        return ERROR

    # -- probes --------------------------------------------------------------------------------

    async def _probe_forever(self) -> None:
        while True:
            await self.probe()
            self._probed.set()
            await asyncio.sleep(self.probe_seconds)

    async def probe(self) -> None:
        """Note the primary's WAL position, then learn the replica's and whether it answers."""
        asked_at = self.clock()
        try:
            async with asyncio.timeout(self.window):
                row = await self.primary.fetchrow(PRIMARY_POSITION)
        except Exception as exc:
            # The primary's own trouble shows in its reads and health checks; the replica's
            # freshness merely stops advancing meanwhile.
            logger.debug("replica probe: primary unanswered (%s)", type(exc).__name__)
        else:
            end = wal_end(row["position"], page=row["page"], segment=row["segment"])
            self.freshness.primary_at(asked_at, end)
        try:
            async with asyncio.timeout(self.window):
                row = await self.reader.pool.fetchrow(REPLICA_POSITION)
        except Exception as exc:
            self._mark_down(f"unreachable ({type(exc).__name__})")
            return
        if not row["standby"]:
            # Promoted, or not a replica at all: its data may have left the primary's.
            self._mark_down("not a standby (pg_is_in_recovery() is false)")
            return
        self.freshness.replica_replayed(row["replayed"] or 0)
        fresh = self.freshness.fresh_as_of
        if fresh is not None:
            DB_REPLICA_LAG_SECONDS.set(max(0.0, self.clock() - fresh))
        DB_REPLICA_DOWN.set(0)
        if self.down:
            self.down = False
            logger.warning("replica: reachable again; lag-tolerant reads go to it")

    def _mark_down(self, why: str) -> None:
        now = self.clock()
        if not self.down or now - self._logged_at >= LOG_EVERY_SECONDS:
            logger.warning("replica: %s; its reads go to the primary", why)
            self._logged_at = now
        self.down = True
        DB_REPLICA_DOWN.set(1)


def _count(reason: str) -> None:
    if reason in (BEHIND, DOWN, ERROR):
        DB_READ_FALLBACKS.labels(reason).inc()
    else:
        DB_READ_ROUTES.labels("primary", reason).inc()


class ReplicatedReader(AsyncpgReader):
    """The primary's reader, which `one` reads, with the replica for `one_tolerating_lag`."""

    def __init__(self, settings: Settings, client: "redis.Redis") -> None:
        super().__init__(settings)
        recent_writes = RecentWrites(client, window=settings.database_read_after_write_seconds)
        self.replica = Replica(settings, primary=self.pool, recent_writes=recent_writes)

    async def close(self) -> None:
        await self.replica.close()
        await super().close()


def open_replicated_reader(
    settings: Settings, client: "redis.Redis | None"
) -> ReplicatedReader | None:
    """The primary's reader with the replica of LP_DATABASE_READ_URL; None without one."""
    if settings.database_read_url is None:
        return None
    assert client is not None  # the settings refuse a replica without LP_REDIS_URL
    return ReplicatedReader(settings, client)


def one_tolerating_lag(
    reader: Reader, owner_id: uuid.UUID, query: ReadQuery, /, **params: Any
) -> Awaitable[Row | None]:
    """`reader.one(query, **params)` for a read of owner_id's posts that the replica may serve."""
    if isinstance(reader, ReplicatedReader):
        return reader.replica.one(owner_id, reader, query, params)
    return reader.one(query, **params)


def sessions_tolerating_lag(request: Request, owner_id: uuid.UUID) -> Sessions:
    """read_sessions(request), for reads of owner_id's posts that the replica may serve."""
    primary = read_sessions(request)
    replica: Replica | None = getattr(request.app.state, "replica", None)
    return primary if replica is None else replica.sessions(owner_id, primary)


def primary_only(reader: Reader) -> Reader:
    """The reader, for a caller whose reads feed a write: posts_service then reads the primary."""
    return PrimaryReader(reader) if isinstance(reader, ReplicatedReader) else reader


class PrimaryReader:
    """A reader's `one` alone: one_tolerating_lag sees no replica behind it."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader

    async def one(self, query: ReadQuery, **params: Any) -> Row | None:
        return await self.reader.one(query, **params)

    async def close(self) -> None:
        """The reader is the app's; its owner closes it."""
