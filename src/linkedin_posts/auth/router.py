import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.security import OAuth2PasswordRequestForm

from linkedin_posts.auth import security, service
from linkedin_posts.auth.dependencies import CurrentUser
from linkedin_posts.auth.exceptions import (
    InvalidCredentials,
    PasswordLoginRequired,
    PasswordMismatch,
)
from linkedin_posts.auth.models import ApiKey, User
from linkedin_posts.auth.schemas import (
    AccountDeletion,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyRead,
    Principal,
    Token,
    UserCreate,
    UserRead,
)
from linkedin_posts.database import SessionDep
from linkedin_posts.dependencies import SettingsDep, require_json
from linkedin_posts.errors import problem_responses
from linkedin_posts.ratelimit.dependencies import LockoutDep, limit_auth

auth_router = APIRouter(
    prefix="/auth",
    tags=["auth"],
    dependencies=[Depends(limit_auth)],
    responses=problem_responses(429),
)
users_router = APIRouter(
    prefix="/users",
    tags=["auth"],
    responses=problem_responses(401, 429),
)
api_keys_router = APIRouter(
    prefix="/api-keys",
    tags=["api keys"],
    responses=problem_responses(401, 429),
)


@auth_router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserRead,
    dependencies=[Depends(require_json)],
    responses=problem_responses(400, 409, 415, 422),
)
async def register(data: UserCreate, session: SessionDep, settings: SettingsDep) -> User:
    return await service.create_user(
        session, settings=settings, email=data.email, password=data.password
    )


@auth_router.post("/token", response_model=Token, responses=problem_responses(401, 422))
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    lockout: LockoutDep,
) -> Token:
    """Exchange email (as `username`) and password for a bearer token.

    Repeated failures for one account lock its logins for a while (429 `login_locked`).
    """
    user = await service.authenticate(
        session, settings=settings, lockout=lockout, email=form.username, password=form.password
    )
    access = security.create_access_token(settings, user.id)
    return Token(access_token=access.token, expires_in=access.expires_in)


@users_router.get("/me", response_model=UserRead)
async def read_me(user: CurrentUser) -> Principal:
    return user


@users_router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(require_json)],
    responses=problem_responses(400, 403, 415, 422),
)
async def delete_me(
    confirmation: AccountDeletion,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    lockout: LockoutDep,
) -> None:
    """Delete your account, its API keys and its posts, for good. Send your password.

    Only with an access token from a password login: an API key, often kept in scripts and CI
    settings, cannot delete the account it belongs to, nor can a stolen token alone. Wrong
    passwords count toward the login lock-out (429 `login_locked`).
    """
    if user.api_key_id is not None:
        raise PasswordLoginRequired("Deleting the account needs a token from /v1/auth/token.")
    try:
        await service.authenticate(
            session,
            settings=settings,
            lockout=lockout,
            email=user.email,
            password=confirmation.password,
        )
    except InvalidCredentials:
        raise PasswordMismatch("The password is not this account's.") from None
    await service.delete_user(session, user_id=user.id)


@api_keys_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    dependencies=[Depends(require_json)],
    responses=problem_responses(400, 409, 415, 422),
)
async def create_api_key(
    data: ApiKeyCreate, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> ApiKeyCreated:
    api_key, key = await service.create_api_key(
        session, settings=settings, user_id=user.id, data=data
    )
    return ApiKeyCreated(
        id=api_key.id,
        name=api_key.name,
        prefix=api_key.prefix,
        created_at=api_key.created_at,
        key=key,
    )


@api_keys_router.get("", response_model=ApiKeyList)
async def list_api_keys(user: CurrentUser, session: SessionDep) -> ApiKeyList:
    keys: list[ApiKey] = await service.list_api_keys(session, user_id=user.id)
    return ApiKeyList(items=[ApiKeyRead.model_validate(k) for k in keys])


@api_keys_router.delete(
    "/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404, 422),
)
async def revoke_api_key(key_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> None:
    """Revoke a key; requests made with it fail from now on."""
    await service.revoke_api_key(session, user_id=user.id, key_id=key_id)
