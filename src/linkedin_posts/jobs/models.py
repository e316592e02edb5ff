"""A job and its items: rows in the database, so a job outlives the process that runs it."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, SmallInteger, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from linkedin_posts.database import Base
from linkedin_posts.ids import new_id
from linkedin_posts.types import UTCDateTime, utcnow


class JobKind(StrEnum):
    GENERATE = "generate"
    ANALYZE = "analyze"
    IMPORT = "import"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"  # ended with some items failed
    FAILED = "failed"  # ended with every item failed
    CANCELLED = "cancelled"


FINISHED = frozenset(
    {JobStatus.SUCCEEDED, JobStatus.PARTIAL, JobStatus.FAILED, JobStatus.CANCELLED}
)


class ItemStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        # GET /v1/jobs walks one owner's jobs newest first; in-flight counts filter by status.
        Index("ix_jobs_owner_id_id", "owner_id", "id"),
        Index("ix_jobs_owner_id_status", "owner_id", "status"),
        # A retried submit finds its job by (owner, Idempotency-Key); NULLs never collide.
        Index("uq_jobs_owner_id_idempotency_key", "owner_id", "idempotency_key", unique=True),
        # The runners look for unfinished jobs, highest priority first.
        Index("ix_jobs_status_priority_id", "status", "priority", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED.value)
    priority: Mapped[int] = mapped_column(SmallInteger)
    concurrency: Mapped[int] = mapped_column(SmallInteger)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    request_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    total: Mapped[int] = mapped_column(default=0)
    succeeded: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class JobItem(Base):
    """One unit of a job. Its result is written once: the row is keyed by (job, seq)."""

    __tablename__ = "job_items"
    __table_args__ = (
        # The runners claim a job's next items in order: queued ones, and running ones whose
        # lease lapsed (their process died).
        Index("ix_job_items_job_id_status_seq", "job_id", "status", "seq"),
    )

    job_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True)  # its place in the submitted list, from 0
    status: Mapped[str] = mapped_column(String(16), default=ItemStatus.QUEUED.value)
    attempts: Mapped[int] = mapped_column(default=0)
    input: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # Which runner holds the item, and until when; a lapsed lease lets another take it.
    lease_owner: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # A failed attempt waits until then before the next one.
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
