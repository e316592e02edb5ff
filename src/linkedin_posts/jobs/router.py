import asyncio
import functools
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from linkedin_posts.auth.dependencies import CurrentUser, require_admin
from linkedin_posts.database import read_sessions, write_sessions
from linkedin_posts.dependencies import require_json, single_valued_query
from linkedin_posts.errors import problem_responses
from linkedin_posts.jobs import service
from linkedin_posts.jobs.importing import ImportRow, parse_import, rows_of
from linkedin_posts.jobs.models import FINISHED, JobKind
from linkedin_posts.jobs.schemas import (
    ImportJobCreate,
    ItemQuery,
    JobCreate,
    JobItemPage,
    JobPage,
    JobRead,
    JobStats,
    PageQuery,
    Priority,
)

router = APIRouter(prefix="/jobs", tags=["jobs"], responses=problem_responses(401, 422, 429))
admin_router = APIRouter(
    prefix="/admin/jobs",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses=problem_responses(401, 403, 429),
)

IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=200,
        description="A retried submit with the same key (and the same request) returns the same "
        "job instead of a second one.",
    ),
]
# How often the events stream looks at the job, and sends a comment to keep proxies open.
EVENTS_POLL_SECONDS = 0.5
EVENTS_KEEPALIVE_SECONDS = 15.0
_SUBMIT_ERRORS = problem_responses(400, 409, 413, 415)
# One event, as OpenAPI 3.1 describes an event stream (as generation's stream does).
_EVENT_SCHEMA = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "enum": ["progress", "end"]},
        "data": {"type": "string", "contentMediaType": "application/json"},
    },
}
_EVENTS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-Sent Events: `progress` (the job, as GET /v1/jobs/{id} shows it) "
        "whenever it changes, and `end` (the finished job) last.",
        "content": {"text/event-stream": {"schema": _EVENT_SCHEMA}},
    }
}


@router.post(
    "",
    status_code=201,
    response_model=JobRead,
    dependencies=[Depends(require_json)],
    responses={200: {"model": JobRead, "description": "A retried submit"}, **_SUBMIT_ERRORS},
)
async def submit_job(
    data: JobCreate, user: CurrentUser, request: Request, idempotency_key: IdempotencyKey = None
) -> Response:
    """Start a bulk job: `generate` (briefs), `analyze` (texts or post ids) or `import` (posts).

    Follow it with GET /v1/jobs/{id}, its items, or its events stream.
    """
    if isinstance(data, ImportJobCreate):
        inputs: list[Any] = rows_of(data.items)
    else:
        inputs = [item.model_dump(mode="json", exclude_none=True) for item in data.items]
    return await _submit(
        request,
        user.id,
        kind=JobKind(data.kind),
        inputs=inputs,
        priority=data.priority,
        concurrency=data.concurrency,
        idempotency_key=idempotency_key,
        fingerprint=service.request_hash(await request.body(), "job"),
    )


