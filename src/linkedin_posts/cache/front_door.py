"""GET /v1/posts/{id} and repeated POST /v1/analyze answered from memory before the framework.

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
- the post, cached under the caller's id, so nobody else's post is ever found; or the analysis
  of exactly this text (and language), which the route has validated and computed before: a
  body that is anything but `{"text": ..., "language"?: ...}` as application/json, or larger than
  the body cap, goes on to the route, with the body the front door read replayed to it;

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
import orjson
import structlog
import zstandard
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send
from starlette_compress._utils import parse_accept_encoding  # the negotiation the stack uses

from linkedin_posts import errors, http1
from linkedin_posts.analysis import service as analysis_service
from linkedin_posts.analysis.router import router as analysis_router
from linkedin_posts.analysis.schemas import LanguageCode
from linkedin_posts.api import API_PREFIX
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
from linkedin_posts.ratelimit.limiter import RateLimiter

# The lifespan state's key under which the server's protocol finds the front door.
STATE_KEY = "front_door"
PREFIX = "/v1/posts/"
ANALYZE_PATH = "/v1/analyze"
_LANGUAGES = frozenset(code.value for code in LanguageCode)
_ANALYZE_FIELDS = frozenset({"text", "language"})
# Lower-case and hyphenated, as str(UUID) writes it into cache keys.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_PATH_LENGTH = len(PREFIX) + 36
NAMES_KEPT = 16_384  # callers' names; past it, all are forgotten and made again
_JSON = (b"content-type", b"application/json")
_POST_HEADERS = [_JSON, (b"cache-control", CACHE_CONTROL.encode()), (b"x-cache", b"HIT-L1")]


@dataclass(slots=True)
class Headers:
    """The request headers the front door reads."""

    authorization: bytes | None = None
    api_key: bytes | None = None
    if_none_match: str | None = None
    accept_encoding: str | None = None
    content_type: bytes | None = None
    host: str = ""
    origin: bool = False
    too_long_condition: bool = False
    has_body: bool = False


@dataclass(frozen=True, slots=True)
class CallerNames:
    """A caller's names in the rate limiter and in the cache's keys, made once per credential:
    str(UUID) is Python code that costs more than the rest of a hit's lookups."""

    identity: str  # ratelimit.dependencies.principal_identity
    posts: str  # keys.posts_of: what the keys of the caller's posts start with


@dataclass(slots=True)
class Hit:
    principal: Principal
    identity: str  # the caller's rate-limit identity
    response: EncodedResponse
    route: Any
    route_class: Any
    # What the route itself would send: content-type, and for a post its cache headers.
    headers: list[tuple[bytes, bytes]]
    # The post's ETag, to answer If-None-Match; None for an analysis.
    etag: str | None
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

    def encode(self, response: EncodedResponse, coding: str) -> bytes:
        return response.encoded_as(coding, self.compressors[coding])


