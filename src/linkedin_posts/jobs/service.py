"""Jobs as the API sees them: submit (idempotent, within the user's limits), read, cancel."""

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from linkedin_posts.auth.models import User
from linkedin_posts.config import Settings
from linkedin_posts.ids import new_id
from linkedin_posts.jobs import store
from linkedin_posts.jobs.exceptions import (
    IdempotencyKeyReused,
    JobNotFound,
    JobTooLarge,
    TooManyJobs,
)
from linkedin_posts.jobs.importing import ImportRow
from linkedin_posts.jobs.models import FINISHED, ItemStatus, Job, JobItem, JobKind, JobStatus
from linkedin_posts.jobs.schemas import (
    PRIORITIES,
    PRIORITY_NAMES,
    JobItemPage,
    JobItemRead,
    JobPage,
    JobRead,
)
from linkedin_posts.types import utcnow

# How long a user over the in-flight limit is told to wait before submitting again.
IN_FLIGHT_RETRY_SECONDS = 10
UNFINISHED = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


def request_hash(body: bytes, *parameters: object) -> str:
    """What a retried submit must repeat for its Idempotency-Key to name the same job: the
    body as sent (a retry repeats it byte for byte) and the query's parameters."""
    digest = hashlib.sha256(orjson.dumps(parameters))
    digest.update(body)
    return digest.hexdigest()


async def submit(
    session: AsyncSession,
    settings: Settings,
    *,
    owner_id: uuid.UUID,
    kind: JobKind,
    inputs: Sequence[dict[str, Any] | ImportRow],
    priority: str,
    concurrency: int | None,
    idempotency_key: str | None,
    fingerprint: str,
) -> tuple[Job, bool]:
    """The job, and whether this call created it (False: a retry of an earlier submit).

    `inputs` are the items' inputs; for an import, parsed rows, the bad ones recorded as
    failed items with their row and reason.
    """
    if idempotency_key is not None:
        earlier = await _by_idempotency_key(session, owner_id, idempotency_key)
        if earlier is not None:
            return _same_request(earlier, fingerprint), False
    if len(inputs) > settings.jobs_max_items:
        raise JobTooLarge(
            f"The job has {len(inputs)} items; at most {settings.jobs_max_items} are allowed "
            "(LP_JOBS_MAX_ITEMS). Split it into several jobs."
        )
    # One submit of an owner at a time counts and inserts: two at once would each count the
    # jobs before the other's and pass the limit together. The owner's row is the lock on
    # PostgreSQL (NO KEY UPDATE: foreign-key checks of other writes do not wait on it); on
    # SQLite the write transaction's BEGIN IMMEDIATE already serializes them.
    await session.execute(
        select(User.id).where(User.id == owner_id).with_for_update(key_share=True)
    )
    in_flight = await session.scalar(
        select(func.count())
        .select_from(Job)
        .where(Job.owner_id == owner_id, Job.status.in_(UNFINISHED))
    )
    if (in_flight or 0) >= settings.jobs_max_in_flight:
        raise TooManyJobs(
            f"You have {in_flight} unfinished jobs, the most allowed "
            f"(LP_JOBS_MAX_IN_FLIGHT={settings.jobs_max_in_flight}); wait for one to finish.",
            retry_after=IN_FLIGHT_RETRY_SECONDS,
        )
    job = Job(
        id=new_id(),  # now, not at the flush: the items name it
        owner_id=owner_id,
        kind=kind.value,
        priority=PRIORITIES[priority],
        concurrency=min(
            concurrency or settings.jobs_default_concurrency, settings.jobs_max_concurrency
        ),
        idempotency_key=idempotency_key,
        request_hash=fingerprint,
        total=len(inputs),
        succeeded=0,
        failed=0,
    )
    rows = [_item_row(job, seq, entry) for seq, entry in enumerate(inputs)]
    bad_rows = sum(row["status"] == ItemStatus.FAILED.value for row in rows)
    try:
        async with session.begin_nested():
            session.add(job)
            await session.flush()
    except IntegrityError:
        # A concurrent submit with the same key got there first: that one is the job.
        assert idempotency_key is not None
        earlier = await _by_idempotency_key(session, owner_id, idempotency_key)
        if earlier is None:
            raise
        return _same_request(earlier, fingerprint), False
    await store.insert_items(session, rows)
    job.failed = bad_rows
    if bad_rows == job.total:
        await store.finish(session, job.id)  # nothing left to run: every row was bad
        await session.refresh(job)
    return job, True


def _item_row(job: Job, seq: int, entry: dict[str, Any] | ImportRow) -> dict[str, Any]:
    row: dict[str, Any] = {
        "job_id": job.id,
        "seq": seq,
        "attempts": 0,
        "result": None,
        "finished_at": None,
    }
    if not isinstance(entry, ImportRow):
        return {**row, "status": ItemStatus.QUEUED.value, "input": entry, "error": None}
    if entry.post is not None:
        return {
            **row,
            "status": ItemStatus.QUEUED.value,
            "input": {**entry.post, "row": entry.row},
            "error": None,
        }
    return {
        **row,
        "status": ItemStatus.FAILED.value,
        "input": {"row": entry.row},
        "error": {"code": "invalid_row", "detail": entry.error, "row": entry.row},
        "finished_at": utcnow(),
    }


