"""A throwaway PostgreSQL database for one benchmark run: create, migrate, seed, drop."""

import asyncio
import contextlib
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, insert, make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from linkedin_posts.auth import security
from linkedin_posts.auth.models import ApiKey, Role, User
from linkedin_posts.config import Settings
from linkedin_posts.ids import new_id
from linkedin_posts.posts.models import Post, PostStatus, PostTag, Visibility
from linkedin_posts.types import utcnow

BIN = Path(sys.executable).parent
BENCH_PASSWORD = "bench password, hashed once"  # noqa: S105 (a throwaway account's)

_TAGS = ("growth", "hiring", "product", "ai", "leadership", "marketing", "sales", "remote")
_PARAGRAPHS = (
    "Three things I learned shipping our first API to paying customers this quarter.",
    "Most teams over-engineer the first version. Ship the smallest thing people will pay for, "
    "watch how they use it, then make the slow parts fast.",
    "We cut our onboarding from two weeks to two days by writing down every question a new "
    "hire asked and answering it once, in one place.",
    "If your roadmap has more than three priorities, it has none. Pick one and say no often.",
    "Hiring tip: the best signal is how someone explains a thing they built to a person who "
    "was not in the room.",
    "What would you add? Tell me in the comments.",
)


@dataclass
class SeededUser:
    email: str
    api_key: str
    post_ids: list[str] = field(default_factory=list)


@dataclass
class Seed:
    users: list[SeededUser]
    seconds: float

    @property
    def posts(self) -> int:
        return sum(len(u.post_ids) for u in self.users)


def _table(model: Any) -> Table:
    # A declarative model's __table__ is typed as FromClause; insert() wants the Table it is.
    return cast(Table, model.__table__)


def database_url_for(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def random_database_name() -> str:
    return f"lp_bench_{secrets.token_hex(4)}"


async def _admin(server_url: str, statement: str) -> None:
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def _scalar(server_url: str, statement: str, **params: object) -> object:
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            return await conn.scalar(text(statement), params)
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class BenchDatabase:
    server_url: str
    name: str

    def sessions_opened(self) -> int:
        """Sessions ever established to the database (PostgreSQL >= 14), asked from outside it."""
        value = asyncio.run(
            _scalar(
                self.server_url,
                "SELECT sessions FROM pg_stat_database WHERE datname = :name",
                name=self.name,
            )
        )
        return int(value) if isinstance(value, int) else 0


def create_database(server_url: str, name: str) -> None:
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))


def drop_database(server_url: str, name: str) -> None:
    # FORCE: a server that did not stop in time must not keep the database alive.
    asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def delete_posts_after(database_url: str, last_seeded_id: str) -> int:
    """Delete the posts made after seeding (the create scenario's), and return how many.

    Every group of measurements then starts from the seeded data; otherwise the next group's
    warm-up (the newest posts) would load the created posts instead of those wrk reads.
    """
    value = asyncio.run(
        _scalar(
            database_url,
            "WITH gone AS (DELETE FROM posts WHERE id > :last RETURNING 1) "
            "SELECT count(*) FROM gone",
            last=uuid.UUID(last_seeded_id),
        )
    )
    return int(value) if isinstance(value, int) else 0


def migrate(database_url: str, env: dict[str, str]) -> None:
    subprocess.run(
        [str(BIN / "linkedin-posts"), "migrate"],
        env={**env, "LP_DATABASE_URL": database_url},
        check=True,
        timeout=120,
    )


def post_body(n: int) -> str:
    """A LinkedIn-sized body (~400-700 characters), different from post to post."""
    count = 3 + n % 3
    picked = [_PARAGRAPHS[(n + i) % len(_PARAGRAPHS)] for i in range(count)]
    return "\n\n".join(picked) + f"\n\n#{_TAGS[n % len(_TAGS)]} (post {n})"


