"""The v1 API: one router per domain, each included at the app with the /v1 prefix."""

from fastapi import APIRouter

from linkedin_posts.analysis.router import router as analysis_router
from linkedin_posts.auth.router import api_keys_router, auth_router, users_router
from linkedin_posts.cache.router import router as cache_admin_router
from linkedin_posts.jobs.router import admin_router as jobs_admin_router
from linkedin_posts.jobs.router import router as jobs_router
from linkedin_posts.linkedin.router import router as linkedin_router
from linkedin_posts.observability import admin
from linkedin_posts.posts.router import router as posts_router

API_PREFIX = "/v1"
# Not one /v1 router that includes the others: FastAPI matches an included router's routes once
# to pick it and again to run it, at every level of nesting, which cost a third of a cheap
# request's CPU (docs/benchmarks.md). The first full match wins, so the hottest router goes first.
API_ROUTERS: tuple[APIRouter, ...] = (
    posts_router,
    analysis_router,
    linkedin_router,
    jobs_router,
    auth_router,
    users_router,
    api_keys_router,
    admin.router,
    cache_admin_router,
    jobs_admin_router,
)
