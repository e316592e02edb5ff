"""Every cache key, in one place: what it names and who invalidates it.

The owner is part of every key of user data, so one user's entry can never answer another.
"""

import hashlib
import uuid


def post(owner_id: uuid.UUID, post_id: uuid.UUID | str) -> str:
    """GET /v1/posts/{id}; dropped by the post's update and delete. A str id is canonical."""
    return f"{posts_of(owner_id)}{post_id}"


def posts_of(owner_id: uuid.UUID) -> str:
    """What the keys of the owner's posts start with (`post` = this + the post's id)."""
    return f"post:{owner_id}:"


_LIST_VERSION = "posts-version:"


def list_version(owner_id: uuid.UUID) -> str:
    """A random token naming the current set of the owner's list pages; dropped by every write.

    Every write of an owner's posts drops it, so it also tells that the owner wrote: see
    `list_version_owner` and cache/recent_writes.py.
    """
    return f"{_LIST_VERSION}{owner_id}"


def list_version_owner(key: str) -> str | None:
    """The owner (as str) whose list version this key is, or None for any other key."""
    return key[len(_LIST_VERSION) :] if key.startswith(_LIST_VERSION) else None


def list_page(owner_id: uuid.UUID, version: str, query: str) -> str:
    """A page of GET /v1/posts: unreachable as soon as the owner's list version changes."""
    digest = hashlib.blake2b(query.encode(), digest_size=12).hexdigest()
    return f"posts:{owner_id}:{version}:{digest}"


def user(user_id: uuid.UUID) -> str:
    """The principal behind a JWT; dropped when the account is deleted."""
    return f"user:{user_id}"


def api_key(key_hash: str) -> str:
    """The principal behind an API key (by the key's hash); dropped by revocation."""
    return f"apikey:{key_hash}"


def content(kind: str, *parts: str) -> str:
    """Results computed from content (analyses, generations), keyed by a hash of their inputs.

    Never invalidated: the same inputs give the same result, so only the TTL retires them.
    """
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()
    return f"{kind}:{digest}"
