"""Load shedding in the HTTP server, which sees the requests still waiting for the event loop.

The app's own cap (load_shedding.py) counts a request once its middleware runs. A request that
costs the worker little (a cached read: no await between its start and its answer) is counted
only while it runs, so under overload hundreds wait uncounted as tasks the server has created
and the loop has not run yet, and what the cap refuses it refuses after that wait: at 3 x
capacity, 3-5% of capacity admitted and a p99 of 10 s (docs/benchmarks.md, "Load shedding in
the server"). uvicorn's tasks are the true count. Its own `limit_concurrency` counts them but also
counts idle kept-alive connections (a thousand clients would be refused for being connected),
and it logs a warning and runs an ASGI app for every refusal.

So `linkedin-posts serve`'s protocol (server_protocol.py), beyond LP_MAX_IN_FLIGHT tasks, writes
the app's 503 `overloaded` problem (same body, Retry-After, security headers, request id, shed
counter and request metrics) straight to the socket, without creating a task. The app hands
ServerShedding to the server through the lifespan state, so the cap is the app's.
"""

import asyncio
from typing import Any

import orjson
import structlog

from linkedin_posts import http1
from linkedin_posts.config import Settings
from linkedin_posts.errors import PROBLEM_CONTENT_TYPE, problem_document
from linkedin_posts.observability import request_context
from linkedin_posts.observability.metrics import HTTP_REQUESTS_SHED
from linkedin_posts.protection.load_shedding import (
    EXEMPT_PREFIXES,
    OVERLOADED_DETAIL,
    RETRY_AFTER_SECONDS,
)
from linkedin_posts.protection.security_headers import security_headers

STATE_KEY = "server_shedding"


class ServerShedding:
    """What the server needs to refuse as the app would: its cap and its answer."""

    def __init__(self, settings: Settings) -> None:
        self.cap = settings.max_in_flight
        self.metrics_on = settings.metrics_enabled
        self.access_log = settings.access_log
        headers = [
            (b"content-type", PROBLEM_CONTENT_TYPE.encode()),
            (b"retry-after", b"%d" % RETRY_AFTER_SECONDS),
            *security_headers(https=settings.https),
        ]
        self.headers = http1.header_lines(headers)
        # The app's problem document, its `instance` (the path) left for each refusal to add.
        document = problem_document(status=503, code="overloaded", detail=OVERLOADED_DETAIL)
        self.body_start = orjson.dumps(document)[:-1] + b',"instance":'

    def refuses(self, scope: dict[str, Any], tasks: "set[asyncio.Task[None]]") -> bool:
        if len(tasks) < self.cap or scope["path"].startswith(EXEMPT_PREFIXES):
            return False
        # A finished task leaves the set only when its done-callback runs, after the loop has
        # read the next requests: counted, those would refuse half of a load at the cap.
        return sum(not task.done() for task in tasks) >= self.cap

    def refusal(
        self, scope: dict[str, Any], *, keep_alive: bool, default_headers: list[tuple[bytes, bytes]]
    ) -> bytes:
        """The whole 503 answer; counted and logged as the app's own."""
        HTTP_REQUESTS_SHED.inc()
        request_id = request_context.accepted_request_id(scope)
        if self.access_log:
            with structlog.contextvars.bound_contextvars(request_id=request_id):
                request_context.record(scope, 503, 0.0, metrics_on=self.metrics_on, log_it=True)
        elif self.metrics_on:
            request_context.record(scope, 503, 0.0, metrics_on=True, log_it=False)
        body = b"%s%s}" % (self.body_start, orjson.dumps(scope["path"]))
        return http1.answer(
            503,
            [(b"x-request-id", request_id.encode()), (b"content-length", b"%d" % len(body))],
            body,
            keep_alive=keep_alive,
            default_headers=default_headers,
            encoded_headers=self.headers,
        )
