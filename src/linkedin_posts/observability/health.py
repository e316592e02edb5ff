"""Liveness and readiness, for load balancers and orchestrators: no auth, never cached."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Literal

import anyio.to_thread
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from linkedin_posts.errors import is_database_unavailable
from linkedin_posts.migration_scripts import Scripts, read_scripts

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])

Failure = Literal[
    "timeout", "unreachable", "not migrated", "behind head", "unknown revision", "failed"
]


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class CheckResult(BaseModel):
    ok: bool
    latency_ms: float = Field(description="How long the check took, in milliseconds.")
    error: Failure | None = Field(
        default=None, description="The class of failure, when the check failed; never details."
    )
    detail: str | None = Field(default=None, examples=["database at 0001, head 0001"])


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, CheckResult] = Field(
        description="database and migrations always; redis when the process is configured with it."
    )


class CheckFailed(Exception):
    def __init__(self, error: Failure, detail: str | None = None) -> None:
        self.error = error
        self.detail = detail
        super().__init__(error)


Check = Callable[[], Awaitable[str | None]]

NO_STORE = "no-store"


_scripts: Scripts | None = None


async def migration_scripts() -> Scripts:
    """The revisions of the migration scripts, read once per process, on first use."""
    global _scripts
    if _scripts is None:
        # File I/O, kept off the loop.
        _scripts = await anyio.to_thread.run_sync(read_scripts)
    return _scripts


def _current_revisions(connection: Connection) -> frozenset[str]:
    # Read the table directly: Alembic's MigrationContext logs two info lines per use, which
    # a load balancer polling every second would turn into noise.
    if not inspect(connection).has_table("alembic_version"):
        return frozenset()
    rows = connection.execute(text("SELECT version_num FROM alembic_version"))
    return frozenset(rows.scalars())


async def check_database(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def check_migrations(engine: AsyncEngine) -> str:
    scripts = await migration_scripts()
    async with engine.connect() as conn:
        current = await conn.run_sync(_current_revisions)
    detail = f"database at {_revisions(current) or 'none'}, head {_revisions(scripts.heads)}"
    if current == scripts.heads:
        return detail
    if not current:
        raise CheckFailed("not migrated", detail)
    if current - scripts.known:
        # Most likely a newer release has migrated the database past this process's code.
        raise CheckFailed("unknown revision", detail)
    raise CheckFailed("behind head", detail)


def _revisions(revisions: frozenset[str]) -> str:
    return ", ".join(sorted(revisions))


async def check_redis(client: "Redis") -> None:
    # Imported here: redis-py costs ~10 MB of memory per process, for the scale-out shape only.
    from redis import exceptions as redis_exc

    try:
        # redis-py 7 types the asyncio client's commands as sync-or-async.
        await client.ping()  # type: ignore[misc]
    except redis_exc.TimeoutError as exc:
        raise CheckFailed("timeout") from exc
    except redis_exc.ConnectionError as exc:
        raise CheckFailed("unreachable") from exc


def classify(exc: BaseException) -> Failure:
    """Name the class of a failure only: its message may carry hosts, SQL or worse."""
    if isinstance(exc, CheckFailed):
        return exc.error
    # TimeoutError is an OSError: test it first.
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, OSError) or is_database_unavailable(exc):
        return "unreachable"
    return "failed"


async def run_check(name: str, check: Check, limit_seconds: float) -> CheckResult:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(limit_seconds):
            detail = await check()
    except Exception as exc:
        error = classify(exc)
        logger.warning(
            "readiness check %s failed (%s): %s: %s", name, error, type(exc).__name__, exc
        )
        return CheckResult(
            ok=False,
            latency_ms=_elapsed_ms(started),
            error=error,
            detail=exc.detail if isinstance(exc, CheckFailed) else None,
        )
    return CheckResult(ok=True, latency_ms=_elapsed_ms(started), detail=detail)


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


@router.get("/health/live", response_model=Liveness, summary="Liveness")
async def live(response: Response) -> Liveness:
    """Answer 200 while the process serves requests; touches nothing else."""
    response.headers["Cache-Control"] = NO_STORE
    return Liveness()


@router.get(
    "/health/ready",
    response_model=Readiness,
    response_model_exclude_none=True,
    summary="Readiness",
    responses={503: {"model": Readiness, "description": "A dependency check failed."}},
)
async def ready(request: Request, response: Response) -> Readiness:
    """Check the database, its schema version and Redis (when configured), concurrently.

    200 when every check passes, 503 when any fails; each check is bounded by
    LP_HEALTH_TIMEOUT_SECONDS.
    """
    state = request.app.state
    engine: AsyncEngine = state.engine
    checks: dict[str, Check] = {
        "database": lambda: check_database(engine),
        "migrations": lambda: check_migrations(engine),
    }
    if state.redis is not None:
        checks["redis"] = lambda: check_redis(state.redis)
    limit = state.settings.health_timeout_seconds
    results = await asyncio.gather(*(run_check(name, c, limit) for name, c in checks.items()))
    ok = all(result.ok for result in results)
    response.status_code = 200 if ok else 503
    response.headers["Cache-Control"] = NO_STORE
    return Readiness(
        status="ready" if ok else "not_ready", checks=dict(zip(checks, results, strict=True))
    )
