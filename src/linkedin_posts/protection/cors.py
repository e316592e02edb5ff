"""Cross-origin requests from the browser origins in LP_CORS_ORIGINS, and no others."""

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp

from linkedin_posts.errors import problem_response

ALLOW_METHODS = ["GET", "POST", "PATCH", "DELETE"]
ALLOW_HEADERS = [
    "Authorization",
    "Content-Type",
    "X-API-Key",
    "If-Match",
    "If-None-Match",
    "X-Request-ID",
    "Idempotency-Key",
]
# What a browser script may read of our answers besides the simple headers.
EXPOSE_HEADERS = [
    "ETag",
    "Location",
    "Retry-After",
    "X-Request-ID",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
]
PREFLIGHT_MAX_AGE_SECONDS = 600


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's CORS handling, with a refused preflight answered as problem+json."""

    def __init__(self, app: ASGIApp, *, origins: list[str], allow_credentials: bool) -> None:
        super().__init__(
            app,
            allow_origins=origins,
            allow_methods=ALLOW_METHODS,
            allow_headers=ALLOW_HEADERS,
            allow_credentials=allow_credentials,
            expose_headers=EXPOSE_HEADERS,
            max_age=PREFLIGHT_MAX_AGE_SECONDS,
        )

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        problem = problem_response(
            status=400,
            code="cors_refused",
            detail=f"Cross-origin request refused: {bytes(response.body).decode()}.",
        )
        problem.headers["Vary"] = "Origin"
        return problem
