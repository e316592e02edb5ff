"""Provider tokens per user and day: recorded after each generation, read for quotas and reports."""

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from linkedin_posts.generation.models import AiUsage
from linkedin_posts.generation.providers.base import Usage


def today() -> date:
    return datetime.now(UTC).date()


def seconds_until_tomorrow() -> int:
    now = datetime.now(UTC)
    tomorrow = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    return max(1, int((tomorrow - now).total_seconds()))


async def record(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    provider: str,
    model: str,
    usage: Usage,
    cached: bool,
) -> None:
    """Add one request to the user's row for today: one statement, safe under concurrency."""
    values = {
        "user_id": user_id,
        "day": today(),
        "provider": provider,
        "model": model,
        "requests": 1,
        "cached_requests": int(cached),
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
    }
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(AiUsage).values(values)
    added = statement.excluded
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id", "day", "provider", "model"],
            set_={
                "requests": AiUsage.requests + added.requests,
                "cached_requests": AiUsage.cached_requests + added.cached_requests,
                "prompt_tokens": AiUsage.prompt_tokens + added.prompt_tokens,
                "completion_tokens": AiUsage.completion_tokens + added.completion_tokens,
            },
        )
    )


async def tokens_today(session: AsyncSession, *, user_id: uuid.UUID) -> int:
    spent = await session.scalar(
        select(func.coalesce(func.sum(AiUsage.prompt_tokens + AiUsage.completion_tokens), 0)).where(
            AiUsage.user_id == user_id, AiUsage.day == today()
        )
    )
    return int(spent or 0)


async def days(session: AsyncSession, *, user_id: uuid.UUID, last: int) -> list[AiUsage]:
    """The user's rows of the last `last` days, today included, newest first."""
    since = today() - timedelta(days=last - 1)
    rows = await session.scalars(
        select(AiUsage)
        .where(AiUsage.user_id == user_id, AiUsage.day >= since)
        .order_by(AiUsage.day.desc(), AiUsage.provider, AiUsage.model)
    )
    return list(rows)
