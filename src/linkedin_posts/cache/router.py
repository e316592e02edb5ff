"""Operator endpoints of the cache, for administrators only."""

import os
from typing import Any

from fastapi import APIRouter, Depends, Request

from linkedin_posts.auth.dependencies import require_admin
from linkedin_posts.errors import problem_responses

router = APIRouter(
    prefix="/admin/cache",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses=problem_responses(401, 403, 429),
)


@router.get("/stats", summary="Cache statistics")
async def read_cache_stats(request: Request) -> dict[str, Any]:
    """Hits, misses and hit ratio per level, size, evictions, invalidations and compression,
    of the process that answered (`pid`); Prometheus has the sum over processes."""
    cache = request.app.state.cache
    if cache is None:
        return {"enabled": False, "pid": os.getpid()}
    stats = {"enabled": True, "pid": os.getpid(), **cache.stats()}
    disk = request.app.state.content_cache.stats()
    if disk is not None:
        stats["levels"]["l3"] = disk
    return stats


@router.post("/clear", summary="Empty the cache")
async def clear_cache(request: Request) -> dict[str, Any]:
    """Drop every entry: this process's memory, Redis, and the memory of every other process."""
    cache = request.app.state.cache
    if cache is None:
        return {"enabled": False}
    return {"enabled": True, **await cache.clear_everywhere()}
