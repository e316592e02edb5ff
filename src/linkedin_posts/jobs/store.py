"""The items' bookkeeping, shared by every runner: claims under a lease, results written once.

A runner claims a job's next items by marking them running under its name until a lease
lapses, and renews the lease while it works. Its result lands only while it still holds the
item (status running, lease_owner its name), in the transaction that also saves the item's
posts: a runner that lost the item (its process stalled past the lease and
another took over) writes nothing, so no result and no post is ever written twice. A runner
that dies leaves leases that lapse, and the next claim takes those items again.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Table,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from linkedin_posts.jobs.models import FINISHED, ItemStatus, Job, JobItem, JobStatus
from linkedin_posts.types import utcnow

RUNNING = ItemStatus.RUNNING.value
QUEUED = ItemStatus.QUEUED.value
# The tables, for the statements a runner sends for every few items: Core, not the ORM.
JOBS: Table = Job.__table__  # type: ignore[assignment]
ITEMS: Table = JobItem.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Claimed:
    seq: int
    input: dict[str, Any]
    attempts: int  # this one included


class LeaseLost(Exception):
    """Another runner holds the item now: what this one computed is dropped."""


async def insert_items(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(JobItem), rows)


# The statements a runner sends for every few items, built once: SQLAlchemy takes longer to
# build a statement than to send it. On the tables (Core), not through the ORM.
_LOCK_JOB = (
    select(JOBS.c.status, JOBS.c.concurrency, JOBS.c.cancel_requested)
    .where(JOBS.c.id == bindparam("of_job"))
    .with_for_update()
)
_LIVE = (
    select(func.count())
    .select_from(ITEMS)
    .where(
        ITEMS.c.job_id == bindparam("of_job"),
        ITEMS.c.status == RUNNING,
        ITEMS.c.lease_until >= bindparam("at"),
    )
    .scalar_subquery()
)
_FREE: ColumnElement[int] = bindparam("job_concurrency", type_=Integer) - _LIVE
_WANT = bindparam("wanted", type_=Integer)
# Never a negative LIMIT (SQLite would read it as none).
_ROOM = case((_FREE <= 0, 0), (_WANT > _FREE, _FREE), else_=_WANT)
# The next claimable items in order: queued ones, and running ones whose lease lapsed (their
# runner died or stalled), each read in order from ix_job_items_job_id_status_seq and only as
# far as the claim needs. (As one OR, PostgreSQL read every item of the job for each claim:
# 3 ms of its CPU per claim at 6,000 items.)
_QUEUED = (
    select(ITEMS.c.seq)
    .where(
        ITEMS.c.job_id == bindparam("of_job"),
        ITEMS.c.status == QUEUED,
        or_(ITEMS.c.not_before.is_(None), ITEMS.c.not_before <= bindparam("at")),
    )
    .order_by(ITEMS.c.seq)
    .limit(_ROOM)
    .subquery()
)
_LAPSED = (
    select(ITEMS.c.seq)
    .where(
        ITEMS.c.job_id == bindparam("of_job"),
        ITEMS.c.status == RUNNING,
        ITEMS.c.lease_until < bindparam("at"),
    )
    .order_by(ITEMS.c.seq)
    .limit(_ROOM)
    .subquery()
)
_NEXT = union_all(select(_QUEUED.c.seq), select(_LAPSED.c.seq)).subquery()
# No other writer changes these rows meanwhile: a cancel updates the job's row first, so it
# waits for the claim's lock (or the claim for the cancel's, and then sees it).
_CLAIM = (
    update(ITEMS)
    .where(
        ITEMS.c.job_id == bindparam("of_job"),
        ITEMS.c.seq.in_(select(_NEXT.c.seq).order_by(_NEXT.c.seq).limit(_ROOM).scalar_subquery()),
    )
    .values(
        status=RUNNING,
        lease_owner=bindparam("by"),
        lease_until=bindparam("held_until"),
        attempts=ITEMS.c.attempts + 1,
    )
    .returning(ITEMS.c.seq, ITEMS.c.input, ITEMS.c.attempts)
)


async def claim(
    session: AsyncSession,
    *,
    job_id: uuid.UUID,
    runner: str,
    want: int,
    lease_seconds: float,
    now: datetime,
) -> list[Claimed]:
    """Up to `want` of the job's next items, within the job's concurrency across all runners."""
    # The job's row, locked: runners claiming at once take turns, so together they never run
    # more of its items than its concurrency. (SQLite's write lock does the same.)
    job = (await session.execute(_LOCK_JOB, {"of_job": job_id})).first()
    if job is None or job.status in FINISHED:
        return []
    if job.cancel_requested:
        # Items a dead runner held are not run again: they end cancelled, so the job can end.
        await session.execute(
            update(ITEMS)
            .where(ITEMS.c.job_id == job_id, ITEMS.c.status == RUNNING, ITEMS.c.lease_until < now)
            .values(status=ItemStatus.CANCELLED.value, lease_owner=None, finished_at=now)
        )
        return []
    # A statement of its own, after the lock: it counts every claim committed before.
    rows = await session.execute(
        _CLAIM,
        {
            "of_job": job_id,
            "at": now,
            "job_concurrency": job.concurrency,
            "wanted": want,
            "by": runner,
            "held_until": now + timedelta(seconds=lease_seconds),
        },
    )
    claimed = [Claimed(seq, data, attempts) for seq, data, attempts in rows]
    if claimed and job.status == JobStatus.QUEUED:
        await session.execute(
            update(JOBS)
            .where(JOBS.c.id == job_id)
            .values(status=JobStatus.RUNNING.value, started_at=now)
        )
    return sorted(claimed, key=lambda item: item.seq)


async def renew_leases(
    session: AsyncSession, *, runner: str, lease_seconds: float, now: datetime
) -> int:
    result = await session.execute(
        update(JobItem)
        .where(JobItem.lease_owner == runner, JobItem.status == RUNNING)
        .values(lease_until=now + timedelta(seconds=lease_seconds))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def succeed(
    session: AsyncSession,
    *,
    job_id: uuid.UUID,
    seq: int,
    runner: str,
    result: dict[str, Any],
    now: datetime,
) -> None:
    """Record the item's result, once; raises LeaseLost otherwise (the caller rolls back the
    posts it saved with it)."""
    values = {"status": ItemStatus.SUCCEEDED.value, "result": result, "error": None}
    if not await _update_held(session, job_id, seq, runner, {**values, "finished_at": now}):
        raise LeaseLost


_HELD = (
    select(ITEMS.c.seq)
    .where(
        ITEMS.c.job_id == bindparam("of_job"),
        ITEMS.c.seq.in_(bindparam("seqs", expanding=True)),
        ITEMS.c.status == RUNNING,
        ITEMS.c.lease_owner == bindparam("by"),
    )
    .with_for_update()  # held until the commit: no runner takes them over meanwhile
)
_SUCCEED = (
    update(ITEMS)
    .where(ITEMS.c.job_id == bindparam("held_job"), ITEMS.c.seq == bindparam("held_seq"))
    .values(
        status=ItemStatus.SUCCEEDED.value,
        result=bindparam("held_result", type_=ITEMS.c.result.type),
        error=None,
        finished_at=bindparam("held_at"),
        lease_owner=None,
        lease_until=None,
    )
)


async def succeed_many(
    session: AsyncSession,
    *,
    job_id: uuid.UUID,
    runner: str,
    results: dict[int, dict[str, Any]],
    now: datetime,
) -> set[int]:
    """Record the results of several items of a job (by seq), each once: the seqs written, the
    others' leases were lost. Two statements whatever their number, where `succeed` is one
    per item: for items that save no post, which need no savepoint of their own."""
    held = set(
        await session.scalars(_HELD, {"of_job": job_id, "seqs": list(results), "by": runner})
    )
    if held:
        await session.execute(
            _SUCCEED,  # one executemany
            [
                {"held_job": job_id, "held_seq": seq, "held_result": results[seq], "held_at": now}
                for seq in held
            ],
        )
    return held


async def fail(
    session: AsyncSession,
    *,
    job_id: uuid.UUID,
    seq: int,
    runner: str,
    error: dict[str, Any],
    retry_at: datetime | None,
    now: datetime,
) -> bool:
    """Put the item back for another try at `retry_at`, or record it failed; False when this
    runner no longer held it."""
    values: dict[str, Any] = {"error": error}
    if retry_at is not None:
        values.update(status=QUEUED, not_before=retry_at)
    else:
        values.update(status=ItemStatus.FAILED.value, finished_at=now)
    return await _update_held(session, job_id, seq, runner, values)


async def _update_held(
    session: AsyncSession, job_id: uuid.UUID, seq: int, runner: str, values: dict[str, Any]
) -> bool:
    """Change the item and end its lease, if `runner` still holds it; False if not."""
    written = await session.execute(
        update(JobItem)
        .where(
            JobItem.job_id == job_id,
            JobItem.seq == seq,
            JobItem.status == RUNNING,
            JobItem.lease_owner == runner,
        )
        .values(**values, lease_owner=None, lease_until=None)
    )
    return bool(written.rowcount == 1)  # type: ignore[attr-defined]


async def release(session: AsyncSession, *, runner: str) -> int:
    """Hand back what a stopping runner holds: queued again, the interrupted try not counted."""
    result = await session.execute(
        update(JobItem)
        .where(JobItem.lease_owner == runner, JobItem.status == RUNNING)
        .values(
            status=QUEUED,
            lease_owner=None,
            lease_until=None,
            attempts=JobItem.attempts - 1,
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def cancel_queued(session: AsyncSession, job_id: uuid.UUID) -> None:
    await session.execute(
        update(JobItem)
        .where(JobItem.job_id == job_id, JobItem.status == QUEUED)
        .values(status=ItemStatus.CANCELLED.value, finished_at=utcnow())
    )


async def unfinished_items(session: AsyncSession, job_id: uuid.UUID) -> tuple[int, int]:
    """The job's queued and running items."""
    rows = await session.execute(
        select(JobItem.status, func.count())
        .where(JobItem.job_id == job_id, JobItem.status.in_((QUEUED, RUNNING)))
        .group_by(JobItem.status)
    )
    counts = dict(rows.all())
    return counts.get(QUEUED, 0), counts.get(RUNNING, 0)


