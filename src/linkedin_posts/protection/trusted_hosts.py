"""Refuse requests addressed to a host name this service does not answer for."""

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from linkedin_posts.errors import problem_response

# Probes address a pod or container by its IP; health answers hold nothing a forged Host could
# exploit (no links, no redirects).
EXEMPT_PREFIXES = ("/health/",)


def host_name(header: str) -> str:
    """The Host header without its port: `api.example.com:8443` or `[::1]:8000` -> name."""
    header = header.strip().lower()
    if header.startswith("["):  # an IPv6 literal keeps its brackets, as allow-lists write it
        return header[: header.find("]") + 1]
    return header.rsplit(":", 1)[0]


class TrustedHostMiddleware:
    """Like Starlette's, but answers a problem+json 400 instead of text.

    `allowed` holds exact names and `*.example.com` patterns; `*` alone allows any host. A forged
    Host header is how cache poisoning and password-reset link attacks begin.
    """

    def __init__(self, app: ASGIApp, *, allowed: list[str]) -> None:
        self.app = app
        self.any = "*" in allowed
        self.exact = {host.lower() for host in allowed if not host.startswith("*.")}
        self.suffixes = tuple(host[1:].lower() for host in allowed if host.startswith("*."))

    def allows(self, host: str) -> bool:
        return host in self.exact or (bool(self.suffixes) and host.endswith(self.suffixes))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.any or scope["type"] != "http" or scope["path"].startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        if self.allows(host_name(Headers(scope=scope).get("host", ""))):
            await self.app(scope, receive, send)
            return
        response = problem_response(
            status=400,
            code="invalid_host",
            detail="This server does not answer for that Host.",
            instance=scope["path"],
        )
        await response(scope, receive, send)
