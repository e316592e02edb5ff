"""The API without its protection stack, for bench/overload.py's on-vs-off cost.

    uvicorn apps:unprotected --factory --app-dir bench ...  (servers.UVICORN_FLAGS)

`create_app` with the rate limiter and compression switched off, then without the protection
middlewares: request deadline, body size limit, load shedding, security headers (and CORS and
trusted hosts, which the defaults do not add). Request context (request id, metrics, access
log) and tracing stay, as in the default app.
"""

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
