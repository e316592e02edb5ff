"""Posts: create, read, update, delete and list, always scoped to their owner."""

import base64
import hashlib
import re
import secrets
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager

from sqlalchemy import Select, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from linkedin_posts.cache import codecs, invalidate_after_commit, keys
from linkedin_posts.cache.codecs import EncodedResponse
from linkedin_posts.cache.tiered import Level, TieredCache
from linkedin_posts.posts.exceptions import (
    InvalidCursor,
    InvalidSchedule,
    PostEditConflict,
    PostNotFound,
    PostVersionMismatch,
)
from linkedin_posts.posts.models import Post, PostTag, search_document
from linkedin_posts.posts.schemas import (
    CURSOR_PATTERN,
    PostCreate,
    PostFilters,
    PostPage,
    PostRead,
    PostUpdate,
    schedule_error,
)
from linkedin_posts.reader import Reader, ReadQuery
from linkedin_posts.replica import one_tolerating_lag

_CURSOR_VERSION = b"\x01"
_CURSOR = re.compile(CURSOR_PATTERN)


async def create(session: AsyncSession, *, owner_id: uuid.UUID, data: PostCreate) -> Post:
    post = Post(owner_id=owner_id, **data.model_dump())
    session.add(post)
    await session.flush()
    await _write_tags(session, post=post)
    invalidate_after_commit(session, keys.list_version(owner_id))
    return post


# The owner is part of the lookup: someone else's post does not exist for this caller.
# Built once: constructing a statement costs more CPU than running it.
_OWNED_POST = select(Post).where(
    Post.id == bindparam("post_id"), Post.owner_id == bindparam("owner_id")
)


_OWNED_POST_ROW = ReadQuery(
    select(Post.__table__).where(
        Post.id == bindparam("post_id"), Post.owner_id == bindparam("owner_id")
    )
)


async def get(session: AsyncSession, *, owner_id: uuid.UUID, post_id: uuid.UUID) -> Post:
    """Load the post into the session, to change or delete it."""
    post = await session.scalar(_OWNED_POST, {"post_id": post_id, "owner_id": owner_id})
    if post is None:
        raise PostNotFound("No such post.")
    return post


def encode(post: PostRead) -> EncodedResponse:
    return EncodedResponse(body=_POST_JSON.to_json(post), etag=f'"{post.version}"')


# Posts read per query by `warm`.
WARM_CHUNK = 500
_POST_JSON = PostRead.__pydantic_serializer__
_PAGE_JSON = PostPage.__pydantic_serializer__


async def read_encoded(
    reader: Reader, cache: TieredCache | None, *, owner_id: uuid.UUID, post_id: uuid.UUID
) -> tuple[EncodedResponse, Level]:
    """The post as the JSON GET /v1/posts/{id} sends, through the cache.

    A miss may be read from the replica, unless the owner wrote a moment ago (replica.py).
    """

    async def load() -> EncodedResponse | None:
        row = await one_tolerating_lag(
            reader, owner_id, _OWNED_POST_ROW, post_id=post_id, owner_id=owner_id
        )
        return None if row is None else encode(PostRead.model_validate(dict(row)))

    if cache is None:
        found, level = await load(), Level.MISS
    else:
        found, level = await cache.get_or_load(keys.post(owner_id, post_id), load, codecs.RESPONSE)
    if found is None:
        raise PostNotFound("No such post.")
    return found, level


async def read(
    reader: Reader, cache: TieredCache | None, *, owner_id: uuid.UUID, post_id: uuid.UUID
) -> PostRead:
    """The post, through the cache: for the domains that work on a post (analysis, LinkedIn)."""
    found, _ = await read_encoded(reader, cache, owner_id=owner_id, post_id=post_id)
    return PostRead.model_validate_json(found.body)


async def list_encoded(
    open_session: Callable[[], AbstractAsyncContextManager[AsyncSession]],
    cache: TieredCache | None,
    *,
    owner_id: uuid.UUID,
    filters: PostFilters,
) -> tuple[EncodedResponse, Level]:
    """A page as GET /v1/posts sends it, kept under the owner's current list version.

    The page is read in a session of its own: in the cache's single flight it may outlive the
    request that started it. The caller's sessions may be the replica's
    (replica.sessions_tolerating_lag): only a miss opens one, and it chooses then.
    """

    async def load() -> EncodedResponse:
        async with open_session() as session:
            posts, next_cursor = await list_page(session, owner_id=owner_id, filters=filters)
        page = PostPage(items=[PostRead.model_validate(p) for p in posts], next_cursor=next_cursor)
        body = _PAGE_JSON.to_json(page)
        digest = hashlib.blake2b(body, digest_size=12).hexdigest()
        return EncodedResponse(body=body, etag=f'W/"{digest}"')

    if cache is None:
        return await load(), Level.MISS
    version, _ = await cache.get_or_load(keys.list_version(owner_id), _new_version, codecs.TEXT)
    assert version is not None
    query = filters.model_dump_json(exclude_none=True)
    key = keys.list_page(owner_id, version, query)
    page, level = await cache.get_or_load(key, load, codecs.RESPONSE)
    assert page is not None
    return page, level


