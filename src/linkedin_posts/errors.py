"""AppError and the handlers that render every error as application/problem+json (RFC 9457)."""

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://linkedin-posts.dev/problems/"


class AppError(Exception):
    """An error a client can act on; subclasses set status and a stable code."""

    status: int = 500
    code: str = "internal_error"
    title: str | None = None
    headers: dict[str, str] | None = None

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        self.detail = detail or HTTPStatus(self.status).phrase
        self.extra = extra
        super().__init__(self.detail)


class Unauthorized(AppError):
    status = 401
    code = "not_authenticated"
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class PreconditionFailed(AppError):
    status = 412
    code = "precondition_failed"


class InvalidInput(AppError):
    status = 400
    code = "invalid_input"


class InvalidParam(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """The body of every error response."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=[PROBLEM_TYPE_BASE + "post_not_found"])
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable machine-readable error code.")
    instance: str | None = None
    errors: list[InvalidParam] | None = None


def problem_response(
    *,
    status: int,
    code: str,
    detail: str,
    title: str | None = None,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    body = problem_document(
        status=status, code=code, detail=detail, title=title, instance=instance, **extra
    )
    return Response(
        orjson.dumps(body), status_code=status, headers=headers, media_type=PROBLEM_CONTENT_TYPE
    )


def problem_document(
    *,
    status: int,
    code: str,
    detail: str,
    title: str | None = None,
    instance: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The problem+json body, for where it travels inside another answer (an event stream)."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return body


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting problem+json errors for a route."""
    return {
        status: {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


def _validation_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    # Only location, message and type: pydantic's "input" and "ctx" may echo secrets back.
    return [
        {
            "loc": [str(p) if not isinstance(p, int) else p for p in e["loc"]],
            "msg": e["msg"],
            "type": e["type"],
        }
        for e in errors
    ]


_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
}


async def app_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return problem_response(
        status=exc.status,
        code=exc.code,
        detail=exc.detail,
        title=exc.title,
        instance=request.url.path,
        headers=exc.headers,
        **exc.extra,
    )


async def validation_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc.errors())
    if any(e["type"] == "json_invalid" for e in errors):
        return problem_response(
            status=400,
            code="malformed_json",
            detail="The request body is not valid JSON.",
            instance=request.url.path,
            errors=errors,
        )
    return problem_response(
        status=422,
        code="validation_error",
        detail="The request is not valid; see errors.",
        instance=request.url.path,
        errors=errors,
    )


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path, for the Allow header of a 405."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        route_methods = getattr(route, "methods", None)
        if route_methods and route.matches(request.scope)[0] != Match.NONE:
            methods.update(route_methods)
    return sorted(methods)


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = exc.headers
    if exc.status_code == 405:
        # Starlette names only the methods of the first route whose path matched; GET and POST
        # on /v1/posts are two routes, and RFC 9110 wants all of the resource's methods listed.
        headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
    return problem_response(
        status=exc.status_code,
        code=_HTTP_CODES.get(exc.status_code, "http_error"),
        detail=str(exc.detail),
        instance=request.url.path,
        headers=headers,
    )


# Retry-After for a database that is down or overloaded: long enough for a failover or a pool
# to drain, short enough that clients come back soon.
DATABASE_RETRY_AFTER_SECONDS = 2


# PostgreSQL refusing for want of resources (53xxx: too many connections, out of memory, disk
# full) or because it is shutting down or starting up (57P01-57P03).
UNAVAILABLE_SQLSTATES = ("53", "57P01", "57P02", "57P03")


# SQLite's file out of reach: it cannot be opened (its directory is gone or unreadable), the disk
# fails or is full, or another process holds the lock past the busy timeout. Extended codes
# (SQLITE_IOERR_WRITE, SQLITE_CANTOPEN_ISDIR, ...) start with these.
UNAVAILABLE_SQLITE_ERRORS = ("SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_FULL", "SQLITE_BUSY")


def is_database_unavailable(exc: BaseException) -> bool:
    """Whether the database is out of reach (down, restarting, full): not our bug."""
    if isinstance(exc, sa_exc.DBAPIError):
        sqlstate = getattr(exc.orig, "sqlstate", None) or ""
        sqlite_error = getattr(exc.orig, "sqlite_errorname", None) or ""
        if (
            exc.connection_invalidated
            or sqlstate.startswith(UNAVAILABLE_SQLSTATES)
            or sqlite_error.startswith(UNAVAILABLE_SQLITE_ERRORS)
        ):
            return True
    # asyncpg's connect raises OSError subclasses unwrapped; the pool raises TimeoutError.
    return isinstance(exc, sa_exc.TimeoutError | sa_exc.DisconnectionError | ConnectionError)


async def unhandled_error_handler(request: Request, exc: Exception) -> Response:
    if is_database_unavailable(exc):
        logger.warning(
            "database unavailable on %s %s: %s", request.method, request.url.path, type(exc)
        )
        return problem_response(
            status=503,
            code="database_unavailable",
            detail="The database is unavailable; retry shortly.",
            instance=request.url.path,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(
        status=500,
        code="internal_error",
        detail="An unexpected error occurred. It has been logged.",
        instance=request.url.path,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, app_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(Exception, unhandled_error_handler)
