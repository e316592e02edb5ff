"""Password hashing (argon2id), JWT access tokens and API key material."""

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import cast

import anyio.to_thread
import jwt
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from linkedin_posts.cache.memory import MISSING, MemoryCache
from linkedin_posts.config import Settings
from linkedin_posts.types import utcnow

JWT_ALGORITHM = "HS256"
ACCESS_TOKEN_TYPE = "access"  # noqa: S105 (a claim value)
API_KEY_PREFIX = "lp_"
_API_KEY_VISIBLE_CHARS = 11  # "lp_" + 8 characters, shown in listings to tell keys apart


@lru_cache(maxsize=4)
def _hasher(memory_kib: int, time_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
    )


def password_hasher(settings: Settings) -> PasswordHasher:
    return _hasher(
        settings.argon2_memory_kib, settings.argon2_time_cost, settings.argon2_parallelism
    )


async def hash_password(settings: Settings, password: str) -> str:
    # argon2 holds the GIL-free C code for tens of milliseconds: keep it off the event loop.
    return await anyio.to_thread.run_sync(password_hasher(settings).hash, password)


async def verify_password(settings: Settings, password_hash: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return password_hasher(settings).verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(verify)


@lru_cache(maxsize=4)
def _dummy_hash(memory_kib: int, time_cost: int, parallelism: int) -> str:
    return _hasher(memory_kib, time_cost, parallelism).hash(secrets.token_urlsafe(16))


async def burn_password_check(settings: Settings, password: str) -> None:
    """Spend the time of a real verification, so an unknown email is not told apart by timing."""
    dummy = await anyio.to_thread.run_sync(
        _dummy_hash,
        settings.argon2_memory_kib,
        settings.argon2_time_cost,
        settings.argon2_parallelism,
    )
    await verify_password(settings, dummy, password)


@dataclass(frozen=True, slots=True)
class AccessToken:
    token: str
    expires_in: int


def create_access_token(settings: Settings, user_id: uuid.UUID) -> AccessToken:
    now = utcnow()
    ttl = settings.access_token_ttl_seconds
    claims = {
        "sub": str(user_id),
        "iat": now,
        "exp": now + timedelta(seconds=ttl),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "typ": ACCESS_TOKEN_TYPE,
    }
    token = jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm=JWT_ALGORITHM)
    return AccessToken(token=token, expires_in=ttl)


def decode_access_token(settings: Settings, token: str) -> tuple[uuid.UUID, int] | None:
    """The user id and expiry (Unix seconds) of a valid access token, or None for any other."""
    try:
        claims = jwt.decode(
            token,
            settings.secret_key.get_secret_value(),
            algorithms=[JWT_ALGORITHM],  # pinned: "none" and RS/HS confusion are refused
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "typ"]},
        )
        if claims["typ"] != ACCESS_TOKEN_TYPE:
            return None
        return uuid.UUID(claims["sub"]), int(claims["exp"])
    except (jwt.PyJWTError, ValueError, TypeError):
        return None


class VerifiedTokens:
    """Access tokens already verified by this process, remembered until they expire.

    A signature check costs ~25 µs; a token is sent with every request of a session. Only the
    user id is kept, in memory, never in Redis: whether the user still exists is asked of the
    (coherent) cache on every request, so a deleted account loses access everywhere at once.
    """

    def __init__(self, settings: Settings, *, max_entries: int) -> None:
        self.settings = settings
        self.memory = (
            MemoryCache(
                max_entries=max_entries,
                max_bytes=max_entries * _TOKEN_ENTRY_BYTES,
                ttl_seconds=settings.access_token_ttl_seconds,
                clock=time.time,  # the token's exp is wall-clock time
            )
            if max_entries
            else None
        )

    def known_user_id(self, token: str) -> uuid.UUID | None:
        """The user id of a token verified before and not yet expired; None if not known."""
        if self.memory is None:
            return None
        user_id = self.memory.get(token)
        return None if user_id is MISSING else cast(uuid.UUID, user_id)

    def user_id(self, token: str) -> uuid.UUID | None:
        if self.memory is not None:
            user_id = self.memory.get(token)
            if user_id is not MISSING:
                return cast(uuid.UUID, user_id)
        verified = decode_access_token(self.settings, token)
        if verified is None:
            return None
        user_id, expires_at = verified
        if self.memory is not None:
            self.memory.set(
                token, user_id, size=len(token) + _TOKEN_ENTRY_BYTES, ttl=expires_at - time.time()
            )
        return user_id


_TOKEN_ENTRY_BYTES = 200


@dataclass(frozen=True, slots=True)
class NewApiKey:
    key: str
    prefix: str
    key_hash: str


def generate_api_key() -> NewApiKey:
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return NewApiKey(key=key, prefix=key[:_API_KEY_VISIBLE_CHARS], key_hash=hash_api_key(key))


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_api_key(credential: str) -> bool:
    return credential.startswith(API_KEY_PREFIX)
