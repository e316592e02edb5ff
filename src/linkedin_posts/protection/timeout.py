"""A deadline for each request's answer: 504 problem+json rather than a client left waiting."""

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from linkedin_posts.errors import problem_response


class RequestTimeoutMiddleware:
    """Cancel the handler when it has not started its answer within `seconds`.

    Once the response has started (a stream of events, a large export) the deadline is lifted:
    the status line is out, and a stream is meant to last.
    """

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = asyncio.timeout(self.seconds)
        started = False

        async def send_and_lift(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                deadline.reschedule(None)
            await send(message)

        try:
            async with deadline:
                await self.app(scope, receive, send_and_lift)
        except TimeoutError:
            if started or not deadline.expired():
                raise
            response = problem_response(
                status=504,
                code="request_timeout",
                detail=f"The request took longer than {self.seconds:g} s and was stopped.",
                instance=scope["path"],
            )
            await response(scope, receive, send)
