"""GET /v1/posts/{id} answered from memory before the framework and its middleware stack.

Routing, dependency resolution and a stack of eight middlewares, each wrapping every send, cost
several times what a hit in memory does (docs/benchmarks.md). The front door sits in the app's
own `__call__` and, for a hit, does itself what those layers would have done, with their code:
request id, X-Process-Time, access log line and metrics (observability.request_context), the
security headers (protection.security_headers), the in-flight cap (protection.load_shedding),
the caller's rate limit and its headers (ratelimit). It answers only when everything it needs
is in this process's memory:

- the credential: an API key whose principal is cached, or an access token this process has
  verified before (expiry still checked) whose user is cached. Revoking a key or deleting a user
  drops those entries in every process, so the next request goes the normal way and gets 401;
- the post, cached under the caller's id, so nobody else's post is ever found;

and only when no other layer would change the answer: the Host is allowed and there is no
Origin while CORS is on. It compresses as the compression middleware would (same negotiation,
coding, level and minimum size), once per post and coding, keeping the result with the entry.
Anything else goes on to the framework unchanged, which answers it (from the cache too) and
fills the cache.
"""

import gzip
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import brotli  # type: ignore[import-untyped]
import structlog
import zstandard
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send
from starlette_compress._utils import parse_accept_encoding  # the negotiation the stack uses

from linkedin_posts import errors
from linkedin_posts.auth import security
from linkedin_posts.auth.schemas import Principal
from linkedin_posts.cache import keys
from linkedin_posts.cache.codecs import EncodedResponse
from linkedin_posts.cache.http import CACHE_CONTROL, etag_matches
from linkedin_posts.cache.memory import MISSING
from linkedin_posts.cache.tiered import Level, TieredCache
from linkedin_posts.config import Settings
from linkedin_posts.observability import metrics
from linkedin_posts.observability.request_context import (
    RequestContextMiddleware,
    accepted_request_id,
)
from linkedin_posts.posts.dependencies import MAX_CONDITION_LENGTH
from linkedin_posts.posts.router import router as posts_router
from linkedin_posts.protection.load_shedding import InFlight
from linkedin_posts.protection.security_headers import security_headers
from linkedin_posts.protection.trusted_hosts import TrustedHostMiddleware, host_name
from linkedin_posts.ratelimit.dependencies import enforce, principal_identity
from linkedin_posts.ratelimit.headers import limit_headers

PREFIX = "/v1/posts/"
# Lower-case and hyphenated, as str(UUID) writes it into cache keys.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_PATH_LENGTH = len(PREFIX) + 36
_HIT_HEADERS = [
    (b"content-type", b"application/json"),
    (b"cache-control", CACHE_CONTROL.encode()),
    (b"x-cache", Level.L1.value.encode()),
]


@dataclass(slots=True)
class Hit:
    principal: Principal
    post: EncodedResponse
    if_none_match: str | None
    accept_encoding: str | None


class Encoder:
    """What protection/compression.py's middleware does to a JSON body, for hits."""

    VARY = (b"vary", b"Accept-Encoding")

    def __init__(self, settings: Settings) -> None:
        self.minimum = settings.compression_min_bytes
        level = settings.compression_level
        self.compressors: dict[str, Callable[[bytes], bytes]] = {
            "zstd": zstandard.ZstdCompressor(level=level).compress,
            "br": lambda body: bytes(brotli.compress(body, quality=level)),
            "gzip": lambda body: gzip.compress(body, compresslevel=level, mtime=0),
        }

    def coding(self, accept_encoding: str | None, body: bytes) -> str | None:
        """The content coding to send, in the middleware's order of preference; None: as is."""
        if accept_encoding is None or len(body) < self.minimum:
            return None
        accepted = parse_accept_encoding(accept_encoding)
        return next((coding for coding in ("zstd", "br", "gzip") if coding in accepted), None)

    def encode(self, post: EncodedResponse, coding: str) -> bytes:
        encoded = post.encoded.get(coding)
        if encoded is None:
            encoded = post.encoded[coding] = self.compressors[coding](post.body)
        return encoded


