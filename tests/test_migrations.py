"""Migrations build the schema the models describe, tear it down, and build it again.

Each test gets an empty database of its own (a file on SQLite, a new database on the PostgreSQL
server), because downgrading the session's shared database would pull it from under other tests.
"""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from linkedin_posts import migrate, migration_scripts
from linkedin_posts.auth import models as auth_models  # noqa: F401  (registers the tables)
from linkedin_posts.database import Base, create_engine
from linkedin_posts.generation import models as generation_models  # noqa: F401
from linkedin_posts.main import create_app
from linkedin_posts.posts import models as posts_models  # noqa: F401
from tests.conftest import PASSWORD, fresh_database, make_settings

OUR_TABLES = {"users", "api_keys", "posts", "post_tags", "ai_usage", "jobs", "job_items"}
# What the models declare, by table: index name -> its columns.
INDEXES = {
    "users": {},
    "api_keys": {"ix_api_keys_user_id_created_at": ["user_id", "created_at"]},
    "posts": {
        "ix_posts_owner_id_id": ["owner_id", "id"],
        "ix_posts_owner_id_status_id": ["owner_id", "status", "id"],
        "ix_posts_owner_id_campaign_id": ["owner_id", "campaign", "id"],
        "ix_posts_owner_id_created_at": ["owner_id", "created_at"],
    },
    "post_tags": {"ix_post_tags_owner_id_tag_post_id": ["owner_id", "tag", "post_id"]},
    # Its primary key (user_id, day, provider, model) serves the one query, a user's last days.
    "ai_usage": {},
    "jobs": {
        "ix_jobs_owner_id_id": ["owner_id", "id"],
        "ix_jobs_owner_id_status": ["owner_id", "status"],
        # A unique index, not a constraint: a retried submit finds its job by it.
        "uq_jobs_owner_id_idempotency_key": ["owner_id", "idempotency_key"],
        "ix_jobs_status_priority_id": ["status", "priority", "id"],
    },
    "job_items": {"ix_job_items_job_id_status_seq": ["job_id", "status", "seq"]},
}
UNIQUE = {
    "users": {"uq_users_email": ["email"]},
    "api_keys": {"uq_api_keys_key_hash": ["key_hash"]},
}
# Deleting a user deletes everything that is theirs; deleting a post deletes its tag rows.
CASCADES = {
    ("api_keys", "user_id"): "users",
    ("posts", "owner_id"): "users",
    ("post_tags", "post_id"): "posts",
    ("ai_usage", "user_id"): "users",
    ("jobs", "owner_id"): "users",
    ("job_items", "job_id"): "jobs",
}
# PostgreSQL only, and only in the migration: SQLite has no trigram index to mirror it.
SEARCH_INDEX = "ix_posts_search_trgm"


@pytest.fixture
async def fresh_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database(backend, tmp_path) as url:
        yield url


@pytest.fixture
async def engine(fresh_url: str) -> AsyncIterator[AsyncEngine]:
    # The app's own engine: on SQLite it is what turns foreign keys (and so cascades) on.
    engine = create_engine(make_settings(fresh_url))
    yield engine
    await engine.dispose()


async def upgrade(url: str, revision: str = "head") -> None:
    # migrate.upgrade runs its own event loop, so it gets a thread of its own.
    await anyio.to_thread.run_sync(migrate.upgrade, url, revision)


