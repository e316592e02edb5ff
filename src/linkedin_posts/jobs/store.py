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

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from linkedin_posts.jobs.models import FINISHED, ItemStatus, Job, JobItem, JobStatus
from linkedin_posts.types import utcnow

RUNNING = ItemStatus.RUNNING.value
QUEUED = ItemStatus.QUEUED.value


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
    job = await session.scalar(select(Job).where(Job.id == job_id).with_for_update())
    if job is None or job.status in FINISHED:
        return []
    if job.cancel_requested:
        # Items a dead runner held are not run again: they end cancelled, so the job can end.
        await session.execute(
            update(JobItem)
            .where(JobItem.job_id == job_id, JobItem.status == RUNNING, JobItem.lease_until < now)
            .values(status=ItemStatus.CANCELLED.value, lease_owner=None, finished_at=now)
        )
        return []
    live = await session.scalar(
        select(func.count())
        .select_from(JobItem)
        .where(JobItem.job_id == job_id, JobItem.status == RUNNING, JobItem.lease_until >= now)
    )
    room = min(want, job.concurrency - (live or 0))
    if room <= 0:
        return []
    claimable = or_(
        and_(
            JobItem.status == QUEUED,
            or_(JobItem.not_before.is_(None), JobItem.not_before <= now),
        ),
        # Its runner died (or stalled past the lease): take it over.
        and_(JobItem.status == RUNNING, JobItem.lease_until < now),
    )
    seqs = list(
        await session.scalars(
            select(JobItem.seq)
            .where(JobItem.job_id == job_id, claimable)
            .order_by(JobItem.seq)
            .limit(room)
        )
    )
    if not seqs:
        return []
    rows = await session.execute(
        update(JobItem)
        .where(JobItem.job_id == job_id, JobItem.seq.in_(seqs))
        .values(
            status=RUNNING,
            lease_owner=runner,
            lease_until=now + timedelta(seconds=lease_seconds),
            attempts=JobItem.attempts + 1,
        )
        .returning(JobItem.seq, JobItem.input, JobItem.attempts)
    )
    claimed = [Claimed(seq, data, attempts) for seq, data, attempts in rows]
    if job.status == JobStatus.QUEUED:
        job.status = JobStatus.RUNNING.value
        job.started_at = now
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