@router.post(
    "/import",
    status_code=201,
    response_model=JobRead,
    responses={200: {"model": JobRead, "description": "A retried submit"}, **_SUBMIT_ERRORS},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                media: {"schema": {"type": "string", "format": "binary", "minLength": 1}}
                for media in ("text/csv", "application/json", "application/x-ndjson")
            },
        }
    },
)
async def import_file(
    request: Request,
    user: CurrentUser,
    filename: Annotated[str | None, Query(max_length=255)] = None,
    priority: Priority = "normal",
    concurrency: Annotated[int | None, Query(ge=1, le=256)] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Import posts from a CSV, JSON or JSON Lines file sent as the body (docs/jobs.md): each
    good row becomes a post; each bad one a failed item with its row number and reason."""
    data = await request.body()
    # Parsing and validating thousands of rows is CPU work: off the event loop.
    rows: list[ImportRow] = await anyio.to_thread.run_sync(
        functools.partial(
            parse_import,
            data,
            filename=filename,
            content_type=request.headers.get("content-type"),
            max_rows=request.app.state.settings.jobs_max_items,
        )
    )
    return await _submit(
        request,
        user.id,
        kind=JobKind.IMPORT,
        inputs=rows,
        priority=priority,
        concurrency=concurrency,
        idempotency_key=idempotency_key,
        fingerprint=service.request_hash(data, "import", filename, priority, concurrency),
    )


async def _submit(request: Request, owner_id: uuid.UUID, **submitted: Any) -> Response:
    async with write_sessions(request)() as session:
        job, created = await service.submit(
            session, request.app.state.settings, owner_id=owner_id, **submitted
        )
        body = service.read(job).model_dump_json().encode()
    runner = getattr(request.app.state, "job_runner", None)
    queue = getattr(request.app.state, "job_queue", None)
    if created and runner is not None:
        runner.wake()  # committed: this process's runner starts it now
    if created and queue is not None:
        await queue.announce(job.id)  # and a worker too
    return Response(
        body,
        status_code=201 if created else 200,
        media_type="application/json",
        headers={"Location": f"/v1/jobs/{job.id}"},
    )


@router.get("", response_model=JobPage, dependencies=[Depends(single_valued_query)])
async def list_jobs(
    query: Annotated[PageQuery, Query()], user: CurrentUser, request: Request
) -> JobPage:
    """Your jobs, newest first; follow `next_cursor` until it is null."""
    async with read_sessions(request)() as session:
        return await service.list_page(
            session, owner_id=user.id, limit=query.limit, cursor=query.cursor
        )


@router.get("/{job_id:uuid}", response_model=JobRead, responses=problem_responses(404))
async def read_job(job_id: uuid.UUID, user: CurrentUser, request: Request) -> JobRead:
    """Status, totals, done and failed so far, rate and time left."""
    async with read_sessions(request)() as session:
        return service.read(await service.get(session, owner_id=user.id, job_id=job_id))


@router.get(
    "/{job_id:uuid}/items",
    response_model=JobItemPage,
    dependencies=[Depends(single_valued_query)],
    responses=problem_responses(400, 404),
)
async def list_items(
    job_id: uuid.UUID, query: Annotated[ItemQuery, Query()], user: CurrentUser, request: Request
) -> JobItemPage:
    """Each item's result or error, in submitted order; filter by `status`."""
    async with read_sessions(request)() as session:
        job = await service.get(session, owner_id=user.id, job_id=job_id)
        return await service.items_page(
            session, job=job, limit=query.limit, cursor=query.cursor, status=query.status
        )


@router.post("/{job_id:uuid}/cancel", response_model=JobRead, responses=problem_responses(404))
async def cancel_job(job_id: uuid.UUID, user: CurrentUser, request: Request) -> JobRead:
    """Run no more of its items; those running finish. A finished job stays as it is."""
    async with write_sessions(request)() as session:
        job = await service.cancel(session, owner_id=user.id, job_id=job_id)
        return service.read(job)


@router.get(
    "/{job_id:uuid}/events",
    response_class=StreamingResponse,
    responses={**_EVENTS, **problem_responses(404)},
)
async def job_events(job_id: uuid.UUID, user: CurrentUser, request: Request) -> StreamingResponse:
    """The job's progress as it happens, ending with its final state."""
    reads = read_sessions(request)
    async with reads() as session:
        await service.get(session, owner_id=user.id, job_id=job_id)  # 404 before the stream

    async def events() -> AsyncIterator[bytes]:
        last: tuple[str, int, int] | None = None
        quiet = 0.0
        while True:
            async with reads() as session:
                job = await service.get(session, owner_id=user.id, job_id=job_id)
            seen = (job.status, job.succeeded, job.failed)
            finished = job.status in FINISHED
            if seen != last or finished:
                name = "end" if finished else "progress"
                yield _event(name, service.read(job).model_dump_json())
                last, quiet = seen, 0.0
            if finished:
                return
            await asyncio.sleep(EVENTS_POLL_SECONDS)
            quiet += EVENTS_POLL_SECONDS
            if quiet >= EVENTS_KEEPALIVE_SECONDS:
                yield b": keep-alive\n\n"
                quiet = 0.0

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _event(name: str, data: str) -> bytes:
    return f"event: {name}\ndata: {data}\n\n".encode()


@admin_router.get("/stats", response_model=JobStats)
async def job_stats(request: Request) -> JobStats:
    """Jobs of every user by status, items of unfinished jobs by status, and this process's
    runner (behind a load balancer, the process that answered)."""
    async with read_sessions(request)() as session:
        jobs, items = await service.stats(session)
    runner = getattr(request.app.state, "job_runner", None)
    return JobStats(jobs=jobs, items=items, runner=None if runner is None else runner.snapshot())
