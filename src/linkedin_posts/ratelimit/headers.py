"""RateLimit-Limit, -Remaining and -Reset on every answer of a limited route, errors included."""

from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:  # windows makes its Quota's lines from ADMISSION_LINES
    from linkedin_posts.ratelimit.windows import Decision

# limit_headers as header lines, for the answers the server writes itself: the limit is filled
# in once per quota (windows.Quota.lines), the remaining count and reset by the window that
# admits the request.
ADMISSION_LINES = b"ratelimit-limit: %d\r\nratelimit-remaining: %%d\r\nratelimit-reset: %%d\r\n"


def limit_headers(decision: "Decision") -> list[tuple[bytes, bytes]]:
    return [
        (b"ratelimit-limit", b"%d" % decision.limit),
        (b"ratelimit-remaining", b"%d" % decision.remaining),
        (b"ratelimit-reset", b"%d" % decision.reset_seconds),
    ]


class RateLimitHeadersMiddleware:
    """Reads the decision the route's limit dependency left in the request state.

    A middleware rather than the dependency's Response parameter: that one is dropped when a
    route returns a Response itself or raises, and a 404 or 422 counts against the limit too.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                decision: Decision | None = scope.get("state", {}).get("rate_limit")
                if decision is not None:
                    message["headers"] = [*message.get("headers", ()), *limit_headers(decision)]
            await send(message)

        await self.app(scope, receive, send_with_headers)
