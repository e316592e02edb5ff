"""Run Alembic migrations from code (the CLI, `serve` in the embedded shape, and tests)."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

import linkedin_posts

_PACKAGE_DIR = Path(linkedin_posts.__file__).resolve().parent


def migrations_dir() -> Path:
    # A wheel carries them inside the package; a source checkout keeps them at the top.
    bundled = _PACKAGE_DIR / "_migrations"
    return bundled if bundled.is_dir() else _PACKAGE_DIR.parent.parent / "migrations"


def alembic_config(database_url: str | None = None, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    if database_url is not None:
        # ConfigParser treats % as interpolation; escape it so passwords with % survive.
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def upgrade_on(connection: Connection, revision: str = "head") -> None:
    command.upgrade(alembic_config(connection=connection), revision)


def downgrade_on(connection: Connection, revision: str = "base") -> None:
    command.downgrade(alembic_config(connection=connection), revision)
