import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from linkedin_posts.auth.dependencies import CurrentUser
from linkedin_posts.cache.http import cached_response
from linkedin_posts.database import SessionDep, read_sessions
from linkedin_posts.dependencies import require_json, single_valued_query
from linkedin_posts.errors import problem_responses
from linkedin_posts.posts import service
from linkedin_posts.posts.dependencies import EditablePost, IfMatch, IfNoneMatch
from linkedin_posts.posts.models import Post
from linkedin_posts.posts.schemas import PostCreate, PostFilters, PostPage, PostRead, PostUpdate

router = APIRouter(
    prefix="/posts",
    tags=["posts"],
    responses=problem_responses(401, 422, 429),
)

_ETAG_HEADER = {"ETag": {"description": "The post's version, for If-Match and If-None-Match."}}
_CACHED_HEADERS = {
    "ETag": {"description": "For If-None-Match (a post's ETag is its version)."},
    "X-Cache": {"description": "HIT-L1 (memory), HIT-L2 (Redis) or MISS (database)."},
}
_NOT_MODIFIED = {"description": "Not modified: If-None-Match names the current version."}


def etag(post: Post | PostRead) -> str:
    return f'"{post.version}"'


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PostRead,
    dependencies=[Depends(require_json)],
    responses={201: {"headers": _ETAG_HEADER}, **problem_responses(400, 415)},
)
async def create_post(
    data: PostCreate, user: CurrentUser, session: SessionDep, response: Response
) -> Post:
    post = await service.create(session, owner_id=user.id, data=data)
    response.headers["Location"] = f"/v1/posts/{post.id}"
    response.headers["ETag"] = etag(post)
    return post


@router.get(
    "",
    response_model=PostPage,
    dependencies=[Depends(single_valued_query)],
    responses={200: {"headers": _CACHED_HEADERS}, 304: _NOT_MODIFIED, **problem_responses(400)},
)
async def list_posts(
    filters: Annotated[PostFilters, Query()],
    user: CurrentUser,
    request: Request,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """Newest first, one page at a time: follow `next_cursor` until it is null."""
    page, level = await service.list_encoded(
        read_sessions(request), request.app.state.cache, owner_id=user.id, filters=filters
    )
    request.state.cache = level.value  # for the access log
    return cached_response(page, level, if_none_match)


@router.get(
    "/{post_id}",
    response_model=PostRead,
    responses={200: {"headers": _CACHED_HEADERS}, 304: _NOT_MODIFIED, **problem_responses(404)},
)
async def read_post(
    post_id: uuid.UUID, user: CurrentUser, request: Request, if_none_match: IfNoneMatch = None
) -> Response:
    state = request.app.state  # not sub-dependencies: see get_current_user
    post, level = await service.read_encoded(
        state.reader, state.cache, owner_id=user.id, post_id=post_id
    )
    request.state.cache = level.value
    return cached_response(post, level, if_none_match)


@router.patch(
    "/{post_id}",
    response_model=PostRead,
    dependencies=[Depends(require_json)],
    responses={200: {"headers": _ETAG_HEADER}, **problem_responses(400, 404, 409, 412, 415)},
)
async def update_post(
    post: EditablePost,
    changes: PostUpdate,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> Post:
    """Change the fields sent. Send `If-Match` with the ETag you read to avoid lost updates."""
    post = await service.update(session, post=post, changes=changes, if_match=if_match)
    response.headers["ETag"] = etag(post)
    return post


@router.delete(
    "/{post_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404, 409, 412),
)
async def delete_post(post: EditablePost, session: SessionDep, if_match: IfMatch = None) -> None:
    await service.remove(session, post=post, if_match=if_match)
