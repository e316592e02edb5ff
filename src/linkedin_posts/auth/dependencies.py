"""Resolve the caller (JWT or API key) once per request."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from linkedin_posts.auth import security, service
from linkedin_posts.auth.exceptions import AdminRequired, InvalidToken
from linkedin_posts.auth.models import Role
from linkedin_posts.auth.schemas import Principal
from linkedin_posts.cache.tiered import TieredCache
from linkedin_posts.errors import Unauthorized
from linkedin_posts.ratelimit.dependencies import limit_principal
from linkedin_posts.reader import Reader

# auto_error=False: we raise our own problem+json 401s, and either scheme may be used.
bearer_scheme = OAuth2PasswordBearer(
    tokenUrl="/v1/auth/token",
    auto_error=False,
    description="A JWT from /v1/auth/token, or an API key (`lp_...`).",
)
api_key_scheme = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key from POST /v1/api-keys."
)


async def get_current_user(
    request: Request,
    bearer: Annotated[str | None, Depends(bearer_scheme)],
    header_key: Annotated[str | None, Depends(api_key_scheme)],
) -> Principal:
    # The app's reader and settings straight from its state, not as sub-dependencies: FastAPI
    # resolves each one on every request, at a cost comparable to the reads themselves.
    state = request.app.state
    reader: Reader = state.reader
    cache: TieredCache | None = state.cache
    credential = bearer or header_key
    if not credential:
        raise Unauthorized("Send a bearer token or an X-API-Key header.")
    if not bearer and not security.looks_like_api_key(credential):
        raise InvalidToken("X-API-Key takes an API key (lp_...); send tokens as Bearer.")
    if security.looks_like_api_key(credential):
        user = await service.get_user_by_api_key(reader, cache, credential)
        if user is None:
            raise InvalidToken("The API key is invalid or revoked.")
        request.state.api_key_id = user.api_key_id
    else:
        tokens: security.VerifiedTokens = state.verified_tokens
        user_id = tokens.user_id(credential)
        active = None if user_id is None else await service.get_active_user(reader, cache, user_id)
        if active is None:
            raise InvalidToken("The access token is invalid or expired.")
        user = active
    # Later layers (logs, rate limits) key on the principal without a second lookup.
    request.state.user_id = user.id
    await limit_principal(request, user.id)
    return user


CurrentUser = Annotated[Principal, Depends(get_current_user)]


async def require_admin(user: CurrentUser) -> Principal:
    if user.role != Role.ADMIN:
        raise AdminRequired("This endpoint is for administrators.")
    return user
