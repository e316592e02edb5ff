"""Accounts: registration, login and API keys."""

import uuid

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from linkedin_posts.auth import security
from linkedin_posts.auth.exceptions import (
    ApiKeyLimitReached,
    ApiKeyNotFound,
    EmailTaken,
    InvalidCredentials,
)
from linkedin_posts.auth.models import ApiKey, Role, User
from linkedin_posts.auth.schemas import ApiKeyCreate
from linkedin_posts.config import Settings
from linkedin_posts.types import utcnow


def normalize_email(email: str) -> str:
    # One account per mailbox: "Ana@Example.com" and "ana@example.com" are the same person.
    return email.strip().lower()


async def create_user(
    session: AsyncSession,
    *,
    settings: Settings,
    email: str,
    password: str,
    role: Role = Role.MEMBER,
) -> User:
    email = normalize_email(email)
    if await session.scalar(select(User.id).where(User.email == email)) is not None:
        raise EmailTaken("An account with this email already exists.")
    user = User(
        email=email, password_hash=await security.hash_password(settings, password), role=role
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent registration won the race
        raise EmailTaken("An account with this email already exists.") from exc
    return user


async def authenticate(
    session: AsyncSession, *, settings: Settings, email: str, password: str
) -> User:
    user = await session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        await security.burn_password_check(settings, password)
        raise InvalidCredentials("Incorrect email or password.")
    if not await security.verify_password(settings, user.password_hash, password):
        raise InvalidCredentials("Incorrect email or password.")
    if not user.is_active:
        raise InvalidCredentials("Incorrect email or password.")
    return user


async def get_active_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    user = await session.get(User, user_id)
    return user if user is not None and user.is_active else None


# Built once: constructing a statement costs more CPU than running it, on every request.
_USER_BY_API_KEY = (
    select(User, ApiKey.id)
    .join(ApiKey, ApiKey.user_id == User.id)
    .where(
        ApiKey.key_hash == bindparam("key_hash"),
        ApiKey.revoked_at.is_(None),
        User.is_active.is_(True),
    )
)


async def get_user_by_api_key(session: AsyncSession, key: str) -> tuple[User, uuid.UUID] | None:
    """Find the active user behind an unrevoked key, and the key's id, in one indexed query."""
    params = {"key_hash": security.hash_api_key(key)}
    row = (await session.execute(_USER_BY_API_KEY, params)).first()
    return None if row is None else (row[0], row[1])


async def create_api_key(
    session: AsyncSession, *, settings: Settings, user: User, data: ApiKeyCreate
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is never stored or shown again."""
    active = await session.scalar(
        select(func.count())
        .select_from(ApiKey)
        .where(ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None))
    )
    if (active or 0) >= settings.api_keys_per_user:
        raise ApiKeyLimitReached(
            f"At most {settings.api_keys_per_user} active API keys; revoke one first."
        )
    material = security.generate_api_key()
    api_key = ApiKey(
        user_id=user.id, name=data.name, prefix=material.prefix, key_hash=material.key_hash
    )
    session.add(api_key)
    await session.flush()
    return api_key, material.key


async def list_api_keys(session: AsyncSession, *, user: User) -> list[ApiKey]:
    result = await session.scalars(
        select(ApiKey)
        .where(ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
    )
    return list(result)


async def revoke_api_key(session: AsyncSession, *, user: User, key_id: uuid.UUID) -> None:
    api_key = await session.scalar(
        select(ApiKey).where(
            ApiKey.id == key_id, ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None)
        )
    )
    if api_key is None:
        raise ApiKeyNotFound("No such API key.")
    api_key.revoked_at = utcnow()
    await session.flush()
