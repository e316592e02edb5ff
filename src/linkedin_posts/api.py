"""The v1 API: one router per domain."""

from fastapi import APIRouter

from linkedin_posts.auth.router import api_keys_router, auth_router, users_router
from linkedin_posts.observability import admin
from linkedin_posts.posts.router import router as posts_router

api_router = APIRouter(prefix="/v1")
api_router.include_router(auth_router)
api_router.include_router(users_router)
api_router.include_router(api_keys_router)
api_router.include_router(posts_router)
api_router.include_router(admin.router)