async def counts(
    session: AsyncSession, job_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, int]]:
    """Succeeded and failed items of each job, as they stand. Not kept in the job's row while
    it runs: every item would then update that one row, and the runners would queue for its
    lock (finish writes the final counts there)."""
    rows = await session.execute(
        select(JobItem.job_id, JobItem.status, func.count())
        .where(
            JobItem.job_id.in_(job_ids),
            JobItem.status.in_((ItemStatus.SUCCEEDED.value, ItemStatus.FAILED.value)),
        )
        .group_by(JobItem.job_id, JobItem.status)
    )
    found: dict[uuid.UUID, list[int]] = {job_id: [0, 0] for job_id in job_ids}
    for job_id, status, count in rows:
        found[job_id][0 if status == ItemStatus.SUCCEEDED.value else 1] = count
    return {job_id: (pair[0], pair[1]) for job_id, pair in found.items()}


async def finish(session: AsyncSession, job_id: uuid.UUID) -> None:
    """End the job with the status its items add up to (once: a finished job stays as it is)."""
    succeeded, failed = (await counts(session, [job_id]))[job_id]
    cancelled = await session.scalar(select(Job.cancel_requested).where(Job.id == job_id))
    if cancelled:
        status = JobStatus.CANCELLED
    elif failed == 0:
        status = JobStatus.SUCCEEDED
    elif succeeded == 0:
        status = JobStatus.FAILED
    else:
        status = JobStatus.PARTIAL
    await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.not_in([done.value for done in FINISHED]))
        .values(
            status=status.value,
            succeeded=succeeded,
            failed=failed,
            finished_at=utcnow(),
        )
    )
