"""Provider tokens per user and day: counted after each generation, read for quotas and reports."""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from linkedin_posts.generation.models import AiUsage
from linkedin_posts.generation.providers.base import Usage

logger = logging.getLogger(__name__)
Sessions = Callable[[], AbstractAsyncContextManager[AsyncSession]]


def today() -> date:
    return datetime.now(UTC).date()


def seconds_until_tomorrow() -> int:
    now = datetime.now(UTC)
    tomorrow = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    return max(1, int((tomorrow - now).total_seconds()))


Key = tuple[uuid.UUID, date, str, str]  # user, day, provider, model
# Requests, cached requests, prompt tokens, completion tokens.
Counts = list[int]


def _insert_of(dialect: str) -> Any:
    # Imported here: a process loads only its own database's dialect (the other costs ~0.5 MB).
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert
    from sqlalchemy.dialects import sqlite

    return sqlite.insert


def _upsert(key: Key, counts: Counts, dialect: str) -> Any:
    """Add `counts` to the row of `key`: one statement, safe under concurrency."""
    user_id, day, provider, model = key
    statement = _insert_of(dialect)(AiUsage).values(
        user_id=user_id,
        day=day,
        provider=provider,
        model=model,
        requests=counts[0],
        cached_requests=counts[1],
        prompt_tokens=counts[2],
        completion_tokens=counts[3],
    )
    added = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["user_id", "day", "provider", "model"],
        set_={
            "requests": AiUsage.requests + added.requests,
            "cached_requests": AiUsage.cached_requests + added.cached_requests,
            "prompt_tokens": AiUsage.prompt_tokens + added.prompt_tokens,
            "completion_tokens": AiUsage.completion_tokens + added.completion_tokens,
        },
    )


class UsageRecorder:
    """Counts usage in memory and adds it to the database every `interval` seconds, in one
    transaction per process.

    Not a write per request: every request of one user updates that user's row of the day, so
    concurrent requests of one user queued on its row lock, each holding a pooled connection
    (docs/benchmarks.md, "Generation"). A process that dies loses at most its last interval's
    counts; a stop writes them. The quota adds this process's unwritten tokens to the database's.
    """

    def __init__(self, writes: Sessions, *, interval: float = 1.0) -> None:
        self.writes = writes
        self.interval = interval
        self.pending: dict[Key, Counts] = {}
        self._flushing = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def add(
        self, *, user_id: uuid.UUID, provider: str, model: str, usage: Usage, cached: bool
    ) -> None:
        counts = self.pending.setdefault((user_id, today(), provider, model), [0, 0, 0, 0])
        counts[0] += 1
        counts[1] += cached
        counts[2] += usage.prompt_tokens
        counts[3] += usage.completion_tokens

    def unwritten_tokens(self, user_id: uuid.UUID) -> int:
        day = today()
        return sum(
            counts[2] + counts[3]
            for (user, when, _, _), counts in self.pending.items()
            if user == user_id and when == day
        )

    async def flush(self) -> None:
        """Write what was counted. On failure the counts are kept for the next flush."""
        async with self._flushing:
            batch, self.pending = self.pending, {}
            if not batch:
                return
            try:
                await self._write(batch)
            except IntegrityError:
                # A user deleted since (their rows went with them): write the others one by one.
                for key, counts in batch.items():
                    with contextlib.suppress(IntegrityError):
                        await self._write({key: counts})
            except BaseException:
                for key, counts in batch.items():
                    kept = self.pending.setdefault(key, [0, 0, 0, 0])
                    for index, count in enumerate(counts):
                        kept[index] += count
                raise

    async def _write(self, batch: dict[Key, Counts]) -> None:
        async with self.writes() as session:
            dialect = session.get_bind().dialect.name
            for key in sorted(batch):  # one order in every process: no deadlock between them
                await session.execute(_upsert(key, batch[key], dialect))

    def start(self) -> None:
        self._task = asyncio.create_task(self._flush_every_interval())

    async def _flush_every_interval(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.flush()
            except Exception as exc:  # the database is down: counts kept, tried again
                logger.warning("AI usage not written yet: %s", type(exc).__name__)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            await self.flush()
        except Exception as exc:
            logger.error("AI usage of this process lost at stop: %s", type(exc).__name__)


async def tokens_today(session: AsyncSession, *, user_id: uuid.UUID) -> int:
    spent = await session.scalar(
        select(func.coalesce(func.sum(AiUsage.prompt_tokens + AiUsage.completion_tokens), 0)).where(
            AiUsage.user_id == user_id, AiUsage.day == today()
        )
    )
    return int(spent or 0)


async def days(session: AsyncSession, *, user_id: uuid.UUID, last: int) -> list[AiUsage]:
    """The user's rows of the last `last` days, today included, newest first."""
    since = today() - timedelta(days=last - 1)
    rows = await session.scalars(
        select(AiUsage)
        .where(AiUsage.user_id == user_id, AiUsage.day >= since)
        .order_by(AiUsage.day.desc(), AiUsage.provider, AiUsage.model)
    )
    return list(rows)
