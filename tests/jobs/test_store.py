"""The items' bookkeeping on its own (jobs/store.py), on SQLite and PostgreSQL: runners that
claim at once never pass a job's concurrency, and a runner whose lease lapsed writes nothing."""

import asyncio
import uuid
from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from linkedin_posts.config import Settings
from linkedin_posts.database import write_transaction
from linkedin_posts.jobs import service, store
from linkedin_posts.jobs.models import JobItem, JobKind
from linkedin_posts.types import utcnow
from tests.conftest import Account, make_settings

ITEMS = 40


@pytest.fixture
def settings(migrated_url: str) -> Settings:
    return make_settings(migrated_url)


async def new_job(app: FastAPI, settings: Settings, owner: Account, concurrency: int) -> uuid.UUID:
    async with write_transaction(app.state.session_factory, settings, None) as session:
        job, _ = await service.submit(
            session,
            settings,
            owner_id=uuid.UUID(owner.id),
            kind=JobKind.ANALYZE,
            inputs=[{"text": f"Post {n}"} for n in range(ITEMS)],
            priority="normal",
            concurrency=concurrency,
            idempotency_key=None,
            fingerprint="-",
        )
        return job.id


async def test_runners_claiming_at_once_never_pass_the_jobs_concurrency(
    app: FastAPI, settings: Settings, account: Account
) -> None:
    job_id = await new_job(app, settings, account, concurrency=5)
    now = utcnow()

    async def claim(runner: str) -> list[int]:
        async with write_transaction(app.state.session_factory, settings, None) as session:
            claimed = await store.claim(
                session, job_id=job_id, runner=runner, want=4, lease_seconds=30, now=now
            )
            await asyncio.sleep(0.05)  # holding the transaction while the others try
        return [item.seq for item in claimed]

    claims = await asyncio.gather(*(claim(f"runner-{n}") for n in range(4)))

    seqs = [seq for claimed in claims for seq in claimed]
    assert sorted(seqs) == [0, 1, 2, 3, 4]  # five in all, the first five, none twice
    assert sorted(len(claimed) for claimed in claims) == [0, 0, 1, 4]


async def test_a_runner_whose_lease_lapsed_writes_nothing_and_the_taker_writes_once(
    app: FastAPI, settings: Settings, account: Account
) -> None:
    job_id = await new_job(app, settings, account, concurrency=2)
    factory, now = app.state.session_factory, utcnow()
    async with write_transaction(factory, settings, None) as session:
        first = await store.claim(
            session, job_id=job_id, runner="stalled", want=2, lease_seconds=1, now=now
        )
    later = now + timedelta(seconds=2)  # past the stalled runner's lease
    async with write_transaction(factory, settings, None) as session:
        taken = await store.claim(
            session, job_id=job_id, runner="taker", want=2, lease_seconds=30, now=later
        )
    results = {item.seq: {"by": "stalled"} for item in first}
    async with write_transaction(factory, settings, None) as session:
        stalled = await store.succeed_many(
            session, job_id=job_id, runner="stalled", results=results, now=later
        )
    async with write_transaction(factory, settings, None) as session:
        written = await store.succeed_many(
            session,
            job_id=job_id,
            runner="taker",
            results={item.seq: {"by": "taker"} for item in taken},
            now=later,
        )
    async with write_transaction(factory, settings, None) as session:
        again = await store.claim(
            session, job_id=job_id, runner="taker", want=2, lease_seconds=30, now=later
        )
        kept = dict(
            (
                await session.execute(
                    select(JobItem.seq, JobItem.result).where(
                        JobItem.job_id == job_id, JobItem.seq < 2
                    )
                )
            ).all()
        )

    assert [(item.seq, item.attempts) for item in first] == [(0, 1), (1, 1)]
    assert [(item.seq, item.attempts) for item in taken] == [(0, 2), (1, 2)]  # taken over
    assert stalled == set()  # the stalled runner's results were dropped
    assert written == {0, 1}
    assert kept == {0: {"by": "taker"}, 1: {"by": "taker"}}
    assert [item.seq for item in again] == [2, 3]  # the finished ones are not claimed again
