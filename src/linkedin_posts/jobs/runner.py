"""Runs jobs: the same loop in an API process (embedded) and in `linkedin-posts worker`.

A runner learns of jobs three ways: at once when its own process took the submit (wake), from
the Redis job queue in a worker (follow, jobs/queue.py), and by looking in the database every
LP_JOBS_POLL_SECONDS (LP_JOBS_RESCAN_SECONDS when the queue tells it). For each job it claims
items within the job's concurrency, across all runners (store.claim), and runs them within its
own cap (PrioritySlots). Any number of runners, in any processes, share the jobs: the database
decides who runs what.
"""

import asyncio
import contextlib
import functools
import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from linkedin_posts.config import Settings
from linkedin_posts.errors import AppError
from linkedin_posts.generation.exceptions import (
    ProviderError,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from linkedin_posts.generation.resilience import backoff_seconds
from linkedin_posts.jobs import store
from linkedin_posts.jobs.models import Job, JobKind, JobStatus
from linkedin_posts.jobs.pacing import AdaptiveLimit, PrioritySlots
from linkedin_posts.jobs.queue import JobQueue
from linkedin_posts.jobs.store import Claimed, LeaseLost
from linkedin_posts.jobs.work import JobContext, Outcome, Sessions, Work, with_post_ids
from linkedin_posts.observability.metrics import JOB_ITEMS
from linkedin_posts.posts import service as posts_service
from linkedin_posts.types import utcnow

logger = logging.getLogger(__name__)

# Jobs a runner looks at per scan, most urgent first.
SCAN_LIMIT = 50
# The longest a retry waits, whatever the backoff or the provider's Retry-After says.
MAX_RETRY_SECONDS = 300.0
# The provider's answer time a round of AIMD is measured in.
AIMD_ROUND_SECONDS = 1.0
STOP_SECONDS = 5.0
# A runner claims a job's items again once this share of its concurrency is free (1/4), or
# once a slot has been free this long: analyses and imports keep the runner's CPU busy, and
# fewer, larger claims leave it more for them. A generation item waits on the provider: its
# free slot is claimed again at once (a claim costs it well under a millisecond of CPU, a
# slot left free 20 ms cost the job 5% of its rate).
CLAIM_SHARE = 4
CLAIM_DELAY_SECONDS = {JobKind.GENERATE: 0.0, JobKind.ANALYZE: 0.02, JobKind.IMPORT: 0.02}
TRANSIENT = (SQLAlchemyError, OSError, TimeoutError)
OVERLOAD = (ProviderRateLimited, ProviderTimeout, ProviderUnavailable)
UNFINISHED = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


def runner_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(slots=True)
class RunnerStats:
    succeeded: int = 0
    failed: int = 0
    retried: int = 0
    lost: int = 0


@dataclass(slots=True)
class _Done:
    """An item's outcome on its way to the database."""

    job: JobContext
    item: Claimed
    outcome: Outcome
    written: asyncio.Event = field(default_factory=asyncio.Event)
    lost: bool = False
    recorded: bool = False


class Runner:
    def __init__(
        self, settings: Settings, *, reads: Sessions, writes: Sessions, work: Work
    ) -> None:
        self.settings = settings
        self.reads = reads
        self.writes = writes
        self.work = work
        self.name = runner_name()
        # Set by a worker that follows the job queue: it announces the jobs it starts (so the
        # next worker joins in) and hands back, and looks in the database less often.
        self.queue: JobQueue | None = None
        self.slots = PrioritySlots(settings.jobs_runner_concurrency)
        # Generation items share the provider with interactive requests: at most half its
        # calls per process go to jobs, and fewer when it shows overload. A fresh runner starts
        # at half that share (4 with the default LP_AI_MAX_CONCURRENCY), not at a fixed 4: a
        # provider configured for 64 calls per process took 0.6 s of probing from 4.
        provider_share = max(1, settings.ai_max_concurrency // 2)
        self.provider_limit = AdaptiveLimit(
            initial=max(1, provider_share // 2), maximum=provider_share
        )
        self.stats = RunnerStats()
        self._wake = asyncio.Event()
        self._active: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._items: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._unwritten: list[_Done] = []
        self._writing = asyncio.Lock()

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._scan_forever(), name="jobs-scan"),
            asyncio.create_task(self._renew_forever(), name="jobs-leases"),
        ]

    def wake(self) -> None:
        """A job was submitted here: look now rather than at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop taking items, let those in hand finish (for STOP_SECONDS at most), and hand
        back the rest for another runner (announced again on the queue, if there is one)."""
        self._stopping = True
        unfinished = list(self._active)
        for task in self._tasks:
            task.cancel()
        jobs = list(self._active.values())
        if jobs:
            await asyncio.wait(jobs, timeout=STOP_SECONDS)
        left = [task for task in [*self._tasks, *jobs, *self._items] if not task.done()]
        for task in left:
            task.cancel()
        if left:
            await asyncio.wait(left, timeout=STOP_SECONDS)
        with contextlib.suppress(*TRANSIENT):
            async with asyncio.timeout(STOP_SECONDS), self.writes() as session:
                released = await store.release(session, runner=self.name)
            if released:
                logger.info("jobs: handed back %d items in progress", released)
        if self.queue is not None:
            for job_id in unfinished:
                await self.queue.announce(job_id)

    def snapshot(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "active_jobs": len(self._active),
            "items_running": self.slots.in_use,
            "items_waiting": self.slots.waiting,
            "capacity": self.slots.capacity,
            "provider_limit": round(self.provider_limit.limit, 2),
            "provider_limit_decreases": self.provider_limit.decreases,
            "succeeded": self.stats.succeeded,
            "failed": self.stats.failed,
            "retried": self.stats.retried,
            "lost_leases": self.stats.lost,
        }

    # -- finding jobs --------------------------------------------------------------------------

    async def _scan_forever(self) -> None:
        while True:
            try:
                await self.scan()
            except TRANSIENT as exc:
                logger.warning("jobs: could not look for jobs (%s)", type(exc).__name__)
            except Exception:
                # A bug must not stop the runner for good: log it, look again at the next poll.
                logger.exception("jobs: looking for jobs failed")
            every = (
                self.settings.jobs_poll_seconds
                if self.queue is None
                else self.settings.jobs_rescan_seconds
            )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(every):
                    await self._wake.wait()
            self._wake.clear()

    async def scan(self) -> None:
        async with self.reads() as session:
            jobs = list(
                await session.scalars(
                    select(Job)
                    .where(Job.status.in_(UNFINISHED))
                    .order_by(Job.priority.desc(), Job.id)
                    .limit(SCAN_LIMIT)
                )
            )
        for job in jobs:
            if job.id not in self._active:
                self._start(job)

    async def follow(self, job_id: uuid.UUID) -> None:
        """The queue announced the job: run it here until nothing is left here to claim."""
        task = self._active.get(job_id)
        if task is None:
            if self._stopping:
                return
            async with self.reads() as session:
                job = await session.scalar(
                    select(Job).where(Job.id == job_id, Job.status.in_(UNFINISHED))
                )
            if job is None or job.id in self._active:
                task = self._active.get(job_id)
            else:
                logger.info("jobs: job %s announced, running it", job_id)
                task = self._start(job)
                if job.total > 1 and self.queue is not None:
                    await self.queue.announce(job_id)  # the next worker joins in
        if task is not None:
            await asyncio.wait([task])

    def _start(self, job: Job) -> asyncio.Task[None]:
        context = JobContext(
            job.id, job.owner_id, JobKind(job.kind), job.priority, job.total, job.concurrency
        )
        task = asyncio.create_task(self._run_job(context), name=f"job-{job.id}")
        self._active[job.id] = task
        task.add_done_callback(functools.partial(self._forget, job.id))
        return task

    def _forget(self, job_id: uuid.UUID, _: object) -> None:
        self._active.pop(job_id, None)

    async def _renew_forever(self) -> None:
        lease = self.settings.jobs_lease_seconds
        while True:
            await asyncio.sleep(lease / 3)
            try:
                async with self.writes() as session:
                    await store.renew_leases(
                        session, runner=self.name, lease_seconds=lease, now=utcnow()
                    )
            except TRANSIENT as exc:
                logger.warning("jobs: could not renew leases (%s)", type(exc).__name__)

    # -- one job -------------------------------------------------------------------------------

    async def _run_job(self, job: JobContext) -> None:
        """Claim and run the job's items until none is left for this runner."""
        running: set[asyncio.Task[None]] = set()
        rank = (-job.priority, job.total)
        loop = asyncio.get_running_loop()
        free_since: float | None = None  # when a slot of the job was first left unclaimed
        # This runner's part of the job's concurrency: all of it, until a claim gets fewer
        # items than it asked for (other runners hold the rest, or none is left to claim);
        # then what it holds, until a claim gets all it asked for again.
        share = job.concurrency
        delay = CLAIM_DELAY_SECONDS[job.kind]
        try:
            while True:
                if self._stopping and not running:
                    return
                room = share - len(running)
                now = loop.time()
                if room <= 0:
                    free_since = None
                elif free_since is None:
                    free_since = now
                # Claimed a few at a time, not one per finished item (a claim is a
                # transaction), yet no slot waits longer than the kind's claim delay.
                if (room > 0 and not self._stopping) and (
                    room >= max(1, share // CLAIM_SHARE)
                    or not running
                    or now - (free_since or now) >= delay
                ):
                    free_since = None
                    claimed = await self._claim(job, room)
                    for item in claimed:
                        task = asyncio.create_task(self._run_item(job, item, rank))
                        running.add(task)
                        self._items.add(task)
                        task.add_done_callback(self._items.discard)
                    full = len(claimed) == room
                    share = job.concurrency if full else max(1, len(running))
                if running:
                    wait = (
                        self.settings.jobs_poll_seconds
                        if free_since is None or self._stopping
                        else delay
                    )
                    _, pending = await asyncio.wait(
                        running, timeout=wait, return_when=asyncio.FIRST_COMPLETED
                    )
                    running = set(pending)
                elif not await self._wait_or_finish(job):
                    return
        except TRANSIENT as exc:
            # The next scan picks the job up again.
            logger.warning("jobs: job %s paused (%s)", job.id, type(exc).__name__)
        except Exception:
            logger.exception("jobs: job %s paused", job.id)
        finally:
            for task in running:
                task.cancel()

    async def _claim(self, job: JobContext, room: int) -> list[Claimed]:
        async with self.writes() as session:
            return await store.claim(
                session,
                job_id=job.id,
                runner=self.name,
                want=room,
                lease_seconds=self.settings.jobs_lease_seconds,
                now=utcnow(),
            )

    async def _wait_or_finish(self, job: JobContext) -> bool:
        """Nothing to claim now: True to keep going (items wait for a retry), False when the
        job is done here (finished, or its last items are another runner's)."""
        async with self.reads() as session:
            queued, running = await store.unfinished_items(session, job.id)
            cancelled = await session.scalar(select(Job.cancel_requested).where(Job.id == job.id))
        if queued and not cancelled:
            await asyncio.sleep(self.settings.jobs_poll_seconds)
            return True
        if not running:
            async with self.writes() as session:
                await store.finish(session, job.id)
        return False

    # -- one item ------------------------------------------------------------------------------

    async def _run_item(self, job: JobContext, item: Claimed, rank: tuple[int, int]) -> None:
        try:
            await self._attempt(job, item, rank)
        except TRANSIENT as exc:
            # Its result could not be written: the lease lapses and the item is tried again.
            logger.warning(
                "jobs: item %d of job %s not recorded (%s)", item.seq, job.id, type(exc).__name__
            )

    async def _attempt(self, job: JobContext, item: Claimed, rank: tuple[int, int]) -> None:
        if item.attempts > self.settings.jobs_max_attempts:
            # Taken over from runners that died on it every time: it may be what kills them.
            await self._record_failure(
                job,
                item,
                {"code": "item_abandoned", "detail": "The item's runner stopped every time."},
                retry_at=None,
            )
            return
        async with self.slots.slot(rank):
            try:
                outcome = await self._compute(job, item)
            except Exception as exc:
                await self._failed(job, item, exc)
                return
        await self._succeeded(job, item, outcome)

    async def _compute(self, job: JobContext, item: Claimed) -> Outcome:
        if job.kind is not JobKind.GENERATE:
            return await self.work.run(job, item.input)
        async with self.provider_limit.slot():
            try:
                outcome = await self.work.run(job, item.input)
            except OVERLOAD:
                await self.provider_limit.overloaded(AIMD_ROUND_SECONDS)
                raise
            self.provider_limit.succeeded()
            return outcome

    async def _succeeded(self, job: JobContext, item: Claimed, outcome: Outcome) -> None:
        """Record the result with the results of other items that finished meanwhile.

        Group commit: while one transaction writes, the items that finish queue up, and the
        next writer writes them all in one; a commit per item cost more than the item.
        """
        done = _Done(job, item, outcome)
        self._unwritten.append(done)
        async with self._writing:
            if not done.written.is_set():
                batch, self._unwritten = self._unwritten, []
                try:
                    await self._write(batch)
                finally:
                    for each in batch:
                        each.written.set()
        if done.lost:
            self.stats.lost += 1
            logger.warning("jobs: item %d of job %s was taken over", item.seq, job.id)
        elif done.recorded:
            self.stats.succeeded += 1
            JOB_ITEMS.labels(job.kind.value, "succeeded").inc()

    async def _write(self, batch: list["_Done"]) -> None:
        now = utcnow()
        plain: dict[uuid.UUID, dict[int, _Done]] = {}
        async with self.writes() as session:
            for done in batch:
                if not done.outcome.posts:
                    plain.setdefault(done.job.id, {})[done.item.seq] = done
                    continue
                try:
                    # Its own savepoint: an item another runner took over leaves no post.
                    async with session.begin_nested():
                        await self._record(session, done, now)
                except LeaseLost:
                    done.lost = True
            for job_id, items in plain.items():
                # One statement for all (a lost lease writes nothing).
                held = await store.succeed_many(
                    session,
                    job_id=job_id,
                    runner=self.name,
                    results={seq: done.outcome.result for seq, done in items.items()},
                    now=now,
                )
                for seq, done in items.items():
                    done.lost = seq not in held
        for done in batch:
            done.recorded = not done.lost

    async def _failed(self, job: JobContext, item: Claimed, exc: Exception) -> None:
        error = _problem(exc)
        if not isinstance(exc, (AppError, *TRANSIENT)):
            logger.error("jobs: item %d of job %s failed", item.seq, job.id, exc_info=exc)
        retry_at = None
        if _retryable(exc) and item.attempts < self.settings.jobs_max_attempts:
            retry_at = utcnow() + timedelta(seconds=self._backoff(item.attempts, exc))
        await self._record_failure(job, item, error, retry_at)

    async def _record(self, session: AsyncSession, done: "_Done", now: datetime) -> None:
        job, outcome = done.job, done.outcome
        post_ids = [
            (await posts_service.create(session, owner_id=job.owner_id, data=post)).id
            for post in outcome.posts
        ]
        with_post_ids(job.kind, outcome.result, post_ids)
        await store.succeed(
            session,
            job_id=job.id,
            seq=done.item.seq,
            runner=self.name,
            result=outcome.result,
            now=now,
        )

    async def _record_failure(
        self, job: JobContext, item: Claimed, error: dict[str, Any], retry_at: datetime | None
    ) -> None:
        async with self.writes() as session:
            held = await store.fail(
                session,
                job_id=job.id,
                seq=item.seq,
                runner=self.name,
                error=error,
                retry_at=retry_at,
                now=utcnow(),
            )
        if not held:
            self.stats.lost += 1
        elif retry_at is not None:
            self.stats.retried += 1
            JOB_ITEMS.labels(job.kind.value, "retried").inc()
        else:
            self.stats.failed += 1
            JOB_ITEMS.labels(job.kind.value, "failed").inc()

    def _backoff(self, attempts: int, exc: Exception) -> float:
        delay = backoff_seconds(self.settings.jobs_retry_backoff_seconds, attempts - 1)
        if isinstance(exc, ProviderError) and exc.retry_after is not None:
            delay = max(delay, exc.retry_after)
        return min(delay, MAX_RETRY_SECONDS)


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, ProviderError):
        return exc.retryable
    if isinstance(exc, AppError):
        return exc.status >= 500 or exc.status == 429
    return True  # a database or network hiccup, or a bug: worth another try, then recorded


def _problem(exc: Exception) -> dict[str, Any]:
    """What the item's `error` says: the API's problem code and detail, nothing internal."""
    if isinstance(exc, AppError):
        return {"code": exc.code, "status": exc.status, "detail": exc.detail}
    if isinstance(exc, TRANSIENT):
        detail = "A service the item needs did not answer."
        return {"code": "temporarily_unavailable", "status": 503, "detail": detail}
    return {"code": "internal_error", "status": 500, "detail": "The item failed unexpectedly."}
