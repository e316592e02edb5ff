"""Accounts: registration, login and API keys."""

import uuid
from datetime import datetime

import orjson
from sqlalchemy import bindparam, delete, func, select
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
from linkedin_posts.auth.schemas import ApiKeyCreate, Principal
from linkedin_posts.cache import codecs, invalidate_after_commit, keys
from linkedin_posts.cache.tiered import TieredCache
from linkedin_posts.config import Settings
from linkedin_posts.ratelimit.lockout import LoginLockout
from linkedin_posts.reader import Reader, ReadQuery
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
    session: AsyncSession,
    *,
    settings: Settings,
    lockout: LoginLockout | None,
    email: str,
    password: str,
) -> User:
    email = normalize_email(email)
    if lockout is not None:
        await lockout.check(email)
    # No stored address holds a NUL, and PostgreSQL refuses one in a query parameter.
    user = (
        None if "\x00" in email else await session.scalar(select(User).where(User.email == email))
    )
    if user is None:
        await security.burn_password_check(settings, password)
    elif await security.verify_password(settings, user.password_hash, password) and user.is_active:
        if lockout is not None:
            await lockout.succeeded(email)
        return user
    if lockout is not None:
        await lockout.failed(email)
    raise InvalidCredentials("Incorrect email or password.")


# The caller's account without its password hash; ids of the credential are added per query.
_PRINCIPAL_COLUMNS = (User.id, User.email, User.role, User.is_active, User.created_at)
_ACTIVE_USER = ReadQuery(
    select(*_PRINCIPAL_COLUMNS).where(User.id == bindparam("user_id"), User.is_active.is_(True))
)
_USER_BY_API_KEY = ReadQuery(
    select(*_PRINCIPAL_COLUMNS, ApiKey.id.label("api_key_id"))
    .join(ApiKey, ApiKey.user_id == User.id)
    .where(
        ApiKey.key_hash == bindparam("key_hash"),
        ApiKey.revoked_at.is_(None),
        User.is_active.is_(True),
    )
)


class PrincipalCodec:
    """A principal as the cache keeps it in Redis."""

    def dumps(self, value: Principal) -> bytes:
        # default=str: asyncpg hands back its own UUID type, which orjson does not know.
        return orjson.dumps(value, default=str)

    def loads(self, data: bytes) -> Principal:
        fields = orjson.loads(data)
        key_id = fields["api_key_id"]
        return Principal(
            id=uuid.UUID(fields["id"]),
            email=fields["email"],
            role=fields["role"],
            is_active=fields["is_active"],
            created_at=datetime.fromisoformat(fields["created_at"]),
            api_key_id=None if key_id is None else uuid.UUID(key_id),
        )

    def size(self, value: Principal) -> int:
        return len(value.email) + codecs.OVERHEAD_BYTES


PRINCIPAL = PrincipalCodec()


async def get_active_user(
    reader: Reader, cache: TieredCache | None, user_id: uuid.UUID
) -> Principal | None:
    async def load() -> Principal | None:
        row = await reader.one(_ACTIVE_USER, user_id=user_id)
        return None if row is None else Principal.from_row(row)

    if cache is None:
        return await load()
    principal, _ = await cache.get_or_load(keys.user(user_id), load, PRINCIPAL)
    return principal


async def get_user_by_api_key(
    reader: Reader, cache: TieredCache | None, key: str
) -> Principal | None:
    """Find the active user behind an unrevoked key, with the key's id, in one indexed query."""
    key_hash = security.hash_api_key(key)

    async def load() -> Principal | None:
        row = await reader.one(_USER_BY_API_KEY, key_hash=key_hash)
        return None if row is None else Principal.from_row(row, api_key_id=row["api_key_id"])

    if cache is None:
        return await load()
    principal, _ = await cache.get_or_load(keys.api_key(key_hash), load, PRINCIPAL)
    return principal


async def delete_user(session: AsyncSession, *, user_id: uuid.UUID) -> None:
    """Delete the account with its keys and posts (the foreign keys cascade)."""
    key_hashes = (
        await session.scalars(select(ApiKey.key_hash).where(ApiKey.user_id == user_id))
    ).all()
    await session.execute(delete(User).where(User.id == user_id))
    invalidate_after_commit(
        session,
        keys.user(user_id),
        keys.list_version(user_id),
        *(keys.api_key(key_hash) for key_hash in key_hashes),
    )


async def create_api_key(
    session: AsyncSession, *, settings: Settings, user_id: uuid.UUID, data: ApiKeyCreate
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is never stored or shown again."""
    active = await session.scalar(
        select(func.count())
        .select_from(ApiKey)
        .where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
    )
    if (active or 0) >= settings.api_keys_per_user:
        raise ApiKeyLimitReached(
            f"At most {settings.api_keys_per_user} active API keys; revoke one first."
        )
    material = security.generate_api_key()
    api_key = ApiKey(
        user_id=user_id, name=data.name, prefix=material.prefix, key_hash=material.key_hash
    )
    session.add(api_key)
    await session.flush()
    return api_key, material.key


async def list_api_keys(session: AsyncSession, *, user_id: uuid.UUID) -> list[ApiKey]:
    result = await session.scalars(
        select(ApiKey)
        .where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
    )
    return list(result)


async def revoke_api_key(session: AsyncSession, *, user_id: uuid.UUID, key_id: uuid.UUID) -> None:
    api_key = await session.scalar(
        select(ApiKey).where(
            ApiKey.id == key_id, ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None)
        )
    )
    if api_key is None:
        raise ApiKeyNotFound("No such API key.")
    api_key.revoked_at = utcnow()
    await session.flush()
    invalidate_after_commit(session, keys.api_key(api_key.key_hash))
