"""Headers that keep browsers from misusing our responses."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# An API answers JSON: nothing on it may load, run or be framed.
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
# Swagger UI as FastAPI serves it: its script and stylesheet from jsDelivr, an inline script that
# starts it, FastAPI's favicon, and calls back to this API (openapi.json and "Try it out").
DOCS_POLICY = (
    "default-src 'none'; "
    "script-src 'self' https://cdn.jsdelivr.net 'unsafe-inline'; "
    "style-src 'self' https://cdn.jsdelivr.net 'unsafe-inline'; "
    "img-src 'self' data: https://fastapi.tiangolo.com; "
    "connect-src 'self'; "
    "frame-ancestors 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect"})
HSTS = "max-age=63072000; includeSubDomains"


def security_headers(*, https: bool, docs: bool = False) -> list[tuple[bytes, bytes]]:
    """Encoded once: no route of ours sets these, so they are appended, not merged."""
    common = [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
    ]
    if https:
        # Only over HTTPS: sent over plain HTTP it would lock browsers out of a test setup.
        common.append(("strict-transport-security", HSTS))
    policy = DOCS_POLICY if docs else API_POLICY
    return _encode([*common, ("content-security-policy", policy)])


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.api_headers = security_headers(https=https)
        self.docs_headers = security_headers(https=https, docs=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.docs_headers if scope["path"] in DOCS_PATHS else self.api_headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _encode(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