class CachedReadFrontDoor:
    def __init__(self, app: Any, settings: Settings) -> None:
        # The app's state is read by item here, not by attribute: Starlette's State finds an
        # attribute only after the object's own lookup has failed and made an AttributeError
        # (~0.6 µs each, three a read; docs/benchmarks.md, "State read by item").
        self.app = app
        # Its record() writes the access line and the request metrics, as for any request.
        self.context = RequestContextMiddleware(
            app, access_log=settings.access_log, metrics_on=settings.metrics_enabled
        )
        self.metrics_on = settings.metrics_enabled
        self.security = security_headers(https=settings.https)
        self.security_lines = http1.header_lines(self.security)
        self.hosts = (
            None
            if "*" in settings.trusted_hosts
            else TrustedHostMiddleware(app, allowed=settings.trusted_hosts)
        )
        self.cors = bool(settings.cors_origins)
        self.encoder = Encoder(settings) if settings.compression_enabled else None
        self.max_body_bytes = settings.max_body_bytes
        # The routers' own paths (their prefix included, the app's /v1 not).
        self.post_route = _route(posts_router.routes, "/posts/{post_id}", "GET")
        self.post_template = API_PREFIX + self.post_route.path  # as route_template finds it
        self.analyze_route = _route(analysis_router.routes, "/analyze", "POST")
        # By the cache key of a credential (an API key's hash, a user's id), which names one
        # principal forever.
        self._names: dict[str, CallerNames] = {}

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        """Answer a cached read and return None, or return what the stack is to receive."""
        path: str = scope["path"]
        method = scope["method"]
        if scope["query_string"] or not (
            (method == "GET" and len(path) == _PATH_LENGTH and path.startswith(PREFIX))
            or (method == "POST" and path == ANALYZE_PATH)
        ):
            return receive
        state = self.app.state
        in_flight: InFlight = state["in_flight"]
        if in_flight.full:
            return receive  # the stack answers 503 overloaded
        headers = self._headers(scope)
        if headers is None:
            return receive
        if method == "GET":
            hit = self._lookup_post(state, headers, path[len(PREFIX) :])
        else:
            hit, receive = await self._lookup_analysis(state, headers, receive)
        if hit is None:
            return receive
        in_flight.count += 1
        try:
            await self._answer(scope, receive, send, hit)
        finally:
            in_flight.count -= 1
        return None

    def answer_now(
        self, scope: Scope, *, keep_alive: bool, default_headers: http1.Headers
    ) -> bytes | None:
        """The whole answer to a bodiless GET of a post in memory, given by the server's protocol
        as soon as the headers are parsed (server_protocol.py); None when it takes waiting (the
        rate limiter must ask Redis) or anything else `serve` would not answer from memory."""
        path: str = scope["path"]
        if (
            scope["method"] != "GET"
            or scope["query_string"]
            or len(path) != _PATH_LENGTH
            or not path.startswith(PREFIX)
        ):
            return None
        state = self.app.state
        # Not refused at the in-flight cap: answered here, it takes no slot (server_protocol.py).
        headers = self._headers(scope)
        if headers is None or headers.has_body:
            return None
        hit = self._lookup_post(state, headers, path[len(PREFIX) :])
        if hit is None:
            return None
        started = time.perf_counter()
        limiter: RateLimiter | None = state["rate_limiter"]
        limit_lines = b""
        if limiter is not None:
            admitted = limiter.admit_now(hit.route_class, hit.identity)
            if admitted is None:
                return None
            limit_lines = admitted
        status, response_headers, body = self._response(hit, [])
        log_it = self.context.access_log
        # The access line reads what _start leaves in the scope; without one, the id is all.
        request_id = self._start(scope, hit) if log_it else accepted_request_id(scope)
        common = self._common_lines(limit_lines, request_id, started)
        elapsed = time.perf_counter() - started
        if log_it:
            # The access line is all this request logs: nothing else to bind the id for.
            with structlog.contextvars.bound_contextvars(request_id=request_id):
                self.context.record(scope, status, elapsed, log_it=True, route=self.post_template)
        else:
            self.context.record(scope, status, elapsed, log_it=False, route=self.post_template)
        return http1.answer(
            status,
            response_headers,
            body,
            keep_alive=keep_alive,
            default_headers=default_headers,
            encoded_headers=common,
        )

    def _names_of(self, credential_key: str, principal: Principal) -> CallerNames:
        names = self._names.get(credential_key)
        if names is None:
            if len(self._names) >= NAMES_KEPT:
                self._names.clear()
            names = self._names[credential_key] = CallerNames(
                principal_identity(principal.id, principal.api_key_id), keys.posts_of(principal.id)
            )
        return names

    def _headers(self, scope: Scope) -> Headers | None:
        """The headers a hit needs, or None when another layer would change the answer."""
        found = Headers()
        for name, value in scope["headers"]:
            if name == b"authorization":
                found.authorization = value
            elif name == b"x-api-key":
                found.api_key = value
            elif name == b"if-none-match":
                if len(value) > MAX_CONDITION_LENGTH:
                    return None  # the route refuses it (422); so must a hit
                found.if_none_match = value.decode("latin-1")
            elif name == b"host":
                found.host = value.decode("latin-1")
            elif name == b"origin" and self.cors:
                return None  # CORS headers are the stack's to add
            elif name == b"content-type":
                found.content_type = value
            elif name == b"content-length" or name == b"transfer-encoding":
                found.has_body = found.has_body or value != b"0"
            elif name == b"accept-encoding":
                # Several fields read as one list, as the compression middleware reads them.
                text = value.decode("latin-1")
                known = found.accept_encoding
                found.accept_encoding = text if known is None else f"{known},{text}"
        if self.hosts is not None and not self.hosts.allows(host_name(found.host)):
            return None  # the stack answers 400 invalid_host
        return found

    def _lookup_post(self, state: Any, headers: Headers, raw_id: str) -> Hit | None:
        cache: TieredCache | None = state["cache"]
        if cache is None or not _CANONICAL_UUID.fullmatch(raw_id):
            return None  # a non-canonical id: the route answers (or normalizes) it
        found = _principal(state, cache, headers.authorization, headers.api_key)
        if found is None:
            return None
        credential_key, principal = found
        names = self._names_of(credential_key, principal)
        post = cache.memory.get(names.posts + raw_id)  # keys.post
        if post is MISSING:
            return None
        return Hit(
            principal,
            names.identity,
            post,
            self.post_route,
            "read",
            [*_POST_HEADERS, (b"etag", post.etag.encode())],
            post.etag,
            headers.if_none_match,
            headers.accept_encoding,
        )

    async def _lookup_analysis(
        self, state: Any, headers: Headers, receive: Receive
    ) -> tuple[Hit | None, Receive]:
        cache: TieredCache | None = state["content_cache"].tiered
        if cache is None or headers.content_type is None:
            return None, receive
        media_type = headers.content_type.split(b";", 1)[0].strip().lower()
        if media_type != b"application/json":
            return None, receive  # the route answers 415, or reads +json types itself
        found = _principal(state, state["cache"], headers.authorization, headers.api_key)
        if found is None:
            return None, receive
        credential_key, principal = found
        body, replay = await _read_body(receive, self.max_body_bytes)
        if body is None:
            return None, replay
        request = _analyze_request(body)
        if request is None:
            return None, replay
        analysis = cache.memory.get(analysis_service.cache_key(state["analysis"], *request))
        if analysis is MISSING:
            return None, replay
        hit = Hit(
            principal,
            self._names_of(credential_key, principal).identity,
            analysis,
            self.analyze_route,
            "ai",
            [_JSON],
            None,
            None,
            headers.accept_encoding,
        )
        return hit, replay

    def _start(self, scope: Scope, hit: Hit) -> str:
        """The request's id; and what the stack leaves in the scope for the access log, the
        metrics and the rate-limit headers."""
        request_id = accepted_request_id(scope)
        scope["app"] = self.app
        scope["route"] = hit.route
        scope.setdefault("state", {}).update(
            request_id=request_id,
            user_id=hit.principal.id,
            api_key_id=hit.principal.api_key_id,
            cache=Level.L1.value,
        )
        return request_id

    async def _answer(self, scope: Scope, receive: Receive, send: Send, hit: Hit) -> None:
        started = time.perf_counter()
        request_id = self._start(scope, hit)
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
        try:
            await enforce(request, hit.route_class, hit.identity)
        except Exception as exc:
            # A 429 (or an error of the limiter): answered as the stack would, with our headers.
            if isinstance(exc, errors.AppError):
                refusal = await errors.app_error_handler(request, exc)
            else:
                refusal = await errors.unhandled_error_handler(request, exc)
            extra = self._common_headers(state_of(scope), request_id, started)

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", ()), *extra]
                await send(message)

            await refusal(scope, receive, send_with_headers)
            return refusal.status_code
        status, headers, body = self._response(
            hit, self._common_headers(state_of(scope), request_id, started)
        )
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return status

    def _response(
        self, hit: Hit, common_headers: list[tuple[bytes, bytes]]
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Status, headers and body of a hit, as the route and the compression middleware
        would send them."""
        response = hit.response
        if hit.etag is not None:
            self.app.state["cache"].count_fast_hit()
        headers = [*hit.headers, *common_headers]
        if (
            hit.etag is not None
            and hit.if_none_match is not None
            and etag_matches(hit.if_none_match, hit.etag)
        ):
            return 304, headers, b""
        body = response.body
        # As the compression middleware: a body too small to compress does not vary.
        if self.encoder is not None and len(body) >= self.encoder.minimum:
            headers.append(Encoder.VARY)
            accepted = hit.accept_encoding
            coding = None if accepted is None else self.encoder.coding(accepted, body)
            if coding is not None:
                body = self.encoder.encode(response, coding)
                headers.append((b"content-encoding", coding.encode()))
        headers.append((b"content-length", b"%d" % len(body)))
        return 200, headers, body

    def _common_lines(self, limit_lines: bytes, request_id: str, started: float) -> bytes:
        """_common_headers as header lines, for the server's answers: made by one format
        instead of a join per header."""
        return b"%bx-request-id: %b\r\nx-process-time: %.6f\r\n%b" % (
            limit_lines,
            request_id.encode(),
            time.perf_counter() - started,
            self.security_lines,
        )

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


def _route(routes: list[Any], path: str, method: str) -> Any:
    return next(
        route
        for route in routes
        if getattr(route, "path", "") == path and method in getattr(route, "methods", ())
    )


async def _read_body(receive: Receive, limit: int) -> tuple[bytes | None, Receive]:
    """The whole body (None if over `limit` or cut short), and a receive that replays it."""
    messages: list[Message] = []
    size = 0
    complete = False
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break  # the client left: the stack hears it too
        size += len(message.get("body", b""))
        if size > limit:
            break  # the stack answers 413
        if not message.get("more_body", False):
            complete = True
            break
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    if not complete:
        return None, replay
    return b"".join(message.get("body", b"") for message in messages), replay


def _analyze_request(body: bytes) -> tuple[str, str | None] | None:
    """(text, language) of a body the route would accept as it stands, else None.

    Only the shape is checked: a text and language found in memory were validated by the route
    when their analysis was made.
    """
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not data.keys() <= _ANALYZE_FIELDS:
        return None
    text, language = data.get("text"), data.get("language")
    if not isinstance(text, str) or not (
        language is None or (isinstance(language, str) and language in _LANGUAGES)
    ):
        return None
    return text, language


def state_of(scope: Scope) -> dict[str, Any]:
    state: dict[str, Any] = scope["state"]
    return state


def _principal(
    state: Any, cache: TieredCache, authorization: bytes | None, api_key: bytes | None
) -> tuple[str, Principal] | None:
    """The caller, if this process holds it in memory, and the cache key it is held under."""
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
        key = keys.api_key(security.hash_api_key(credential))
    else:
        tokens: security.VerifiedTokens = state["verified_tokens"]
        user_id = tokens.known_user_id(credential)
        if user_id is None:
            return None
        key = keys.user(user_id)
    found = cache.memory.get(key)
    return None if found is MISSING else (key, found)
