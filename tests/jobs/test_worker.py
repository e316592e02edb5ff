"""`linkedin-posts worker` processes, killed mid-job: another takes over, and every item has
exactly one result and every saved post exists once.

The API here is an app in the test process with no runner of its own (LP_JOBS_ENABLED=false),
on the same database as the workers, and the provider the fake OpenAI server on loopback.
"""

import asyncio
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from linkedin_posts.main import create_app
from tests.conftest import (
    PG_URL,
    REDIS_URL,
    Account,
    fresh_database,
    multi_process_settings,
    open_account,
    serving,
)
from tests.generation.fake_openai import FakeOpenAI
from tests.jobs.helpers import finished, items_of, progressed, submit
from tests.test_cli import CLI, cli_env, run_cli

LEASE_SECONDS = 2
ITEMS = 24


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database("postgresql" if PG_URL else "sqlite", tmp_path) as url:
        result = run_cli("migrate", database_url=url, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        yield url


@pytest.fixture
def provider() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(delay=0.2, vary=True).running() as fake:
        yield fake


def start_worker(
    database_url: str, provider: FakeOpenAI, log: Path, **settings: str | None
) -> subprocess.Popen[bytes]:
    defaults: dict[str, str | None] = {
        "LP_REDIS_URL": REDIS_URL,
        "LP_AI_PROVIDER": "openai",
        "LP_AI_BASE_URL": f"{provider.url}/v1",
        "LP_AI_API_KEY": "sk-test",
        "LP_AI_MODEL": "test-model",
        "LP_JOBS_LEASE_SECONDS": str(LEASE_SECONDS),
        "LP_JOBS_POLL_SECONDS": "0.2",
        "LP_AUTO_MIGRATE": "false",
        "PROMETHEUS_MULTIPROC_DIR": None,
    }
    env = cli_env(database_url, **(defaults | settings))
    with log.open("ab") as out:
        return subprocess.Popen(
            [*CLI, "worker"],
            env=env,
            cwd=log.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen[bytes], signum: int) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signum)
        process.wait(timeout=30)


async def test_a_killed_worker_is_taken_over_and_nothing_is_written_twice(
    database_url: str, provider: FakeOpenAI, stream: str, tmp_path: Path
) -> None:
    log = tmp_path / "workers.log"
    # With Redis, the scale-out shape: the submit reaches the workers through the job queue.
    api = create_app(
        multi_process_settings(database_url, ratelimit_ai="1000/minute", jobs_queue_stream=stream)
    )
    first = start_worker(database_url, provider, log, LP_JOBS_QUEUE_STREAM=stream)
    second: subprocess.Popen[bytes] | None = None
    try:
        async with serving(api) as client:
            account = await open_account(client)
            briefs = [{"topic": f"Launch note {n}", "save": True} for n in range(ITEMS)]
            job = (
                await submit(
                    client, account, {"kind": "generate", "items": briefs, "concurrency": 4}
                )
            ).json()
            await progressed(client, account, job["id"], 4)
            await holding(client, account, job["id"])
            stop(first, signal.SIGKILL)  # mid-job: items in hand (mid-call), leases held
            second = start_worker(database_url, provider, log, LP_JOBS_QUEUE_STREAM=stream)

            final = await finished(client, account, job["id"], seconds=60)
            items = await items_of(client, account, job["id"])
            posts = await all_posts(client, account.headers)
    finally:
        stop(first, signal.SIGKILL)
        if second is not None:
            stop(second, signal.SIGTERM)

    assert (final["status"], final["succeeded"], final["failed"]) == ("succeeded", ITEMS, 0), (
        log.read_text()
    )
    saved = [variant["post_id"] for item in items for variant in item["result"]["variants"]]
    assert len(saved) == len(set(saved)) == ITEMS
    assert sorted(post["id"] for post in posts) == sorted(saved)  # no post saved twice
    assert any(item["attempts"] == 2 for item in items), "no item was taken over"
    assert {post["title"] for post in posts} == {brief["topic"] for brief in briefs}


async def holding(client: httpx.AsyncClient, account: Account, job_id: str) -> None:
    """Wait until a runner holds some of the job's items (each takes the provider 0.2 s)."""
    for _ in range(500):
        if await items_of(client, account, job_id, status="running"):
            return
        await asyncio.sleep(0.01)
    pytest.fail("no item was ever running")


async def all_posts(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    listed = await client.get("/v1/posts/export", headers=headers)
    assert listed.status_code == 200, listed.text
    posts: list[dict[str, Any]] = listed.json()
    return posts
