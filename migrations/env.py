"""Alembic environment: async engines for both PostgreSQL and SQLite."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from linkedin_posts.auth import models as auth_models  # noqa: F401  (registers the tables)
from linkedin_posts.config import get_settings
from linkedin_posts.database import Base, create_engine
from linkedin_posts.generation import models as generation_models  # noqa: F401
from linkedin_posts.jobs import models as jobs_models  # noqa: F401
from linkedin_posts.posts import models as posts_models  # noqa: F401

config = context.config
target_metadata = Base.metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async(url: str) -> None:
    settings = get_settings().model_copy(update={"database_url": url})
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_on)
            await connection.commit()
    finally:
        await engine.dispose()


def main() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    asyncio.run(run_async(url))


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported; run them against a database.")
main()
