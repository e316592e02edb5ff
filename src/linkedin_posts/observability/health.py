"""Liveness and readiness. (stub)"""

from fastapi import APIRouter

router = APIRouter(tags=["health"])
