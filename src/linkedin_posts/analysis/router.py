import uuid

from fastapi import APIRouter, Depends, Request, Response

from linkedin_posts.analysis import service
from linkedin_posts.analysis.schemas import AnalysisRead, AnalyzeRequest
from linkedin_posts.auth.dependencies import CurrentUser
from linkedin_posts.dependencies import require_json
from linkedin_posts.errors import problem_responses
from linkedin_posts.ratelimit.dependencies import AI_ROUTE

router = APIRouter(tags=["analysis"], responses=problem_responses(401, 422, 429))


@router.post(
    "/analyze",
    response_model=AnalysisRead,
    dependencies=[Depends(require_json)],
    openapi_extra=AI_ROUTE,
    responses=problem_responses(400, 415),
)
async def analyze(data: AnalyzeRequest, user: CurrentUser, request: Request) -> Response:
    """Counts, language, tone, readability, keywords, the fold, findings and a score."""
    state = request.app.state
    body = await service.analyze(
        state.analysis,
        state.content_cache,
        text=data.text,
        language=data.language and data.language.value,
    )
    return Response(body.body, media_type="application/json")


@router.get(
    "/posts/{post_id}/analysis",
    response_model=AnalysisRead,
    openapi_extra=AI_ROUTE,
    responses=problem_responses(404),
)
async def analyze_post(post_id: uuid.UUID, user: CurrentUser, request: Request) -> Response:
    """The analysis of a post's current text."""
    state = request.app.state
    body = await service.analyze_post(
        state.analysis,
        state.content_cache,
        state.reader,
        state.cache,
        owner_id=user.id,
        post_id=post_id,
    )
    return Response(body.body, media_type="application/json")