async def warm(
    open_session: Callable[[], AbstractAsyncContextManager[AsyncSession]],
    cache: TieredCache,
    count: int,
) -> int:
    """Put the `count` newest posts in memory, as GET /v1/posts/{id} would; returns how many.

    Newest by id (UUIDv7, creation time): the primary key's index reads them directly, where
    ordering by updated_at would sort the whole table at every start of every worker.
    """
    warmed = 0
    last_id = None
    newest_first = select(Post).order_by(Post.id.desc())
    async with open_session() as session:
        while warmed < count:
            query = newest_first.limit(min(WARM_CHUNK, count - warmed))
            if last_id is not None:
                query = query.where(Post.id < last_id)
            posts = (await session.scalars(query)).all()
            for post in posts:
                value = encode(PostRead.model_validate(post))
                cache.remember(keys.post(post.owner_id, post.id), value, codecs.RESPONSE)
            warmed += len(posts)
            if len(posts) < WARM_CHUNK:
                break
            last_id = posts[-1].id
            # A chunk's rows are garbage once encoded: memory then holds one chunk at a time,
            # not 10,000 ORM objects that would leave the heap ~10 MB larger for good.
            session.expunge_all()
            del posts
    return warmed


async def _new_version() -> str:
    # Random, not a counter: a version evicted from memory and made again never names old pages.
    return secrets.token_hex(8)


def matches_version(header: str, version: int) -> bool:
    """Whether an If-Match / If-None-Match header names this version (or is `*`)."""
    current = str(version)
    return any(
        tag.strip().removeprefix("W/").strip('"') in ("*", current) for tag in header.split(",")
    )


def check_version(post: Post, if_match: str | None) -> None:
    """Raise 412 unless If-Match is absent, `*`, or names the current version."""
    if if_match is None or matches_version(if_match, post.version):
        return
    raise PostVersionMismatch(
        f"The post has changed; it is now at version {post.version}.", current_version=post.version
    )


async def update(
    session: AsyncSession, *, post: Post, changes: PostUpdate, if_match: str | None = None
) -> Post:
    check_version(post, if_match)
    values = changes.changes()
    if "status" in values or "scheduled_at" in values:
        error = schedule_error(
            values.get("status", post.status), values.get("scheduled_at", post.scheduled_at)
        )
        if error:
            raise InvalidSchedule(error)
    if not values:
        return post
    for name, value in values.items():
        setattr(post, name, value)
    try:
        await session.flush()
    except StaleDataError as exc:
        # Someone else's write landed between our read and our UPDATE ... WHERE version = n.
        if if_match is not None:
            raise PostVersionMismatch("The post was changed by another request.") from exc
        raise PostEditConflict("The post was changed by another request; retry.") from exc
    if "tags" in values:
        await _write_tags(session, post=post, replace=True)
    _invalidate(session, post)
    return post


def _invalidate(session: AsyncSession, post: Post) -> None:
    invalidate_after_commit(
        session, keys.post(post.owner_id, post.id), keys.list_version(post.owner_id)
    )


async def remove(session: AsyncSession, *, post: Post, if_match: str | None = None) -> None:
    check_version(post, if_match)
    await session.delete(post)
    try:
        await session.flush()
    except StaleDataError as exc:
        # As in update: without If-Match no precondition can fail, so this is a conflict.
        if if_match is not None:
            raise PostVersionMismatch("The post was changed by another request.") from exc
        raise PostEditConflict("The post was changed by another request; retry.") from exc
    _invalidate(session, post)


async def list_page(
    session: AsyncSession, *, owner_id: uuid.UUID, filters: PostFilters
) -> tuple[Sequence[Post], str | None]:
    """One page, newest first, and the cursor of the next page (None on the last one)."""
    query = _filtered(owner_id, filters)
    if filters.cursor is not None:
        query = query.where(Post.id < decode_cursor(filters.cursor))
    # Ask for one more row than the page holds to learn whether a next page exists.
    rows = (await session.scalars(query.order_by(Post.id.desc()).limit(filters.limit + 1))).all()
    page = rows[: filters.limit]
    next_cursor = encode_cursor(page[-1].id) if len(rows) > filters.limit else None
    return page, next_cursor


def _filtered(owner_id: uuid.UUID, filters: PostFilters) -> Select[Post]:
    query = select(Post).where(Post.owner_id == owner_id)
    if filters.tag is not None:
        query = query.join(
            PostTag,
            (PostTag.post_id == Post.id)
            & (PostTag.owner_id == owner_id)
            & (PostTag.tag == filters.tag),
        )
    if filters.status is not None:
        query = query.where(Post.status == filters.status)
    if filters.campaign is not None:
        query = query.where(Post.campaign == filters.campaign)
    if filters.created_after is not None:
        query = query.where(Post.created_at >= filters.created_after)
    if filters.created_before is not None:
        query = query.where(Post.created_at < filters.created_before)
    if filters.q is not None:
        query = query.where(
            search_document(Post.title, Post.body).ilike(
                f"%{_escape_like(filters.q)}%", escape="\\"
            )
        )
    return query


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def encode_cursor(post_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(_CURSOR_VERSION + post_id.bytes).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> uuid.UUID:
    # Every string of the documented shape decodes to the version byte and a UUID; the check comes
    # first because the lenient base64 decoder would skip stray characters.
    if not _CURSOR.fullmatch(cursor):
        raise InvalidCursor("The cursor is not one this API returned.")
    raw = base64.urlsafe_b64decode(cursor + "=")
    return uuid.UUID(bytes=raw[1:])


async def _write_tags(session: AsyncSession, *, post: Post, replace: bool = False) -> None:
    if replace:
        await session.execute(delete(PostTag).where(PostTag.post_id == post.id))
    session.add_all(PostTag(post_id=post.id, tag=tag, owner_id=post.owner_id) for tag in post.tags)
    await session.flush()
