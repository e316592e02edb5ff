"""The job queue of the scale-out shape: taskiq, on a Redis stream, tells workers a job has work.

A submit announces its job on a Redis stream (taskiq-redis's RedisStreamBroker). Every
`linkedin-posts worker` reads it as a consumer of one consumer group, so each announcement goes
to one worker, which runs the job's items (each claimed under the database's leases,
store.claim) and acknowledges the announcement when nothing is left there for it to claim.
An announcement says only "job J has work": the database stays the judge of who runs which
item, so an announcement delivered twice, late, or to a worker that finds nothing left costs a
read, never a second result.

- Fan-out: a worker that starts a job announces it once more, so the next idle worker joins
  in; a worker already running it acknowledges without announcing, which ends the chain.
- A worker that dies leaves its announcements unacknowledged: another worker claims them
  (XAUTOCLAIM) once they are LP_JOBS_LEASE_SECONDS old, when the items' leases have lapsed too.
  A worker that is stopped hands its items back and announces their jobs again.
- Redis down: a submit still succeeds (the job is in the database) and the workers find it at
  their next look at the database (LP_JOBS_RESCAN_SECONDS).
"""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from linkedin_posts.config import Settings
from linkedin_posts.observability.metrics import JOB_ANNOUNCEMENTS

if TYPE_CHECKING:
    from taskiq import AsyncTaskiqDecoratedTask
    from taskiq_redis import RedisStreamBroker

logger = logging.getLogger(__name__)

GROUP = "lp-workers"
TASK_NAME = "linkedin_posts.jobs.has_work"
# How long a worker's read waits on an empty stream; it then looks for dead workers' messages.
READ_BLOCK_MS = 2000
# Announcements kept in the stream (trimmed roughly): the acknowledged ones are only history.
STREAM_MAXLEN = 10_000
# A worker killed while it looked for dead workers' messages holds that lock this long.
AUTOCLAIM_LOCK_SECONDS = 10.0
# After Redis failed, a worker listens again after this long.
RELISTEN_SECONDS = 1.0

Follow = Callable[[uuid.UUID], Awaitable[None]]


class JobQueue:
    def __init__(self, settings: Settings, *, consumer: str, listens: bool) -> None:
        self.settings = settings
        self.consumer = consumer
        self.listens = listens
        self._broker: RedisStreamBroker | None = None
        self._task: AsyncTaskiqDecoratedTask[[str], Coroutine[Any, Any, None]] | None = None
        self._follow: Follow | None = None
        self._listening: asyncio.Task[None] | None = None
        self._started = False

    @property
    def broker(self) -> "RedisStreamBroker":
        if self._broker is None:
            self._broker = self._open_broker()
        return self._broker

    def _open_broker(self) -> "RedisStreamBroker":
        # Imported here, when a process first submits or runs a job: taskiq (with aiohttp,
        # which it imports) costs an API process ~11 MB and half a second.
        from taskiq_redis import RedisStreamBroker

        settings = self.settings
        assert settings.redis_url
        # A listener's read blocks for READ_BLOCK_MS: its socket must wait longer than that.
        timeout = READ_BLOCK_MS / 1000 + 5 if self.listens else settings.redis_timeout_seconds
        broker = RedisStreamBroker(
            settings.redis_url,
            queue_name=settings.jobs_queue_stream,
            consumer_group_name=GROUP,
            consumer_name=self.consumer,
            # A group created after a submit still reads what that submit announced.
            consumer_id="0",
            xread_block=READ_BLOCK_MS,
            maxlen=STREAM_MAXLEN,
            idle_timeout=int(settings.jobs_lease_seconds * 1000),
            unacknowledged_lock_timeout=AUTOCLAIM_LOCK_SECONDS,
            socket_timeout=timeout,
            socket_connect_timeout=settings.redis_timeout_seconds,
        )
        broker.is_worker_process = self.listens

        async def has_work(job_id: str) -> None:  # a function: taskiq renames what it registers
            JOB_ANNOUNCEMENTS.labels("received").inc()
            if self._follow is not None:
                await self._follow(uuid.UUID(job_id))

        self._task = broker.register_task(has_work, task_name=TASK_NAME)
        return broker

    async def announce(self, job_id: uuid.UUID) -> bool:
        """Tell one worker the job has work; False (logged, counted) when Redis failed, in which
        case the workers find the job in the database a little later."""
        from redis.exceptions import RedisError

        try:
            broker = self.broker
            if not self._started:
                # Creates the consumer group, so no announcement is lost before a worker starts.
                await broker.startup()
                self._started = True
            assert self._task is not None
            await self._task.kiq(str(job_id))
        except Exception as exc:
            # Never the submit's failure: the job is in the database already.
            JOB_ANNOUNCEMENTS.labels("failed").inc()
            expected = isinstance(exc, (RedisError, OSError))
            logger.warning(
                "jobs: could not announce job %s (%s)",
                job_id,
                type(exc).__name__,
                exc_info=None if expected else exc,
            )
            return False
        JOB_ANNOUNCEMENTS.labels("sent").inc()
        return True

    def start_listening(self, follow: Follow, max_jobs: int) -> None:
        """Run `follow(job_id)` for each announcement, up to `max_jobs` at once, until
        stop_listening; an announcement is acknowledged when its `follow` returns."""
        self._follow = follow
        self._listening = asyncio.create_task(self._listen(max_jobs))

    async def stop_listening(self) -> None:
        """Stop reading; what this worker was following stays unacknowledged for another."""
        task, self._listening = self._listening, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])

    async def _listen(self, max_jobs: int) -> None:
        from taskiq.acks import AcknowledgeType
        from taskiq.receiver import Receiver

        receiver = Receiver(
            self.broker,
            max_async_tasks=max_jobs,
            run_startup=False,
            ack_type=AcknowledgeType.WHEN_EXECUTED,
        )
        while True:
            try:
                await self.broker.startup()
                self._started = True
                await receiver.listen(asyncio.Event())
            except Exception as exc:
                if self._listening is not None:
                    # Redis failed (or went away): taskiq's task group raises it in a group.
                    failure = type(exc).__name__
                    logger.warning("jobs: the queue failed (%s), listening again", failure)
            if self._listening is None:
                # Stopped. When Redis failed at the same moment, taskiq's task group raised the
                # failure and dropped the cancellation: the stop is known only by this.
                return
            await asyncio.sleep(RELISTEN_SECONDS)

    async def close(self) -> None:
        if self._broker is not None:
            with contextlib.suppress(Exception):
                await self._broker.shutdown()


def open_job_queue(settings: Settings, *, consumer: str, listens: bool) -> JobQueue | None:
    """The queue, or None in the embedded shape (no Redis) or with LP_JOBS_QUEUE_ENABLED off."""
    if not settings.redis_url or not settings.jobs_queue_enabled:
        return None
    return JobQueue(settings, consumer=consumer, listens=listens)
