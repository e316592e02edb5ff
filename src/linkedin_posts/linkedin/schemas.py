from typing import Any, Literal

from pydantic import BaseModel, Field

from linkedin_posts.posts.models import Visibility


class Distribution(BaseModel):  # camelCase: LinkedIn's own field names
    feedDistribution: Literal["MAIN_FEED"]
    targetEntities: list[Any]
    thirdPartyDistributionChannels: list[Any]


class PostPayload(BaseModel):
    """LinkedIn Posts API's body for a text-only post, field for field."""

    author: str
    commentary: str = Field(description="The post text in LinkedIn's little text format.")
    visibility: Visibility
    distribution: Distribution
    lifecycleState: Literal["PUBLISHED"]
    isReshareDisabledByAuthor: bool