async def downgrade(url: str, revision: str = "base") -> None:
    await anyio.to_thread.run_sync(command.downgrade, migrate.alembic_config(url), revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()


def _schema(conn: Connection) -> dict[str, Any]:
    inspector = inspect(conn)
    tables = set(inspector.get_table_names())
    return {
        "tables": tables,
        "indexes": {
            table: {
                index["name"]: index["column_names"]
                for index in inspector.get_indexes(table)
                # PostgreSQL also lists the index behind each unique constraint.
                if not index.get("duplicates_constraint")
            }
            for table in tables & OUR_TABLES
        },
        "unique": {
            table: {u["name"]: u["column_names"] for u in inspector.get_unique_constraints(table)}
            for table in tables & OUR_TABLES
        },
        "cascades": {
            (table, fk["constrained_columns"][0]): fk["referred_table"]
            for table in tables & OUR_TABLES
            for fk in inspector.get_foreign_keys(table)
            if fk["options"].get("ondelete") == "CASCADE"
        },
    }


async def schema_of(engine: AsyncEngine) -> dict[str, Any]:
    async with engine.connect() as conn:
        return await conn.run_sync(_schema)


async def postgres_search_index(engine: AsyncEngine) -> str | None:
    """The trigram index's definition; None when it does not exist (always, on SQLite)."""
    if engine.dialect.name != "postgresql":
        return None
    async with engine.connect() as conn:
        return await conn.scalar(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"), {"name": SEARCH_INDEX}
        )


async def recorded_revisions(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return list(await conn.scalars(text("SELECT version_num FROM alembic_version")))


async def test_upgrade_head_creates_the_tables_indexes_and_constraints(
    fresh_url: str, engine: AsyncEngine
) -> None:
    await upgrade(fresh_url)

    schema = await schema_of(engine)
    assert schema["tables"] == OUR_TABLES | {"alembic_version"}
    for table, indexes in INDEXES.items():
        # The search index is an expression index: checked below, where it exists.
        found = schema["indexes"][table]
        assert {name: found[name] for name in found if name != SEARCH_INDEX} == indexes, table
    for table in OUR_TABLES:
        assert schema["unique"][table] == UNIQUE.get(table, {}), table
    assert schema["cascades"] == CASCADES
    assert await recorded_revisions(engine) == [head_revision()]

    if engine.dialect.name == "postgresql":
        search_index = await postgres_search_index(engine)
        assert search_index is not None
        # The expression must be the one posts.models.search_document writes, or `q` ignores it.
        assert "USING gin" in search_index
        assert "gin_trgm_ops" in search_index
        expression = "(COALESCE(title, ''::character varying))::text || ' '::text) || body"
        assert expression in search_index


async def test_downgrade_base_removes_every_table_of_ours(
    fresh_url: str, engine: AsyncEngine
) -> None:
    await upgrade(fresh_url)

    await downgrade(fresh_url)

    schema = await schema_of(engine)
    assert schema["tables"] <= {"alembic_version"}
    assert await recorded_revisions(engine) == []
    assert await postgres_search_index(engine) is None


async def test_upgrade_after_downgrade_builds_the_same_schema_again(
    fresh_url: str, engine: AsyncEngine
) -> None:
    await upgrade(fresh_url)
    first = await schema_of(engine)
    search_index = await postgres_search_index(engine)

    await downgrade(fresh_url)
    await upgrade(fresh_url)

    assert await schema_of(engine) == first
    assert await recorded_revisions(engine) == [head_revision()]
    assert await postgres_search_index(engine) == search_index


async def register_and_post(client: httpx.AsyncClient) -> tuple[dict[str, str], dict[str, Any]]:
    email = f"migrated-{uuid.uuid4().hex[:8]}@example.com"
    user = await client.post("/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert user.status_code == 201, user.text
    login = await client.post("/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    key = await client.post("/v1/api-keys", json={"name": "after upgrade"}, headers=headers)
    assert key.status_code == 201, key.text
    created = await client.post(
        "/v1/posts",
        json={
            "title": "Zürich 🚀 notes",
            "body": "Multi-line\nbody with emoji 👩‍💻 and quotes \"'",
            "campaign": "launch",
            "tags": ["#AI", "Growth"],
            "status": "scheduled",
            "scheduled_at": "2099-01-31T09:30:00+01:00",
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    generated = await client.post("/v1/generate", json={"topic": "Notes"}, headers=headers)
    assert generated.status_code == 200, generated.text  # a row of AI usage
    job = await client.post(
        "/v1/jobs", json={"kind": "analyze", "items": [{"text": "Notes"}]}, headers=headers
    )
    assert job.status_code == 201, job.text  # a job and its item
    return headers, created.json()


async def test_data_written_after_upgrade_reads_back_the_same_and_survives_a_second_upgrade(
    fresh_url: str, engine: AsyncEngine
) -> None:
    await upgrade(fresh_url)
    app = create_app(make_settings(fresh_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            headers, post = await register_and_post(client)
            assert post["tags"] == ["ai", "growth"]
            assert post["scheduled_at"] == "2099-01-31T08:30:00Z"

            # What `linkedin-posts serve` does on every start: a no-op at head, data untouched.
            await upgrade(fresh_url)

            read = await client.get(f"/v1/posts/{post['id']}", headers=headers)
            assert read.status_code == 200
            assert read.json() == post
            by_tag = await client.get("/v1/posts", params={"tag": "growth"}, headers=headers)
            assert [p["id"] for p in by_tag.json()["items"]] == [post["id"]]
            found = await client.get("/v1/posts", params={"q": "emoji 👩‍💻"}, headers=headers)
            assert [p["id"] for p in found.json()["items"]] == [post["id"]]
            keys = await client.get("/v1/api-keys", headers=headers)
            assert [k["name"] for k in keys.json()["items"]] == ["after upgrade"]
    assert await recorded_revisions(engine) == [head_revision()]


async def test_deleting_a_user_deletes_their_posts_tags_keys_usage_and_jobs(
    fresh_url: str, engine: AsyncEngine
) -> None:
    await upgrade(fresh_url)
    app = create_app(make_settings(fresh_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await register_and_post(client)

    async with engine.begin() as conn:
        counts = [await conn.scalar(text(f"SELECT count(*) FROM {t}")) for t in sorted(OUR_TABLES)]
        # ai_usage, api_keys, job_items, jobs, post_tags, posts, users
        assert counts == [1, 1, 1, 1, 2, 1, 1]
        await conn.execute(text("DELETE FROM users"))
        counts = [await conn.scalar(text(f"SELECT count(*) FROM {t}")) for t in sorted(OUR_TABLES)]
    assert counts == [0] * len(OUR_TABLES)


def _differences(conn: Connection) -> list[Any]:
    # The options migrations/env.py compares with.
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _is_search_index(difference: Any) -> bool:
    return (
        isinstance(difference, tuple)
        and difference[0] == "remove_index"
        and difference[1].name == SEARCH_INDEX
    )


async def test_models_and_migrations_describe_the_same_schema(
    fresh_url: str, engine: AsyncEngine
) -> None:
    await upgrade(fresh_url)

    async with engine.connect() as conn:
        differences = await conn.run_sync(_differences)

    # The trigram index exists only in the migration, on purpose: SQLite has no equivalent, so
    # the models leave it out (see posts.models). Anything else is drift to fix.
    if engine.dialect.name == "postgresql":
        assert [d for d in differences if _is_search_index(d)], differences
    assert [d for d in differences if not _is_search_index(d)] == []


def test_readiness_reads_the_same_revisions_from_the_scripts_as_alembic() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config())
    scripts = migration_scripts.read_scripts()
    assert scripts.heads == frozenset(script.get_heads())
    assert scripts.known == frozenset(rev.revision for rev in script.walk_revisions())


def test_a_merge_script_makes_one_head_of_two_branches(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    scripts = {
        "a": 'revision = "a"\ndown_revision = None\n',
        "b": 'revision: str = "b"\ndown_revision: str | None = "a"\n',
        "c": 'revision = "c"\ndown_revision = "a"\n',
        "m": 'revision = "m"\ndown_revision = ("b", "c")\n',
    }
    for name, source in scripts.items():
        (versions / f"{name}.py").write_text(f'"""{name}"""\nimport sqlalchemy\n{source}')
    read = migration_scripts.read_scripts(tmp_path)
    assert read.heads == {"m"}
    assert read.known == {"a", "b", "c", "m"}
    (versions / "m.py").unlink()
    assert migration_scripts.read_scripts(tmp_path).heads == {"b", "c"}
