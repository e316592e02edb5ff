"""The Redis job queue of the scale-out shape (jobs/queue.py), with real Redis and
`linkedin-posts worker` processes that would not look in the database for ten minutes: what
they run, the queue told them.

The API is an app in the test process without a runner of its own (LP_JOBS_ENABLED=false).
"""

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from linkedin_posts.main import create_app
from linkedin_posts.observability.metrics import JOB_ANNOUNCEMENTS
from tests.conftest import REDIS_URL, make_settings, multi_process_settings, open_account, serving
from tests.generation.fake_openai import FakeOpenAI
from tests.jobs.helpers import finished, items_of, submit
from tests.jobs.test_worker import database_url, provider, start_worker, stop
from tests.observability.test_health import redis_server
from tests.ports import free_port

pytestmark = pytest.mark.skipif(not REDIS_URL, reason="needs LP_TEST_REDIS_URL")

__all__ = ["database_url", "provider"]  # fixtures, used by name
ITEMS = 16


@pytest.fixture
def workers(
    database_url: str, provider: FakeOpenAI, stream: str, tmp_path: Path
) -> Iterator[list[Path]]:
    """Two workers following `stream`, ready; yields their logs."""
    logs = [tmp_path / f"worker{n}.log" for n in range(2)]
    processes = []
    try:
        for log in logs:
            processes.append(
                start_worker(
                    database_url,
                    provider,
                    log,
                    LP_JOBS_QUEUE_STREAM=stream,
                    LP_JOBS_RESCAN_SECONDS="600",
                )
            )
        for log in logs:
            wait_for_line(log, "running jobs from the queue")
        yield logs
    finally:
        for process in processes:
            stop(process, 15)


def wait_for_line(log: Path, text: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while text not in log.read_text():
        assert time.monotonic() < deadline, f"{log.name} never said {text!r}: {log.read_text()}"
        time.sleep(0.05)


async def test_a_job_reaches_the_workers_through_the_queue_and_both_run_it(
    database_url: str, stream: str, workers: list[Path]
) -> None:
    settings = multi_process_settings(
        database_url, jobs_queue_stream=stream, ratelimit_ai="1000/minute"
    )
    async with serving(create_app(settings)) as client:
        account = await open_account(client)
        briefs = [{"topic": f"Queue note {n}"} for n in range(ITEMS)]
        job = (
            await submit(client, account, {"kind": "generate", "items": briefs, "concurrency": 4})
        ).json()
        final = await finished(client, account, job["id"], seconds=60)
        items = await items_of(client, account, job["id"])

    assert (final["status"], final["succeeded"]) == ("succeeded", ITEMS)
    assert [item["attempts"] for item in items] == [1] * ITEMS  # each run once
    # Neither looked in the database after it started: the first heard the submit's
    # announcement, the second the first's.
    for log in workers:
        assert f"job {job['id']} announced" in log.read_text(), log.read_text()


async def test_a_submit_with_redis_gone_keeps_the_job_and_counts_the_lost_announcement(
    database_url: str,
) -> None:
    gone = f"redis://127.0.0.1:{free_port()}/0"
    settings = make_settings(database_url, redis_url=gone, jobs_queue_stream="lp:jobs:gone")
    failed = JOB_ANNOUNCEMENTS.labels("failed")
    before = failed._value.get()
    async with serving(create_app(settings)) as client:
        account = await open_account(client)
        submitted = await submit(client, account, {"kind": "analyze", "items": [{"text": "Hi"}]})
        assert submitted.status_code == 201, submitted.text
        listed = await client.get(f"/v1/jobs/{submitted.json()['id']}", headers=account.headers)

    assert listed.status_code == 200
    assert listed.json()["status"] == "queued"  # in the database, for a worker's next look
    assert failed._value.get() == before + 1


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs the redis-server binary")
async def test_a_worker_listens_again_when_redis_comes_back(
    database_url: str, provider: FakeOpenAI, stream: str, tmp_path: Path
) -> None:
    port = free_port()
    private = f"redis://127.0.0.1:{port}/0"
    log = tmp_path / "worker.log"
    settings = make_settings(
        database_url,
        redis_url=private,
        jobs_queue_stream=stream,
        ratelimit_auth="100000/minute",
    )
    async with redis_server(port, tmp_path):
        worker = start_worker(
            database_url,
            provider,
            log,
            LP_REDIS_URL=private,
            LP_JOBS_QUEUE_STREAM=stream,
            LP_JOBS_RESCAN_SECONDS="600",
        )
        try:
            wait_for_line(log, "running jobs from the queue")
        except BaseException:
            stop(worker, 9)
            raise
    try:
        wait_for_line(log, "the queue failed")  # Redis is gone: the listener says so
        async with redis_server(port, tmp_path), serving(create_app(settings)) as client:
            account = await open_account(client)
            job = await submit(client, account, {"kind": "analyze", "items": [{"text": "Hi"}]})
            final = await finished(client, account, job.json()["id"], seconds=30)
    finally:
        stop(worker, 15)

    assert final["status"] == "succeeded"
    # The worker would not look in the database for ten minutes: the queue brought the job.
    assert f"job {job.json()['id']} announced" in log.read_text()
