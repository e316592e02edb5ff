import uuid
from typing import Annotated

from fastapi import Depends, Header, Path

from linkedin_posts.auth.dependencies import CurrentUser
from linkedin_posts.database import SessionDep
from linkedin_posts.posts import service
from linkedin_posts.posts.models import Post


async def load_owned_post(
    post_id: Annotated[uuid.UUID, Path()], user: CurrentUser, session: SessionDep
) -> Post:
    return await service.get(session, owner_id=user.id, post_id=post_id)


# Someone else's post is a 404: the owner is part of the lookup.
EditablePost = Annotated[Post, Depends(load_owned_post)]
# Longer conditional headers are refused (422), not compared.
MAX_CONDITION_LENGTH = 256
IfMatch = Annotated[
    str | None,
    Header(
        max_length=MAX_CONDITION_LENGTH,
        description='Only act if the post is still at this version (its ETag, e.g. "3").',
    ),
]
IfNoneMatch = Annotated[str | None, Header(max_length=MAX_CONDITION_LENGTH)]
