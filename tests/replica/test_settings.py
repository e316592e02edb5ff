"""LP_DATABASE_READ_URL and LP_DATABASE_READ_AFTER_WRITE_SECONDS as a deployment sets them."""

import pytest
from pydantic import ValidationError

from linkedin_posts.config import Settings

PRIMARY = "postgresql+asyncpg://app:pw@primary.internal/posts"
REDIS = "redis://redis.internal:6379/0"


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_unset_by_default_or_when_empty() -> None:
    assert settings().database_read_url is None
    assert settings(database_read_url="", database_url=PRIMARY).database_read_url is None
    assert settings().database_read_after_write_seconds == 5.0


@pytest.mark.parametrize(
    "given",
    [
        "postgresql+asyncpg://app:pw@replica.internal/posts",
        "postgresql://app:pw@replica.internal/posts",
    ],
)
def test_a_postgresql_url_is_read_with_asyncpg(given: str) -> None:
    configured = settings(database_url=PRIMARY, redis_url=REDIS, database_read_url=given)

    assert configured.database_read_url == "postgresql+asyncpg://app:pw@replica.internal/posts"


@pytest.mark.parametrize(
    "url",
    [
        "sqlite+aiosqlite:///var/replica.db",
        "mysql://app:s3cret@replica.internal/posts",
        "postgresql+psycopg://app:s3cret@replica.internal/posts",
        "replica.internal:5432",
    ],
)
def test_anything_but_postgresql_is_refused_without_echoing_it(url: str) -> None:
    with pytest.raises(ValidationError) as refused:
        settings(database_url=PRIMARY, redis_url=REDIS, database_read_url=url)

    message = str(refused.value)
    assert "LP_DATABASE_READ_URL must be a PostgreSQL URL" in message
    assert "s3cret" not in message
    assert "replica.internal" not in message


def test_a_replica_needs_a_postgresql_primary() -> None:
    with pytest.raises(ValidationError, match="needs LP_DATABASE_URL on PostgreSQL"):
        settings(redis_url=REDIS, database_read_url=PRIMARY)


def test_a_replica_needs_redis_for_read_your_writes_across_processes() -> None:
    with pytest.raises(ValidationError, match="needs LP_REDIS_URL"):
        settings(database_url=PRIMARY, database_read_url=PRIMARY)


@pytest.mark.parametrize("seconds", [0, 0.5, 301])
def test_the_window_is_bounded(seconds: float) -> None:
    with pytest.raises(ValidationError, match="database_read_after_write_seconds"):
        settings(database_read_after_write_seconds=seconds)
