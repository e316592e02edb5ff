"""GET /v1/posts/{id} answered from memory before FastAPI routes it.

FastAPI's routing, dependency resolution and response handling cost several times what a hit in
memory does (docs/benchmarks.md). This layer sits inside our other middleware, so a hit still gets
its request id, access log line, metrics, security headers and compression, and it counts against
the caller's rate limit like any read. It answers only when everything it needs is in memory:

- the credential: an API key whose principal this process has cached, or an access token it has
  already verified (expiry still checked) whose user it has cached. Revoking a key or deleting a
  user drops those entries in every process, so the next request goes the slow way and gets 401;
- the post, cached under the caller's id, so nobody else's post is ever found.

Anything else (no credential, two credentials, a query string, a cold entry) goes on to FastAPI
unchanged, which answers it and fills the cache for next time.
"""

import re
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from linkedin_posts.auth import security
from linkedin_posts.auth.schemas import Principal
from linkedin_posts.cache import keys
from linkedin_posts.cache.codecs import EncodedResponse
from linkedin_posts.cache.http import CACHE_CONTROL, etag_matches
from linkedin_posts.cache.memory import MISSING
from linkedin_posts.cache.tiered import Level, TieredCache
from linkedin_posts.errors import AppError, app_error_handler
from linkedin_posts.posts.dependencies import MAX_CONDITION_LENGTH
from linkedin_posts.posts.router import router as posts_router
from linkedin_posts.ratelimit.dependencies import enforce, principal_identity

PREFIX = "/v1/posts/"
ROUTE = "/v1/posts/{post_id}"
_UUID_LENGTH = 36
# Lower-case and hyphenated, as str(UUID) writes it into cache keys.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_FIXED_HEADERS = [
    (b"content-type", b"application/json"),
    (b"cache-control", CACHE_CONTROL.encode()),
    (b"x-cache", Level.L1.value.encode()),
]


class CachedReadMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._route: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not path.startswith(PREFIX)
            or len(path) != len(PREFIX) + _UUID_LENGTH
            or scope["query_string"]
        ):
            await self.app(scope, receive, send)
            return
        found = self._lookup(scope, path[len(PREFIX) :])
        if found is None:
            await self.app(scope, receive, send)
            return
        principal, post, if_none_match = found
        await self._answer(scope, receive, send, principal, post, if_none_match)

    def _lookup(
        self, scope: Scope, raw_id: str
    ) -> tuple[Principal, EncodedResponse, str | None] | None:
        state = scope["app"].state
        cache: TieredCache | None = state.cache
        if cache is None:
            return None
        if not _CANONICAL_UUID.fullmatch(raw_id):
            return None  # not as keys write ids: FastAPI answers (or normalizes) it
        authorization = api_key = if_none_match = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"x-api-key":
                api_key = value
            elif name == b"if-none-match":
                if len(value) > MAX_CONDITION_LENGTH:
                    return None  # the route refuses it (422); so must a hit
                if_none_match = value.decode("latin-1")
        principal = self._principal(state, cache, authorization, api_key)
        if principal is None:
            return None
        post = cache.memory.get(keys.post(principal.id, raw_id))
        if post is MISSING:
            return None
        return principal, post, if_none_match

    def _principal(
        self, state: Any, cache: TieredCache, authorization: bytes | None, api_key: bytes | None
    ) -> Principal | None:
        if authorization is not None:
            if api_key is not None:
                return None  # which one wins, and the errors, are the slow path's to say
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

    async def _answer(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        principal: Principal,
        post: EncodedResponse,
        if_none_match: str | None,
    ) -> None:
        # What the slow path leaves for the access log, the metrics and the rate-limit headers.
        scope["route"] = self._route or self._find_route()
        state = scope.setdefault("state", {})
        state["user_id"] = principal.id
        state["api_key_id"] = principal.api_key_id
        state["cache"] = Level.L1.value
        request = Request(scope)
        try:
            await enforce(request, "read", principal_identity(principal.id, principal.api_key_id))
        except AppError as exc:
            response = await app_error_handler(request, exc)
            await response(scope, receive, send)
            return
        scope["app"].state.cache.count_fast_hit()
        headers = [*_FIXED_HEADERS, (b"etag", post.etag.encode())]
        if if_none_match is not None and etag_matches(if_none_match, post.etag):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        headers.append((b"content-length", str(len(post.body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": post.body})

    def _find_route(self) -> Any:
        """FastAPI's route object, so metrics and logs name the template as for any request."""
        for route in posts_router.routes:
            methods = getattr(route, "methods", ())
            # The router's own path (its prefix included, the app's /v1 not).
            if getattr(route, "path", "") == "/posts/{post_id}" and "GET" in methods:
                self._route = route
                return route
        raise LookupError(f"no GET {ROUTE} route")