async def _seed(database_url: str, users: int, posts_per_user: int) -> list[SeededUser]:
    settings = Settings(_env_file=None, database_url=database_url)
    # One argon2 hash for every account: hashing 100 passwords would take seconds for nothing.
    password_hash = security.password_hasher(settings).hash(BENCH_PASSWORD)
    now = utcnow()
    statuses = (PostStatus.DRAFT, PostStatus.DRAFT, PostStatus.PUBLISHED, PostStatus.ARCHIVED)

    seeded: list[SeededUser] = []
    user_rows: list[dict[str, Any]] = []
    key_rows: list[dict[str, Any]] = []
    post_rows: list[dict[str, Any]] = []
    tag_rows: list[dict[str, Any]] = []
    for u in range(users):
        user_id = new_id()
        email = f"bench-{u:04d}@example.com"
        material = security.generate_api_key()
        seeded.append(SeededUser(email=email, api_key=material.key))
        user_rows.append(
            {
                "id": user_id,
                "email": email,
                "password_hash": password_hash,
                "role": Role.MEMBER.value,
                "is_active": True,
                "created_at": now,
            }
        )
        key_rows.append(
            {
                "id": new_id(),
                "user_id": user_id,
                "name": "bench",
                "prefix": material.prefix,
                "key_hash": material.key_hash,
                "created_at": now,
                "revoked_at": None,
            }
        )
        for p in range(posts_per_user):
            n = u * posts_per_user + p
            post_id = new_id()
            tags = [_TAGS[n % len(_TAGS)], _TAGS[(n // 3) % len(_TAGS)]]
            tags = list(dict.fromkeys(tags))
            created = now - timedelta(seconds=posts_per_user - p)
            post_rows.append(
                {
                    "id": post_id,
                    "owner_id": user_id,
                    "title": f"Post {p} of user {u}" if n % 4 else None,
                    "body": post_body(n),
                    "status": statuses[n % len(statuses)].value,
                    "visibility": Visibility.PUBLIC.value,
                    "campaign": f"campaign-{n % 5}" if n % 2 else None,
                    "tags": tags,
                    "scheduled_at": None,
                    "created_at": created,
                    "updated_at": created,
                    "version": 1,
                }
            )
            tag_rows.extend({"post_id": post_id, "tag": t, "owner_id": user_id} for t in tags)
            seeded[-1].post_ids.append(str(post_id))

    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(_table(User)), user_rows)
            await conn.execute(insert(_table(ApiKey)), key_rows)
            await conn.execute(insert(_table(Post)), post_rows)
            await conn.execute(insert(_table(PostTag)), tag_rows)
    finally:
        await engine.dispose()
    # Fresh statistics, as autovacuum would have them on a database that has been running.
    await _admin(database_url, "VACUUM ANALYZE")
    return seeded


def seed(database_url: str, *, users: int, posts_per_user: int) -> Seed:
    started = time.monotonic()
    seeded = asyncio.run(_seed(database_url, users, posts_per_user))
    return Seed(users=seeded, seconds=time.monotonic() - started)


@contextlib.contextmanager
def seeded_database(
    server_url: str, *, users: int, posts_per_user: int
) -> Iterator[tuple[str, Seed]]:
    """A throwaway database, migrated and seeded: its URL and the seed. Dropped however the block
    ends."""
    name = random_database_name()
    create_database(server_url, name)
    try:
        database_url = database_url_for(server_url, name)
        migrate(database_url, clean_env())
        yield database_url, seed(database_url, users=users, posts_per_user=posts_per_user)
    finally:
        drop_database(server_url, name)


def clean_env() -> dict[str, str]:
    """The caller's environment without LP_* settings: the run configures the server itself."""
    return {k: v for k, v in os.environ.items() if not k.startswith("LP_")}


async def _add_admin(database_url: str) -> str:
    material = security.generate_api_key()
    user_id = new_id()
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(_table(User)),
                [
                    {
                        "id": user_id,
                        "email": "bench-admin@example.com",
                        "password_hash": "!",  # no password: it signs in with its key only
                        "role": Role.ADMIN.value,
                        "is_active": True,
                        "created_at": utcnow(),
                    }
                ],
            )
            await conn.execute(
                insert(_table(ApiKey)),
                [
                    {
                        "id": new_id(),
                        "user_id": user_id,
                        "name": "bench-admin",
                        "prefix": material.prefix,
                        "key_hash": material.key_hash,
                        "created_at": utcnow(),
                        "revoked_at": None,
                    }
                ],
            )
    finally:
        await engine.dispose()
    return material.key


def add_admin(database_url: str) -> str:
    """An administrator with no posts; returns its API key (for probes and /v1/admin/*)."""
    return asyncio.run(_add_admin(database_url))


async def _user_ids(database_url: str) -> set[str]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return {str(i) for i in (await conn.scalars(text("SELECT id FROM users"))).all()}
    finally:
        await engine.dispose()


def user_ids(database_url: str) -> set[str]:
    """Every account's id, as the API writes it in keys (to clean up after a run)."""
    return asyncio.run(_user_ids(database_url))