class CachedReadFrontDoor:
    def __init__(self, app: Any, settings: Settings) -> None:
        self.app = app
        # Its record() writes the access line and the request metrics, as for any request.
        self.context = RequestContextMiddleware(
            app, access_log=settings.access_log, metrics_on=settings.metrics_enabled
        )
        self.metrics_on = settings.metrics_enabled
        self.security = security_headers(https=settings.https)
        self.hosts = (
            None
            if "*" in settings.trusted_hosts
            else TrustedHostMiddleware(app, allowed=settings.trusted_hosts)
        )
        self.cors = bool(settings.cors_origins)
        self.encoder = Encoder(settings) if settings.compression_enabled else None
        self.route = next(
            route
            for route in posts_router.routes
            # The router's own path (its prefix included, the app's /v1 not).
            if getattr(route, "path", "") == "/posts/{post_id}"
            and "GET" in getattr(route, "methods", ())
        )

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Answer a cached read and return True, or return False having done nothing."""
        path: str = scope["path"]
        if (
            scope["method"] != "GET"
            or len(path) != _PATH_LENGTH
            or not path.startswith(PREFIX)
            or scope["query_string"]
        ):
            return False
        state = self.app.state
        in_flight: InFlight = state.in_flight
        if in_flight.full:
            return False  # the stack answers 503 overloaded
        hit = self._lookup(state, scope, path[len(PREFIX) :])
        if hit is None:
            return False
        in_flight.count += 1
        try:
            await self._answer(scope, receive, send, hit)
        finally:
            in_flight.count -= 1
        return True

    def _lookup(self, state: Any, scope: Scope, raw_id: str) -> Hit | None:
        cache: TieredCache | None = state.cache
        if cache is None or not _CANONICAL_UUID.fullmatch(raw_id):
            return None  # a non-canonical id: the route answers (or normalizes) it
        authorization = api_key = if_none_match = accept_encoding = None
        host = ""
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"x-api-key":
                api_key = value
            elif name == b"if-none-match":
                if len(value) > MAX_CONDITION_LENGTH:
                    return None  # the route refuses it (422); so must a hit
                if_none_match = value.decode("latin-1")
            elif name == b"host":
                host = value.decode("latin-1")
            elif name == b"origin" and self.cors:
                return None  # CORS headers are the stack's to add
            elif name == b"accept-encoding":
                # Several fields read as one list, as the compression middleware reads them.
                text = value.decode("latin-1")
                accept_encoding = text if accept_encoding is None else f"{accept_encoding},{text}"
        if self.hosts is not None and not self.hosts.allows(host_name(host)):
            return None  # the stack answers 400 invalid_host
        principal = _principal(state, cache, authorization, api_key)
        if principal is None:
            return None
        post = cache.memory.get(keys.post(principal.id, raw_id))
        if post is MISSING:
            return None
        return Hit(principal, post, if_none_match, accept_encoding)

    async def _answer(self, scope: Scope, receive: Receive, send: Send, hit: Hit) -> None:
        started = time.perf_counter()
        principal = hit.principal
        request_id = accepted_request_id(scope)
        # What the stack leaves for the access log, the metrics and the rate-limit headers.
        scope["app"] = self.app
        scope["route"] = self.route
        state = scope.setdefault("state", {})
        state.update(
            request_id=request_id,
            user_id=principal.id,
            api_key_id=principal.api_key_id,
            cache=Level.L1.value,
        )
        bound = structlog.contextvars.bind_contextvars(request_id=request_id)
        if self.metrics_on:
            metrics.HTTP_REQUESTS_IN_FLIGHT.inc()
        status = 500
        try:
            status = await self._respond(scope, receive, send, hit, request_id, started)
        finally:
            if self.metrics_on:
                metrics.HTTP_REQUESTS_IN_FLIGHT.dec()
            self.context.record(
                scope, status, time.perf_counter() - started, log_it=self.context.access_log
            )
            structlog.contextvars.reset_contextvars(**bound)

    async def _respond(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        hit: Hit,
        request_id: str,
        started: float,
    ) -> int:
        request = Request(scope)
        principal, post = hit.principal, hit.post
        try:
            await enforce(request, "read", principal_identity(principal.id, principal.api_key_id))
        except Exception as exc:
            # A 429 (or an error of the limiter): answered as the stack would, with our headers.
            if isinstance(exc, errors.AppError):
                response = await errors.app_error_handler(request, exc)
            else:
                response = await errors.unhandled_error_handler(request, exc)
            extra = self._common_headers(state_of(scope), request_id, started)

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", ()), *extra]
                await send(message)

            await response(scope, receive, send_with_headers)
            return response.status_code
        self.app.state.cache.count_fast_hit()
        headers = [
            *_HIT_HEADERS,
            (b"etag", post.etag.encode()),
            *self._common_headers(state_of(scope), request_id, started),
        ]
        if hit.if_none_match is not None and etag_matches(hit.if_none_match, post.etag):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return 304
        body = post.body
        if self.encoder is not None:
            headers.append(Encoder.VARY)
            coding = self.encoder.coding(hit.accept_encoding, body)
            if coding is not None:
                body = self.encoder.encode(post, coding)
                headers.append((b"content-encoding", coding.encode()))
        headers.append((b"content-length", b"%d" % len(body)))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return 200

    def _common_headers(
        self, state: dict[str, Any], request_id: str, started: float
    ) -> list[tuple[bytes, bytes]]:
        decision = state.get("rate_limit")
        return [
            *(limit_headers(decision) if decision is not None else ()),
            *self.security,
            (b"x-request-id", request_id.encode()),
            (b"x-process-time", b"%.6f" % (time.perf_counter() - started)),
        ]


def state_of(scope: Scope) -> dict[str, Any]:
    state: dict[str, Any] = scope["state"]
    return state


def _principal(
    state: Any, cache: TieredCache, authorization: bytes | None, api_key: bytes | None
) -> Principal | None:
    if authorization is not None:
        if api_key is not None:
            return None  # which one wins, and the errors, are the route's to say
        scheme, _, credential = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not credential:
            return None
    elif api_key is not None:
        credential = api_key.decode("latin-1")
        if not security.looks_like_api_key(credential):
            return None
    else:
        return None
    if security.looks_like_api_key(credential):
        found = cache.memory.get(keys.api_key(security.hash_api_key(credential)))
    else:
        tokens: security.VerifiedTokens = state.verified_tokens
        user_id = tokens.known_user_id(credential)
        if user_id is None:
            return None
        found = cache.memory.get(keys.user(user_id))
    return None if found is MISSING else found
