"""Refuse request bodies over the configured size with a problem+json 413."""

from collections.abc import Mapping

from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from linkedin_posts.errors import problem_response


class BodyTooLarge(HTTPException):
    # FastAPI's body parsing re-raises its own HTTPException as is (any other error becomes a
    # 400), so the HTTP error handler renders this one as payload_too_large.
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"The request body is larger than {max_bytes} bytes.")


class BodySizeLimitMiddleware:
    """Answer 413 when Content-Length is over the cap, and stop a body that streams past it.

    Starlette's own limit answers text/plain and replaces any response to a request whose
    Content-Length is over the cap, so our problem+json could not get through it.
    """

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, larger: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Paths that take bigger bodies (a bulk job, an import file), each with its own cap.
        self.larger = dict(larger or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.larger.get(scope["path"], self.max_bytes)
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            response = problem_response(
                status=413,
                code="payload_too_large",
                detail=BodyTooLarge(max_bytes).detail,
                instance=scope["path"],
            )
            await response(scope, receive, send)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise BodyTooLarge(max_bytes)
            return message

        await self.app(scope, limited_receive, send)
