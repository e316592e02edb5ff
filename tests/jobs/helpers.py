"""What the job tests share: submitting, waiting for the end, reading every item."""

import asyncio
import time
from typing import Any

import httpx

from tests.conftest import Account

JOBS = "/v1/jobs"
FINISHED = {"succeeded", "partial", "failed", "cancelled"}


async def submit(
    client: httpx.AsyncClient, account: Account, body: dict[str, Any], **headers: str
) -> httpx.Response:
    return await client.post(JOBS, json=body, headers={**account.headers, **headers})


async def job_of(client: httpx.AsyncClient, account: Account, job_id: str) -> dict[str, Any]:
    response = await client.get(f"{JOBS}/{job_id}", headers=account.headers)
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()
    return job


async def finished(
    client: httpx.AsyncClient, account: Account, job_id: str, seconds: float = 30
) -> dict[str, Any]:
    """The job once it has finished; fails the test if it has not within `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        job = await job_of(client, account, job_id)
        if job["status"] in FINISHED:
            return job
        assert time.monotonic() < deadline, f"not finished within {seconds} s: {job}"
        await asyncio.sleep(0.05)


async def items_of(
    client: httpx.AsyncClient, account: Account, job_id: str, **query: Any
) -> list[dict[str, Any]]:
    """Every item of the job, following the pages."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {**query, "limit": 500, **({"cursor": cursor} if cursor else {})}
        response = await client.get(
            f"{JOBS}/{job_id}/items", params=params, headers=account.headers
        )
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def progressed(
    client: httpx.AsyncClient, account: Account, job_id: str, done: int, seconds: float = 30
) -> dict[str, Any]:
    """The job once at least `done` of its items have finished."""
    deadline = time.monotonic() + seconds
    while True:
        job = await job_of(client, account, job_id)
        if job["done"] >= done:
            return job
        assert time.monotonic() < deadline, f"{done} not done within {seconds} s: {job}"
        await asyncio.sleep(0.02)
