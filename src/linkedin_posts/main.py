"""The application factory."""

import asyncio
import gc
import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import Receive, Scope, Send

from linkedin_posts import __version__
from linkedin_posts.analysis.runner import AnalysisRunner
from linkedin_posts.api import API_PREFIX, API_ROUTERS
from linkedin_posts.auth.security import VerifiedTokens
from linkedin_posts.body_limit import BodySizeLimitMiddleware
from linkedin_posts.cache import front_door, open_cache
from linkedin_posts.cache.content import open_content_cache
from linkedin_posts.cache.front_door import CachedReadFrontDoor
from linkedin_posts.cache.tiered import TieredCache
from linkedin_posts.config import Settings, get_settings
from linkedin_posts.database import (
    create_engine,
    create_session_factory,
    sessions_of,
    write_transaction,
)
from linkedin_posts.errors import install_error_handlers, problem_responses
from linkedin_posts.generation.router import router as generation_router
from linkedin_posts.generation.service import open_generation
from linkedin_posts.jobs.queue import open_job_queue
from linkedin_posts.jobs.runner import Runner
from linkedin_posts.jobs.work import Sessions, Work
from linkedin_posts.observability import health, metrics, tracing
from linkedin_posts.observability.logging import configure_logging
from linkedin_posts.observability.loop_lag import LoopLagMonitor
from linkedin_posts.observability.request_context import RequestContextMiddleware
from linkedin_posts.posts import service as posts_service
from linkedin_posts.protection import request_head, server_shedding
from linkedin_posts.protection.compression import compression_middleware
from linkedin_posts.protection.cors import ProblemCORSMiddleware
from linkedin_posts.protection.load_shedding import InFlight, LoadSheddingMiddleware
from linkedin_posts.protection.security_headers import SecurityHeadersMiddleware
from linkedin_posts.protection.timeout import RequestTimeoutMiddleware
from linkedin_posts.protection.trusted_hosts import TrustedHostMiddleware
from linkedin_posts.ratelimit import open_rate_limits
from linkedin_posts.ratelimit.headers import RateLimitHeadersMiddleware
from linkedin_posts.reader import open_reader
from linkedin_posts.redis_client import close_redis, create_redis
from linkedin_posts.replica import open_replicated_reader, primary_only

logger = logging.getLogger(__name__)

DESCRIPTION = """\
Keep, write and analyze LinkedIn posts.

Authenticate with **Authorize**: register with `POST /v1/auth/register`, then log in with your
email as the username. Programs can send an API key as `Authorization: Bearer lp_...` or
`X-API-Key: lp_...` instead. Every error is `application/problem+json` with a stable `code`.
"""


# Young collections after 10,000 net allocations instead of 700: with dozens of requests in
# flight, most of what a request allocates is alive at a collection of 700, so each one scanned
# and promoted it for nothing. Measured: -9% CPU per GET /v1/posts/{id} (docs/benchmarks.md).
YOUNG_GENERATION_THRESHOLD = 10_000
# How long start-up waits for the cache's invalidation subscription before serving without it.
STARTUP_SUBSCRIBE_SECONDS = 2.0


