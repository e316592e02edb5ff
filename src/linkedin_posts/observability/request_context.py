"""Request id, access log, request metrics and X-Process-Time: the outermost middleware."""

import itertools
import os
import re
import time
from collections.abc import Iterator
from typing import Any

import structlog
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from linkedin_posts import errors
from linkedin_posts.observability import metrics, tracing

# What we echo back and log: short, printable, no spaces, so a caller cannot inject log lines.
_WELL_FORMED_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

access_logger = structlog.get_logger("linkedin_posts.access")
logger = structlog.get_logger(__name__)


def route_template(scope: Scope) -> str:
    """The matched route's template with its prefix (`/v1/posts/{post_id}`), never the raw path."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not isinstance(template, str):
        # Plain Starlette routes (/openapi.json, /docs) record only their endpoint; they take no
        # parameters, so their path is their template.
        if "endpoint" in scope and not scope.get("path_params"):
            return str(scope["path"])
        return metrics.UNMATCHED_ROUTE
    # Routers included with a prefix keep their own path (`/posts/{post_id}`); the prefix is the
    # request path's leading segments, which are literal in every route this app has.
    suffix_segments = template.count("/")
    path_segments: list[str] = scope["path"].split("/")
    prefix = "/".join(path_segments[: len(path_segments) - suffix_segments])
    return prefix + template


def accepted_request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _WELL_FORMED_ID.fullmatch(candidate):
                return candidate
            break
    return _new_request_id()


def _request_ids() -> Iterator[str]:
    """32 hex digits, unique across processes: a random prefix of this process and a counter.

    An id names a request in logs; nobody needs to be unable to guess it, so it costs a counter
    step instead of a read of the kernel's random source per request.
    """
    prefix = os.urandom(10).hex()
    for n in itertools.count():
        yield f"{prefix}{n & 0xFFFFFFFFFFFF:012x}"


def _new_request_id() -> str:
    return next(_ids)


def _restart_ids() -> None:
    global _ids
    _ids = _request_ids()


_ids = _request_ids()
# A forked worker (gunicorn, multiprocessing's fork) must not repeat its parent's ids.
os.register_at_fork(after_in_child=_restart_ids)


class RequestContextMiddleware:
    """Give each request an id, time it, count it, log one access line, and answer any crash.

    Outermost of our middleware, so every answer (a 413, a 429, a cached hit) carries the id
    and is counted. An unhandled exception is answered here as problem+json, inside this
    middleware, so that answer is counted, logged and carries the id too.
    """

    def __init__(self, app: ASGIApp, *, access_log: bool = True, metrics_on: bool = True) -> None:
        self.app = app
        self.access_log = access_log
        self.metrics_on = metrics_on

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = accepted_request_id(scope)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        bound = structlog.contextvars.bind_contextvars(request_id=request_id)
        status = 500
        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                # Appended, not merged: nothing inside sets these two.
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"x-request-id", request_id.encode()),
                    (b"x-process-time", b"%.6f" % (time.perf_counter() - started)),
                ]
            await send(message)

        if self.metrics_on:
            metrics.HTTP_REQUESTS_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            if response_started:
                # Too late for an error response: the client sees a cut-off body.
                logger.exception("unhandled error after the response started")
                raise
            tracing.report_exception(exc)
            response = await errors.unhandled_error_handler(Request(scope), exc)
            await response(scope, receive, send_with_headers)
        finally:
            elapsed = time.perf_counter() - started
            if self.metrics_on:
                metrics.HTTP_REQUESTS_IN_FLIGHT.dec()
            # Health probes arrive every few seconds from every balancer: counted, not logged.
            log_it = self.access_log and not scope["path"].startswith("/health/")
            if self.metrics_on or log_it:
                self.record(scope, status, elapsed, log_it=log_it)
            structlog.contextvars.reset_contextvars(**bound)

    def record(
        self, scope: Scope, status: int, elapsed: float, *, log_it: bool, route: str | None = None
    ) -> None:
        record(scope, status, elapsed, metrics_on=self.metrics_on, log_it=log_it, route=route)


def record(
    scope: Scope,
    status: int,
    elapsed: float,
    *,
    metrics_on: bool,
    log_it: bool,
    route: str | None = None,
) -> None:
    """Count an answered request and write its access line (`log_it`); `route`: its template,
    when the caller knows it (else found from the scope's route)."""
    route = route or route_template(scope)
    method = metrics.method_label(scope["method"])
    if metrics_on:
        metrics.count_request(method, route, status, elapsed)
    if log_it:
        state = scope["state"]
        access_logger.info(
            "request",
            method=method,
            route=route,
            status=status,
            duration_ms=round(elapsed * 1000, 3),
            # Ids only: an e-mail address is personal data and never reaches a log line.
            user_id=_str_or_none(state.get("user_id")),
            api_key_id=_str_or_none(state.get("api_key_id")),
            cache=state.get("cache"),
        )


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)
