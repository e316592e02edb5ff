"""Answer 503 at once when a process already has as many requests in flight as it should."""

from starlette.types import ASGIApp, Receive, Scope, Send

from linkedin_posts.errors import problem_response
from linkedin_posts.observability.metrics import HTTP_REQUESTS_SHED

# Probes and scrapes must get through an overloaded process: that is when they matter.
EXEMPT_PREFIXES = ("/health/", "/metrics")
RETRY_AFTER_SECONDS = 1
OVERLOADED_DETAIL = "The server is at capacity; retry shortly."


class InFlight:
    """Requests a process is working on, and its cap; shared with the cache's front door."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.count = 0

    @property
    def full(self) -> bool:
        return self.count >= self.cap


class LoadSheddingMiddleware:
    """Beyond `max_in_flight` requests, refuse instead of queueing.

    A queue in front of a saturated worker only adds waiting: every request in it gets slower,
    clients time out and retry, and the work done for them is wasted. An immediate 503 with
    Retry-After keeps the admitted requests fast and lets a load balancer try another process.
    """

    def __init__(self, app: ASGIApp, *, in_flight: InFlight) -> None:
        self.app = app
        self.in_flight = in_flight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        in_flight = self.in_flight
        if in_flight.full:
            HTTP_REQUESTS_SHED.inc()
            response = problem_response(
                status=503,
                code="overloaded",
                detail=OVERLOADED_DETAIL,
                instance=scope["path"],
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
            await response(scope, receive, send)
            return
        in_flight.count += 1
        try:
            await self.app(scope, receive, send)
        finally:
            in_flight.count -= 1
