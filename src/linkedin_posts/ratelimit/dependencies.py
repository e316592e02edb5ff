"""Where the limits are checked: on authentication for every authenticated route, by class.

An authenticated request is counted where the caller is resolved (`get_current_user`), so every
route that needs a principal is limited without declaring it, counted per principal (an API key
has its own budget, a token its user's) and before the body is parsed or a database session
opened, so a refused request costs little. A route's class is `read` for GET and HEAD, `write`
otherwise, unless it says `ai` in its OpenAPI extension `x-rate-limit-class` (AI_ROUTE), which
also tells clients. Registration and login, which have no principal yet, declare `limit_auth`.
The decision is left in the request state for RateLimitHeadersMiddleware.
"""

from typing import Annotated, Any

from fastapi import Depends, Request

from linkedin_posts.errors import AppError
from linkedin_posts.observability.metrics import RATELIMIT_REJECTED
from linkedin_posts.protection.client_ip import client_address, rate_limit_identity
from linkedin_posts.ratelimit.limiter import RateLimiter, RouteClass
from linkedin_posts.ratelimit.lockout import LoginLockout
from linkedin_posts.ratelimit.windows import Decision

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CLASS_EXTENSION = "x-rate-limit-class"
# `openapi_extra=AI_ROUTE` on a route decorator puts the route in the `ai` class.
AI_ROUTE: dict[str, Any] = {CLASS_EXTENSION: "ai"}


class RateLimited(AppError):
    status = 429
    code = "rate_limited"

    def __init__(self, detail: str, decision: Decision, route_class: str) -> None:
        super().__init__(detail, route_class=route_class)
        self.headers = {"Retry-After": str(decision.reset_seconds)}


async def limit_principal(request: Request, principal_id: object) -> None:
    """Count an authenticated request against its principal's budget for the route's class."""
    route = request.scope.get("route")
    extra = getattr(route, "openapi_extra", None) or {}
    route_class: RouteClass = extra.get(CLASS_EXTENSION) or (
        "read" if request.method in SAFE_METHODS else "write"
    )
    api_key_id = getattr(request.state, "api_key_id", None)
    await enforce(request, route_class, principal_identity(principal_id, api_key_id))


def principal_identity(principal_id: object, api_key_id: object) -> str:
    """A key has its own budget; a token counts against its user's."""
    return f"key:{api_key_id}" if api_key_id is not None else f"user:{principal_id}"


async def limit_auth(request: Request) -> None:
    """Registration and login, per client address: there is no principal yet."""
    settings = request.app.state.settings
    address = client_address(request.scope, settings.trusted_proxies)
    await enforce(request, "auth", rate_limit_identity(address))


async def enforce(request: Request, route_class: RouteClass, identity: str) -> None:
    """Count the request; raise RateLimited past the process ceiling or the identity's quota."""
    limiter: RateLimiter | None = request.app.state.rate_limiter
    if limiter is None:
        return
    ceiling = limiter.hit_process_ceiling()
    if not ceiling.allowed:
        RATELIMIT_REJECTED.labels("global").inc()
        raise RateLimited(
            "This server is at its request ceiling; retry shortly.", ceiling, "global"
        )
    decision = await limiter.hit(route_class, identity)
    request.state.rate_limit = decision
    if not decision.allowed:
        RATELIMIT_REJECTED.labels(route_class).inc()
        raise RateLimited(
            f"Too many {route_class} requests; retry in {decision.reset_seconds} s.",
            decision,
            route_class,
        )


async def get_login_lockout(request: Request) -> LoginLockout | None:
    lockout: LoginLockout | None = request.app.state.login_lockout
    return lockout


LockoutDep = Annotated[LoginLockout | None, Depends(get_login_lockout)]
