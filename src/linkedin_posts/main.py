"""The application factory."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from linkedin_posts import __version__
from linkedin_posts.api import api_router
from linkedin_posts.body_limit import BodySizeLimitMiddleware
from linkedin_posts.config import Settings, get_settings
from linkedin_posts.database import create_engine, create_session_factory
from linkedin_posts.errors import install_error_handlers, problem_responses

DESCRIPTION = """\
Keep, write and analyze LinkedIn posts.

Authenticate with **Authorize**: register with `POST /v1/auth/register`, then log in with your
email as the username. Programs can send an API key as `Authorization: Bearer lp_...` or
`X-API-Key: lp_...` instead. Every error is `application/problem+json` with a stable `code`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        app.state.engine = engine
        app.state.session_factory = create_session_factory(engine)
        try:
            yield
        finally:
            await engine.dispose()

    docs = settings.docs_on
    app = FastAPI(
        title="LinkedIn Posts API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
        responses=problem_responses(413, 500, 503),
    )
    app.state.settings = settings
    install_error_handlers(app)
    # Enforced while the body streams in, so a lying Content-Length does not get past it.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.include_router(api_router)
    return app