async def _by_idempotency_key(session: AsyncSession, owner_id: uuid.UUID, key: str) -> Job | None:
    found: Job | None = await session.scalar(
        select(Job).where(Job.owner_id == owner_id, Job.idempotency_key == key)
    )
    return found


def _same_request(job: Job, fingerprint: str) -> Job:
    if job.request_hash != fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for a different request; use a new key for a new job."
        )
    return job


async def get(session: AsyncSession, *, owner_id: uuid.UUID, job_id: uuid.UUID) -> Job:
    job = await session.get(Job, job_id, populate_existing=True)
    if job is None or job.owner_id != owner_id:
        # Another user's job is as absent as one that never was.
        raise JobNotFound("No job with this id.")
    await _count(session, [job])
    return job


async def _count(session: AsyncSession, jobs: list[Job]) -> None:
    """Fill in the counts of the unfinished ones (a finished job's row holds its own)."""
    running = {job.id: job for job in jobs if job.status not in FINISHED}
    if running:
        for job_id, (succeeded, failed) in (await store.counts(session, list(running))).items():
            job = running[job_id]
            job.succeeded, job.failed = succeeded, failed


def read(job: Job, now: datetime | None = None) -> JobRead:
    done = job.succeeded + job.failed
    rate = eta = None
    if job.started_at is not None and done:
        elapsed = ((job.finished_at or now or utcnow()) - job.started_at).total_seconds()
        if elapsed > 0:
            rate = round(done / elapsed, 3)
            if job.status not in FINISHED:
                eta = round((job.total - done) / rate, 1)
    return JobRead(
        id=job.id,
        kind=JobKind(job.kind),
        status=JobStatus(job.status),
        priority=PRIORITY_NAMES[job.priority],
        concurrency=job.concurrency,
        total=job.total,
        done=done,
        succeeded=job.succeeded,
        failed=job.failed,
        cancel_requested=job.cancel_requested,
        rate_per_second=rate,
        eta_seconds=eta,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


async def list_page(
    session: AsyncSession, *, owner_id: uuid.UUID, limit: int, cursor: uuid.UUID | None
) -> JobPage:
    query = select(Job).where(Job.owner_id == owner_id)
    if cursor is not None:
        query = query.where(Job.id < cursor)
    jobs = list(await session.scalars(query.order_by(Job.id.desc()).limit(limit + 1)))
    more = len(jobs) > limit
    jobs = jobs[:limit]
    await _count(session, jobs)
    now = utcnow()
    return JobPage(
        items=[read(job, now) for job in jobs],
        next_cursor=str(jobs[-1].id) if more else None,
    )


async def items_page(
    session: AsyncSession,
    *,
    job: Job,
    limit: int,
    cursor: str | None,
    status: ItemStatus | None,
) -> JobItemPage:
    query = select(JobItem).where(JobItem.job_id == job.id)
    if status is not None:
        query = query.where(JobItem.status == status.value)
    if cursor is not None:
        query = query.where(JobItem.seq > int(cursor))  # digits: the schema says so
    items = list(await session.scalars(query.order_by(JobItem.seq).limit(limit + 1)))
    more = len(items) > limit
    items = items[:limit]
    importing = job.kind == JobKind.IMPORT
    return JobItemPage(
        items=[
            JobItemRead(
                index=item.seq,
                row=item.input.get("row") if importing else None,
                status=ItemStatus(item.status),
                attempts=item.attempts,
                result=item.result,
                error=item.error,
                finished_at=item.finished_at,
            )
            for item in items
        ],
        next_cursor=str(items[-1].seq) if more else None,
    )


async def cancel(session: AsyncSession, *, owner_id: uuid.UUID, job_id: uuid.UUID) -> Job:
    """Stop the job: its queued items now, the running ones as they end (bounded by the
    provider's timeout). Cancelling a finished job changes nothing."""
    job = await get(session, owner_id=owner_id, job_id=job_id)
    if job.status in FINISHED:
        return job
    await session.execute(update(Job).where(Job.id == job.id).values(cancel_requested=True))
    await store.cancel_queued(session, job.id)
    _, running = await store.unfinished_items(session, job.id)
    if not running:
        await store.finish(session, job.id)
    return await get(session, owner_id=owner_id, job_id=job_id)


async def stats(session: AsyncSession) -> tuple[dict[str, int], dict[str, int]]:
    """Jobs by status, and the items of unfinished jobs by status."""
    jobs = await session.execute(select(Job.status, func.count()).group_by(Job.status))
    items = await session.execute(
        select(JobItem.status, func.count())
        .join(Job, Job.id == JobItem.job_id)
        .where(Job.status.in_(UNFINISHED))
        .group_by(JobItem.status)
    )
    return dict(jobs.all()), dict(items.all())