def tune_garbage_collector() -> None:
    """Take what start-up built (modules, routes, schemas) out of the collector's sight.

    Those ~145,000 objects live as long as the process, yet every full collection walked them:
    under load, a pause of ~100 ms every few seconds (docs/benchmarks.md).
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, older, oldest)


class LinkedInPostsAPI(FastAPI):
    """FastAPI, with cached answers sent before its routing (cache/front_door.py)."""

    front_door: CachedReadFrontDoor | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        door = self.front_door
        if door is not None and scope["type"] == "http":
            # The front door may have read the body: the stack receives it from the door.
            passed_on = await door.serve(scope, receive, send)
            if passed_on is None:
                return
            receive = passed_on
        await super().__call__(scope, receive, send)


async def warm_up(app: FastAPI, cache: TieredCache, count: int) -> None:
    """Load the newest posts into memory; a database that is down only costs the warm-up."""
    try:
        warmed = await posts_service.warm(
            sessions_of(app.state.session_factory, app.state.settings), cache, count
        )
    except (OSError, SQLAlchemyError) as exc:
        logger.warning("cache warm-up skipped: %s", type(exc).__name__)
    else:
        logger.info("cache warm-up: %d posts in memory", warmed)


def open_runner(app: FastAPI, settings: Settings, writes: Sessions) -> Runner:
    """The embedded job runner: this process runs bulk jobs too (docs/jobs.md)."""
    state = app.state
    reads = sessions_of(state.session_factory, settings)
    # The primary's: an item's result is written from what the item reads (replica.py).
    work = Work(state.generation, primary_only(state.reader), state.cache, reads, writes)
    return Runner(settings, reads=reads, writes=writes, work=work)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings, extra_processors=tracing.log_processors())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        engine = create_engine(settings)
        app.state.engine = engine
        app.state.session_factory = create_session_factory(engine)
        app.state.redis = create_redis(settings)
        # With LP_DATABASE_READ_URL, the primary's reader comes with the replica (replica.py).
        replicated = open_replicated_reader(settings, app.state.redis)
        app.state.reader = replicated or open_reader(settings, engine)
        app.state.replica = replica = None if replicated is None else replicated.replica
        app.state.recent_writes = recent_writes = None if replica is None else replica.recent_writes
        app.state.cache = cache = open_cache(settings, app.state.redis)
        app.state.verified_tokens = VerifiedTokens(
            settings, max_entries=settings.cache_token_entries if cache is not None else 0
        )
        app.state.content_cache = content_cache = open_content_cache(settings, cache)
        app.state.analysis = analysis = AnalysisRunner(settings)
        if settings.analysis_preload:
            await analysis.preload()
        factory = app.state.session_factory

        def writes() -> AbstractAsyncContextManager[AsyncSession]:
            return write_transaction(factory, settings, cache, recent_writes)

        app.state.generation = generation = open_generation(
            settings, analysis, content_cache, writes
        )
        generation.start()
        app.state.job_runner = runner = (
            open_runner(app, settings, writes) if settings.jobs_enabled else None
        )
        app.state.job_queue = job_queue = open_job_queue(
            settings, consumer=f"api:{os.getpid()}", listens=False
        )
        if cache is not None:
            cache.start()
            if cache.bus is not None:
                # Until it hears the others, a process keeps entries for 1 s only and another's
                # write may not reach it: serve once subscribed (unless Redis does not answer).
                await cache.bus.until_hearing(STARTUP_SUBSCRIBE_SECONDS)
            if settings.cache_warmup_posts:
                await warm_up(app, cache, settings.cache_warmup_posts)
        app.state.rate_limiter, app.state.login_lockout = open_rate_limits(
            settings, app.state.redis
        )
        if replica is not None:
            # Reads go to the primary until the first probe has found the replica fresh.
            await replica.start()
        app.state.started_at = time.time()
        if settings.metrics_enabled:
            metrics.instrument_pool(engine)
        tracing.instrument_engine(engine)
        loop_lag = app.state.loop_lag = LoopLagMonitor()
        loop_lag.start()
        flusher = (
            asyncio.create_task(metrics.flush_requests_every(metrics.FLUSH_SECONDS))
            if settings.metrics_enabled and metrics.multiprocess_dir()
            else None
        )
        if settings.env != "test":
            # Tests build hundreds of apps in one process; each would freeze the last one's
            # garbage for good.
            tune_garbage_collector()
        if runner is not None:
            runner.start()
        try:
            # Lifespan state: `linkedin-posts serve`'s server (server_protocol.py) refuses beyond
            # our cap with it, and answers cached reads through the front door.
            shared: dict[str, Any] = {
                server_shedding.STATE_KEY: server_shedding.ServerShedding(settings),
                request_head.STATE_KEY: request_head.RequestHeadLimits(settings),
            }
            if isinstance(app, LinkedInPostsAPI) and app.front_door is not None:
                shared[front_door.STATE_KEY] = app.front_door
            yield shared
        finally:
            if runner is not None:
                await runner.stop()
            if job_queue is not None:
                await job_queue.close()
            await loop_lag.stop()
            if app.state.rate_limiter is not None:
                await app.state.rate_limiter.aclose()
            if cache is not None:
                await cache.stop()
            await generation.aclose()
            content_cache.close()
            analysis.close()
            # Before Redis: the replica's reader stops the task that sends its marks there.
            await app.state.reader.close()
            if app.state.redis is not None:
                await close_redis(app.state.redis)
            await engine.dispose()
            if flusher is not None:
                flusher.cancel()
                await asyncio.gather(flusher, return_exceptions=True)
            metrics.flush_requests()
            metrics.process_stopped()

    docs = settings.docs_on
    app = LinkedInPostsAPI(
        title="LinkedIn Posts API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
        responses=problem_responses(413, 500, 503),
        # FastAPI's own OpenTelemetry hooks asked on every request whether a provider had been
        # set; observability/tracing.py does the tracing, only when configured.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    install_error_handlers(app)
    # Innermost first. Outermost of all come request id, metrics and the access log, then the
    # security headers, so every answer (a 413, 503 or 504 included) is counted, logged, carries
    # its request id and is safe in a browser. Shedding comes before the body is read.
    app.add_middleware(RequestTimeoutMiddleware, seconds=settings.request_timeout_seconds)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        larger={
            f"{API_PREFIX}/jobs": settings.jobs_max_body_bytes,
            f"{API_PREFIX}/jobs/import": settings.jobs_max_body_bytes,
        },
    )
    if settings.ratelimit_enabled:
        app.add_middleware(RateLimitHeadersMiddleware)
    if settings.compression_enabled:
        app.add_middleware(
            compression_middleware,
            minimum_size=settings.compression_min_bytes,
            level=settings.compression_level,
        )
    app.state.in_flight = in_flight = InFlight(settings.max_in_flight)
    app.add_middleware(LoadSheddingMiddleware, in_flight=in_flight)
    if settings.cors_origins:
        app.add_middleware(
            ProblemCORSMiddleware,
            origins=settings.cors_origins,
            allow_credentials=settings.cors_allow_credentials,
        )
    if "*" not in settings.trusted_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed=settings.trusted_hosts)
    app.add_middleware(SecurityHeadersMiddleware, https=settings.https)
    app.add_middleware(
        RequestContextMiddleware,
        access_log=settings.access_log,
        metrics_on=settings.metrics_enabled,
    )
    # Outermost of all, so the access log line is written inside the request's span.
    tracing.instrument_app(app, settings)
    for router in API_ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    if settings.ai_enabled:
        app.include_router(generation_router, prefix=API_PREFIX)
    app.include_router(health.router)
    if settings.metrics_enabled:
        app.include_router(metrics.router)
    if settings.cache_enabled and not tracing.tracing_enabled():
        # With tracing on, every request goes through the instrumented stack to get its span.
        app.front_door = CachedReadFrontDoor(app, settings)
    return app
