import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from linkedin_posts.auth.dependencies import CurrentUser
from linkedin_posts.cache.http import cached_response
from linkedin_posts.database import SessionDep
from linkedin_posts.dependencies import require_json, single_valued_query
from linkedin_posts.errors import problem_responses
from linkedin_posts.posts import export, service
from linkedin_posts.posts.dependencies import EditablePost, IfMatch, IfNoneMatch
from linkedin_posts.posts.exceptions import ExportMethodNotAllowed
from linkedin_posts.posts.models import Post
from linkedin_posts.posts.schemas import PostCreate, PostFilters, PostPage, PostRead, PostUpdate
from linkedin_posts.replica import sessions_tolerating_lag

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
        sessions_tolerating_lag(request, user.id),
        request.app.state.cache,
        owner_id=user.id,
        filters=filters,
    )
    request.state.cache = level.value  # for the access log
    return cached_response(page, level, if_none_match)


_EXPORT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Every post of the caller, newest first, as one file: CSV with the header "
        f"{','.join(export.COLUMNS)} (tags joined with ', '), or a JSON array of objects with "
        "those keys. Both import as they are.",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/json": {
                "schema": {
                    "type": "array",
                    "items": {"type": "object", "required": list(export.COLUMNS)},
                }
            },
        },
        "headers": {
            "Content-Disposition": {
                "description": 'attachment; filename="posts-<date>.csv" (or .json)',
                "schema": {"type": "string"},
            }
        },
    }
}


# Before /{post_id}, which would read "export" as an id.
@router.get(
    "/export",
    response_class=StreamingResponse,
    dependencies=[Depends(single_valued_query)],
    responses=_EXPORT,
)
async def export_posts(
    user: CurrentUser,
    request: Request,
    export_format: Annotated[
        export.ExportFormat, Query(alias="format", description="The file's format.")
    ] = "json",
) -> StreamingResponse:
    """Download all your posts as one file, to keep or to import elsewhere."""
    # Sessions of its own, opened as it goes: the body is sent after this handler returns.
    body = await export.stream(
        sessions_tolerating_lag(request, user.id), owner_id=user.id, export_format=export_format
    )
    return StreamingResponse(
        body,
        media_type=export.MEDIA_TYPES[export_format],
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename(export_format)}"',
            "Cache-Control": "private, no-store",
        },
    )


@router.api_route("/export", methods=["POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
async def export_other_methods() -> None:
    # Without it, the /{post_id} routes would answer these as if "export" were a bad id.
    raise ExportMethodNotAllowed("Only GET is allowed here.")


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
