import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from linkedin_posts.auth.dependencies import CurrentUser
from linkedin_posts.dependencies import single_valued_query
from linkedin_posts.errors import problem_responses
from linkedin_posts.linkedin import payload
from linkedin_posts.linkedin.schemas import PostPayload
from linkedin_posts.posts import service as posts_service

router = APIRouter(tags=["linkedin"], responses=problem_responses(401, 422, 429))

AuthorUrn = Annotated[
    str,
    Query(
        max_length=100,
        pattern=payload.AUTHOR_URN_PATTERN,
        description="Who publishes: urn:li:person:{id} or urn:li:organization:{id}.",
        examples=["urn:li:person:8675309"],
    ),
]


@router.get(
    "/posts/{post_id}/linkedin-payload",
    response_model=PostPayload,
    dependencies=[Depends(single_valued_query)],
    responses=problem_responses(400, 404),
)
async def read_linkedin_payload(
    post_id: uuid.UUID, author: AuthorUrn, user: CurrentUser, request: Request
) -> dict[str, Any]:
    """The exact body of LinkedIn's `POST /rest/posts` that publishing this post sends.

    The text is written in LinkedIn's "little text" format: reserved characters escaped,
    hashtags as `{hashtag|\\#|tag}` templates, mentions kept.
    """
    state = request.app.state
    post = await posts_service.read(state.reader, state.cache, owner_id=user.id, post_id=post_id)
    return payload.post_payload(author=author, text=post.body, visibility=post.visibility)
