"""Load shedding and the request deadline: fast refusals instead of a growing wait."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from prometheus_client import REGISTRY

from tests.conftest import assert_problem
from tests.protection.conftest import ClientFor


def shed_so_far() -> float:
    return REGISTRY.get_sample_value("lp_http_requests_shed_total") or 0.0


async def test_requests_beyond_the_in_flight_cap_get_an_immediate_503(
    client_for: ClientFor,
) -> None:
    release = asyncio.Event()
    entered = asyncio.Semaphore(0)

    def build(app: FastAPI) -> None:
        @app.get("/held")
        async def held() -> dict[str, bool]:
            entered.release()
            await release.wait()
            return {"done": True}

    async with client_for(build, max_in_flight=2) as (_app, client):
        before = shed_so_far()
        holders = [asyncio.create_task(client.get("/held")) for _ in range(2)]
        async with asyncio.timeout(5):
            for _ in holders:
                await entered.acquire()

        async with asyncio.timeout(1):  # refused at once, not queued behind the two
            refused = await client.get("/held")
            probe = await client.get("/health/live")
        body = assert_problem(refused, 503, "overloaded")
        assert refused.headers["Retry-After"] == "1"
        assert body["instance"] == "/held"
        assert refused.headers["X-Request-ID"]
        assert probe.status_code == 200  # probes get through an overloaded process
        assert shed_so_far() == before + 1

        release.set()
        assert [(await h).status_code for h in holders] == [200, 200]
        # Capacity is back once they finished.
        assert (await client.get("/health/live")).status_code == 200
        again = asyncio.create_task(client.get("/held"))
        assert (await again).status_code == 200


async def test_a_handler_past_the_deadline_is_stopped_with_a_504(client_for: ClientFor) -> None:
    cancelled = asyncio.Event()

    def build(app: FastAPI) -> None:
        @app.get("/slow")
        async def slow() -> dict[str, bool]:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                cancelled.set()
                raise
            return {"done": True}

    async with client_for(build, request_timeout_seconds=0.2) as (_app, client):
        async with asyncio.timeout(5):
            answer = await client.get("/slow")
    body = assert_problem(answer, 504, "request_timeout")
    assert "0.2 s" in str(body["detail"])
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert cancelled.is_set()  # the work was stopped, not left running


async def test_a_stream_that_has_started_is_not_cut_by_the_deadline(
    client_for: ClientFor,
) -> None:
    def build(app: FastAPI) -> None:
        @app.get("/stream")
        async def stream() -> StreamingResponse:
            async def events() -> AsyncIterator[bytes]:
                for n in range(3):
                    yield f"data: {n}\n\n".encode()
                    await asyncio.sleep(0.15)

            return StreamingResponse(events(), media_type="text/event-stream")

    async with client_for(build, request_timeout_seconds=0.2) as (_app, client):
        answer = await client.get("/stream")
    assert answer.status_code == 200
    assert answer.text == "data: 0\n\ndata: 1\n\ndata: 2\n\n"


@pytest.mark.parametrize("seconds", [0.0, -1])
def test_the_deadline_must_be_positive(seconds: float) -> None:
    from pydantic import ValidationError

    from linkedin_posts.config import Settings

    with pytest.raises(ValidationError):
        Settings(_env_file=None, request_timeout_seconds=seconds)  # type: ignore[call-arg]
