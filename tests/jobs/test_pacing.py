"""Jobs against a slow, scripted provider (the fake OpenAI server on loopback): retries,
cancellation while items run, priorities, and the adaptive cap on provider calls."""

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from linkedin_posts.config import Settings
from tests.conftest import Account, open_admin
from tests.generation.fake_openai import FakeOpenAI, status
from tests.generation.test_openai_api import openai_settings
from tests.jobs.helpers import JOBS, finished, items_of, job_of, progressed, submit

DELAY = 0.1  # the provider's answer time


def briefs(count: int) -> list[dict[str, Any]]:
    return [{"topic": f"Lessons from release {n}", "temperature": 0.5} for n in range(count)]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(delay=DELAY).running() as server:
        yield server


@pytest.fixture
def provider(fake: FakeOpenAI) -> Iterator[FakeOpenAI]:
    fake.reset()
    yield fake
    fake.reset()


@pytest.fixture
def settings(migrated_url: str, provider: FakeOpenAI) -> Settings:
    return openai_settings(
        migrated_url,
        provider,
        ai_max_retries=0,  # so every provider failure reaches the job's own retries
        # Far above the fake's DELAY: a busy CI machine once took over 0.5 s (openai_settings'
        # bound) to answer, and the timeout counted as one more try than the test scripted.
        ai_timeout_seconds=5.0,
        jobs_enabled=True,
        jobs_poll_seconds=0.1,
        jobs_retry_backoff_seconds=0.05,
        jobs_runner_concurrency=4,
    )


async def test_a_failed_item_is_retried_and_one_that_keeps_failing_is_recorded(
    client: httpx.AsyncClient, account: Account, provider: FakeOpenAI
) -> None:
    provider.queue(status(500))
    once = (await submit(client, account, {"kind": "generate", "items": briefs(1)})).json()
    recovered = await finished(client, account, once["id"])
    provider.queue(status(500), status(502), status(500))
    always = (await submit(client, account, {"kind": "generate", "items": briefs(1)})).json()
    failed = await finished(client, account, always["id"])

    assert (recovered["status"], recovered["succeeded"]) == ("succeeded", 1)
    [item] = await items_of(client, account, once["id"])
    assert (item["attempts"], item["error"]) == (2, None)
    assert failed["status"] == "failed"
    [item] = await items_of(client, account, always["id"])
    assert (item["status"], item["attempts"]) == ("failed", 3)
    assert (item["error"]["code"], item["error"]["status"]) == ("ai_provider_error", 502)
    assert len(provider.requests) == 5


async def test_cancel_stops_a_running_job_within_one_provider_call(
    client: httpx.AsyncClient, account: Account
) -> None:
    body = {"kind": "generate", "items": briefs(40), "concurrency": 2}
    job = (await submit(client, account, body)).json()
    await progressed(client, account, job["id"], 2)

    asked = time.monotonic()
    cancelled = await client.post(f"{JOBS}/{job['id']}/cancel", headers=account.headers)
    assert cancelled.status_code == 200
    assert cancelled.json()["cancel_requested"] is True
    final = await finished(client, account, job["id"], seconds=10)
    ended_after = time.monotonic() - asked

    assert final["status"] == "cancelled"
    assert ended_after < 10 * DELAY + 2  # the two running calls, and a poll or two
    items = await items_of(client, account, job["id"])
    statuses = [item["status"] for item in items]
    assert set(statuses) <= {"succeeded", "cancelled"}
    assert statuses.count("succeeded") == final["succeeded"] < 40
    assert statuses.count("cancelled") == 40 - final["succeeded"]


async def test_a_small_job_submitted_after_a_large_one_finishes_first(
    client: httpx.AsyncClient, account: Account
) -> None:
    large = (
        await submit(client, account, {"kind": "generate", "items": briefs(5000), "concurrency": 4})
    ).json()
    await progressed(client, account, large["id"], 4)
    small = (await submit(client, account, {"kind": "generate", "items": briefs(5)})).json()

    small_final = await finished(client, account, small["id"], seconds=20)
    large_now = await job_of(client, account, large["id"])

    assert small_final["status"] == "succeeded"
    assert large_now["status"] == "running"
    assert large_now["done"] < 200  # the runner's four slots were the large job's until then
    await client.post(f"{JOBS}/{large['id']}/cancel", headers=account.headers)
    assert (await finished(client, account, large["id"]))["status"] == "cancelled"


async def test_provider_rate_limits_halve_the_calls_jobs_make(
    app: Any, client: httpx.AsyncClient, account: Account, provider: FakeOpenAI
) -> None:
    admin = await open_admin(app, client)
    before = (await client.get("/v1/admin/jobs/stats", headers=admin.headers)).json()["runner"]
    provider.queue(*[status(429, headers={"Retry-After": "0"}) for _ in range(4)])

    job = (await submit(client, account, {"kind": "generate", "items": briefs(8)})).json()
    final = await finished(client, account, job["id"])
    after = (await client.get("/v1/admin/jobs/stats", headers=admin.headers)).json()

    assert (final["status"], final["succeeded"]) == ("succeeded", 8)  # retried, then written
    runner = after["runner"]
    assert runner["provider_limit_decreases"] > before["provider_limit_decreases"]
    assert runner["provider_limit"] < before["provider_limit"] + 8  # grew back by +1/limit only
    assert runner["retried"] >= 4
    assert after["jobs"]["succeeded"] >= 1
