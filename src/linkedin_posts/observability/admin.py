"""Operator endpoints, for administrators only."""

from fastapi import APIRouter, Depends, Request

from linkedin_posts.auth.dependencies import require_admin
from linkedin_posts.errors import problem_responses
from linkedin_posts.observability import stats

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses=problem_responses(401, 403, 429),
)


@router.get("/stats", response_model=stats.ProcessStats, summary="Process statistics")
async def read_stats(request: Request) -> stats.ProcessStats:
    """Uptime, CPU, memory, event-loop lag, GC and database pools of the process that answered.

    Behind a load balancer each request may reach another process: compare pids.
    """
    state = request.app.state
    return stats.collect(
        started_at=state.started_at,
        loop_lag=state.loop_lag,
        engine=state.engine,
        reader=state.reader,
    )
