"""Every post of one owner as one CSV or JSON file, streamed: memory stays flat at any count.

The columns (keys) are those the import reads, so an export imports as it is; the import skips
the read-only id, created_at and updated_at. Newest first, as GET /v1/posts lists them.
"""

import csv
import io
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Literal

import orjson
from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from linkedin_posts.posts.csv_cells import as_text
from linkedin_posts.posts.models import Post
from linkedin_posts.types import utcnow

ExportFormat = Literal["csv", "json"]
Sessions = Callable[[], AbstractAsyncContextManager[AsyncSession]]

COLUMNS = (
    "id",
    "title",
    "body",
    "status",
    "visibility",
    "campaign",
    "tags",
    "scheduled_at",
    "created_at",
    "updated_at",
)
MEDIA_TYPES: dict[ExportFormat, str] = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}
# Rows per query: large enough that the queries cost little next to the encoding, small enough
# that a batch of 3000-character posts stays a few MB.
BATCH_SIZE = 500
TAG_SEPARATOR = ", "
_SELECTED = [Post.__table__.c[name] for name in COLUMNS]


def filename(export_format: ExportFormat) -> str:
    return f"posts-{utcnow().date().isoformat()}.{export_format}"


async def stream(
    open_session: Sessions,
    *,
    owner_id: uuid.UUID,
    export_format: ExportFormat,
    batch_size: int = BATCH_SIZE,
) -> AsyncIterator[bytes]:
    """The file, as chunks of bytes for a StreamingResponse.

    The first batch is read before this returns, so a database that is down answers as an
    error (503) rather than as a 200 cut short.
    """
    batches = _batches(open_session, owner_id=owner_id, batch_size=batch_size)
    first = await anext(batches)
    encode = _csv if export_format == "csv" else _json
    return encode(_chain(first, batches))


async def _batches(
    open_session: Sessions, *, owner_id: uuid.UUID, batch_size: int
) -> AsyncIterator[Sequence[Row[Any]]]:
    """The owner's posts newest first, by keyset on id: each query starts at an index seek.

    Always yields at least one batch, empty for an owner without posts.
    """
    after: uuid.UUID | None = None
    while True:
        query = select(*_SELECTED).where(Post.owner_id == owner_id)
        if after is not None:
            query = query.where(Post.id < after)
        # A session per batch: no pooled connection (nor SQLite read snapshot) is held while
        # a slow client downloads the batch before.
        async with open_session() as session:
            result = await session.execute(query.order_by(Post.id.desc()).limit(batch_size))
            rows = result.all()
        yield rows
        if len(rows) < batch_size:
            return
        after = rows[-1].id


async def _chain(
    first: Sequence[Row[Any]], rest: AsyncIterator[Sequence[Row[Any]]]
) -> AsyncIterator[Sequence[Row[Any]]]:
    yield first
    async for batch in rest:
        yield batch


def _iso(value: datetime | None) -> str:
    # UTC as the API writes it (pydantic): a Z, not +00:00.
    return "" if value is None else value.isoformat().replace("+00:00", "Z")


async def _csv(batches: AsyncIterator[Sequence[Row[Any]]]) -> AsyncIterator[bytes]:
    # RFC 4180: CRLF line ends; a cell with a comma, quote or line break is quoted. Text cells
    # that a spreadsheet would run as a formula are written as text (csv_cells.py).
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    async for batch in batches:
        writer.writerows(
            (
                str(row.id),
                as_text(row.title or ""),
                as_text(row.body),
                row.status,
                row.visibility,
                as_text(row.campaign or ""),
                as_text(TAG_SEPARATOR.join(row.tags)),
                _iso(row.scheduled_at),
                _iso(row.created_at),
                _iso(row.updated_at),
            )
            for row in batch
        )
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()


async def _json(batches: AsyncIterator[Sequence[Row[Any]]]) -> AsyncIterator[bytes]:
    separator = b"["
    async for batch in batches:
        if batch:
            # One array per batch, its brackets dropped: the batch's objects, comma-separated.
            # str(id): asyncpg's UUID class is not the uuid.UUID orjson knows.
            objects = orjson.dumps(
                [{**row._asdict(), "id": str(row.id)} for row in batch], option=orjson.OPT_UTC_Z
            )
            yield separator + objects[1:-1]
            separator = b","
    yield b"[]" if separator == b"[" else b"]"
