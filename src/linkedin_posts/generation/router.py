import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from linkedin_posts.auth.dependencies import CurrentUser
from linkedin_posts.database import read_sessions, write_sessions
from linkedin_posts.dependencies import require_json, single_valued_query
from linkedin_posts.errors import problem_responses
from linkedin_posts.generation import service
from linkedin_posts.generation.schemas import (
    GenerateRequest,
    GenerationRead,
    RewriteRead,
    RewriteRequest,
    UsageQuery,
    UsageRead,
)
from linkedin_posts.ratelimit.dependencies import AI_ROUTE

# 502, 503, 504: the provider failed, is unavailable (or paused by the circuit breaker, or
# rate limited), or was too slow.
router = APIRouter(tags=["generation"], responses=problem_responses(401, 422, 429))
_PROVIDER_ERRORS = problem_responses(400, 415, 502, 503, 504)
# The schema of one event, as OpenAPI 3.1 describes an event stream (3.2 names it itemSchema).
_EVENT_SCHEMA = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "enum": ["start", "delta", "variant", "done", "error"]},
        "data": {"type": "string", "contentMediaType": "application/json"},
    },
}
_EVENTS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-Sent Events: `start`, then per variant `delta`s and a `variant`, "
        "then `done`; or `error` (a problem+json document) and the end. Each event's data is "
        "JSON (docs/generation.md).",
        "content": {"text/event-stream": {"schema": _EVENT_SCHEMA}},
    }
}


@router.post(
    "/generate",
    response_model=GenerationRead,
    dependencies=[Depends(require_json)],
    openapi_extra=AI_ROUTE,
    responses=_PROVIDER_ERRORS,
)
async def generate(data: GenerateRequest, user: CurrentUser, request: Request) -> Response:
    """Write 1-5 posts from a brief, each with its analysis; with `save`, each becomes a draft."""
    body = await service.generate(
        request.app.state.generation,
        read_sessions(request),
        write_sessions(request),
        user_id=user.id,
        data=data,
    )
    return Response(body, media_type="application/json")


@router.post(
    "/generate/stream",
    response_class=StreamingResponse,
    dependencies=[Depends(require_json)],
    openapi_extra=AI_ROUTE,
    responses={**_EVENTS, **_PROVIDER_ERRORS},
)
async def generate_stream(
    data: GenerateRequest, user: CurrentUser, request: Request
) -> StreamingResponse:
    """As POST /v1/generate, sent as it is written. The template provider sends each variant in
    one piece; a model sends its tokens as they come."""
    events = await service.stream(
        request.app.state.generation,
        read_sessions(request),
        write_sessions(request),
        user_id=user.id,
        data=data,
    )
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        # No proxy may hold the events back to buffer or cache them.
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post(
    "/posts/{post_id}/rewrite",
    response_model=RewriteRead,
    dependencies=[Depends(require_json)],
    openapi_extra=AI_ROUTE,
    responses={**_PROVIDER_ERRORS, **problem_responses(404)},
)
async def rewrite(
    post_id: uuid.UUID, data: RewriteRequest, user: CurrentUser, request: Request
) -> Response:
    """A better text for the post toward one goal, its analysis, and what changed. The post is
    left as it is: PATCH it with the new text to keep it."""
    state = request.app.state
    body = await service.rewrite(
        state.generation,
        state.reader,
        state.cache,
        read_sessions(request),
        write_sessions(request),
        user_id=user.id,
        post_id=post_id,
        data=data,
    )
    return Response(body, media_type="application/json")


@router.get(
    "/users/me/usage",
    response_model=UsageRead,
    dependencies=[Depends(single_valued_query)],
    responses=problem_responses(400),
)
async def read_usage(
    query: Annotated[UsageQuery, Query()], user: CurrentUser, request: Request
) -> dict[str, object]:
    """AI requests and provider tokens of the last `days` days (UTC), per day, provider, model."""
    return await service.usage_report(
        request.app.state.generation, read_sessions(request), user_id=user.id, days=query.days
    )
