import uuid
from typing import Annotated

from fastapi import Depends, Header, Path, Request

from linkedin_posts.auth.dependencies import CurrentUser
from linkedin_posts.database import SessionDep
from linkedin_posts.posts import service
from linkedin_posts.posts.models import Post
from linkedin_posts.posts.schemas import PostRead
from linkedin_posts.reader import Reader


async def read_owned_post(
    request: Request, post_id: Annotated[uuid.UUID, Path()], user: CurrentUser
) -> PostRead:
    reader: Reader = request.app.state.reader  # not a sub-dependency: see get_current_user
    return await service.read(reader, owner_id=user.id, post_id=post_id)


async def load_owned_post(
    post_id: Annotated[uuid.UUID, Path()], user: CurrentUser, session: SessionDep
) -> Post:
    return await service.get(session, owner_id=user.id, post_id=post_id)


# Someone else's post is a 404 in both: the owner is part of the lookup.
ValidPost = Annotated[PostRead, Depends(read_owned_post)]
EditablePost = Annotated[Post, Depends(load_owned_post)]
IfMatch = Annotated[
    str | None,
    Header(
        max_length=256,
        description='Only act if the post is still at this version (its ETag, e.g. "3").',
    ),
]
IfNoneMatch = Annotated[str | None, Header(max_length=256)]
