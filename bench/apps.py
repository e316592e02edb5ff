"""Variants of the API for bench/overload.py's on-vs-off cost (`--against apps:NAME`).

    uvicorn apps:unprotected --factory --app-dir bench ...  (servers.UVICORN_FLAGS)

`unprotected`: `create_app` with the rate limiter and compression switched off, then without the
protection middlewares: request deadline, body size limit, load shedding, security headers (and
CORS and trusted hosts, which the defaults do not add). Request context (request id, metrics,
access log) and tracing stay, as in the default app. The security headers stay on the reads the
server answers from memory: the front door writes them from the settings, not the middleware.

`young_gc_10000`: the default app in a process whose youngest generation is collected every
10,000 net allocations instead of CPython's 700 (a bench-only experiment, not a setting of ours).
"""

import gc

from fastapi import FastAPI

from linkedin_posts.body_limit import BodySizeLimitMiddleware
from linkedin_posts.config import Settings
from linkedin_posts.main import create_app
from linkedin_posts.protection.compression import compression_middleware
from linkedin_posts.protection.cors import ProblemCORSMiddleware
from linkedin_posts.protection.load_shedding import LoadSheddingMiddleware
from linkedin_posts.protection.security_headers import SecurityHeadersMiddleware
from linkedin_posts.protection.timeout import RequestTimeoutMiddleware
from linkedin_posts.protection.trusted_hosts import TrustedHostMiddleware

PROTECTION: frozenset[object] = frozenset(
    {
        RequestTimeoutMiddleware,
        BodySizeLimitMiddleware,
        compression_middleware,
        LoadSheddingMiddleware,
        ProblemCORSMiddleware,
        TrustedHostMiddleware,
        SecurityHeadersMiddleware,
    }
)


def unprotected() -> FastAPI:
    # Keyword arguments win over the environment, which configures everything else.
    settings = Settings(ratelimit_enabled=False, compression_enabled=False)
    app = create_app(settings)
    # Starlette builds the middleware stack from this list on the first request, so removing
    # entries here, before the server starts, leaves them out entirely.
    app.user_middleware = [m for m in app.user_middleware if m.cls not in PROTECTION]
    return app


def young_gc_10000() -> FastAPI:
    # The older generations' thresholds keep CPython's defaults.
    gc.set_threshold(10_000, 10, 10)
    return create_app()
