"""The body of LinkedIn's `POST /rest/posts` for a text-only post."""

import re
from typing import Any

from linkedin_posts.linkedin.little_text import ENTITY_URN, escape
from linkedin_posts.posts.models import Visibility

# For a FastAPI query parameter. pydantic (Rust regex) and JSON Schema (ECMA-262) read `$` as
# the end of the string; Python's re also lets it match before a final newline, so Python code
# checks with re.fullmatch.
AUTHOR_URN_PATTERN = f"^{ENTITY_URN}$"
_AUTHOR_URN = re.compile(ENTITY_URN)


def post_payload(*, author: str, text: str, visibility: str) -> dict[str, Any]:
    """Build the Posts API body that publishes `text` to the author's main feed."""
    if not _AUTHOR_URN.fullmatch(author):
        raise ValueError(f"author must be a person or organization URN, not {author!r}")
    # Field for field the "Text-Only Post Creation Sample Request" of LinkedIn's Posts API docs
    # (learn.microsoft.com/linkedin/marketing/community-management/shares/posts-api).
    return {
        "author": author,
        "commentary": escape(text),
        "visibility": Visibility(visibility).value,
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
