import uuid
from datetime import datetime
from typing import Annotated, Any, Self

import regex
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from linkedin_posts import graphemes
from linkedin_posts.posts.models import PostStatus, Visibility
from linkedin_posts.types import utcnow
from linkedin_posts.validators import StorableText, UTCAwareDatetime

# LinkedIn counts what a reader sees: one emoji with skin tone or ZWJ sequence is one character.
MAX_BODY_GRAPHEMES = 3000
# A cheap guard before grapheme counting: no 3000-grapheme text needs more code points than this.
MAX_BODY_CODE_POINTS = 30_000
MAX_TAGS = 30
# What LinkedIn makes a hashtag of: letters, marks and digits of any script, '_', '-' and the
# joiners some scripts spell words with. Unicode property classes, as pydantic and JSON Schema
# validators read them alike; they read `\w` and `\s` differently.
TAG_PATTERN = r"^ *#?[\p{L}\p{M}\p{N}_\u200C\u200D-]{1,50} *$"
# The characters str.isspace() is true for: what _check_body strips.
_SPACE_CLASS = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# The body rules the schema can state: no NUL, and at least one character that is not a space.
BODY_PATTERN = rf"^[^\x00]*[^\x00{_SPACE_CLASS}][^\x00]*$"
# What posts.service.encode_cursor writes: unpadded base64url of the version byte 0x01 and a UUID.
# Every string of this shape decodes, so a cursor the schema allows is never refused.
CURSOR_PATTERN = r"^A[Q-Za-f][A-Za-z0-9_-]{21}$"


def count_graphemes(text: str) -> int:
    return graphemes.count(text)


def _check_body(body: str) -> str:
    if not body.strip():
        raise ValueError("must not be empty or only whitespace")
    graphemes = count_graphemes(body)
    if graphemes > MAX_BODY_GRAPHEMES:
        raise ValueError(
            f"is {graphemes} characters long; LinkedIn allows at most {MAX_BODY_GRAPHEMES}"
        )
    return body


# Checked here rather than as pydantic's `pattern`: pydantic-core's Rust regex made ~5.5 MB of
# automaton per process of the 50-fold repetition of these Unicode classes; `regex` does not.
_TAG = regex.compile(TAG_PATTERN)


def _normalize_tag(tag: str) -> str:
    if not _TAG.fullmatch(tag):
        raise ValueError("must be 1-50 letters, digits, '_' or '-', after an optional '#'")
    # "İ" is the one character whose lower case is two code points; as "i" the tag keeps the
    # length TAG_PATTERN checked, which the database column holds.
    return tag.strip(" ").removeprefix("#").replace("\u0130", "i").lower()


def _dedupe(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


Body = Annotated[
    StorableText,
    Field(
        min_length=1,
        max_length=MAX_BODY_CODE_POINTS,
        description=f"The post text, 1 to {MAX_BODY_GRAPHEMES} characters as a reader counts "
        "them (grapheme clusters).",
        json_schema_extra={"pattern": BODY_PATTERN},
    ),
    AfterValidator(_check_body),
]
Tag = Annotated[
    str,
    Field(
        max_length=51,
        description="1-50 letters, digits, '_' or '-'; a leading '#' is fine.",
        json_schema_extra={"pattern": TAG_PATTERN},
    ),
    AfterValidator(_normalize_tag),
]
Title = Annotated[StorableText, Field(max_length=200)]
Campaign = Annotated[StorableText, Field(min_length=1, max_length=100)]
Tags = Annotated[
    list[Tag],
    Field(max_length=MAX_TAGS, description="Lower-cased, de-duplicated, without '#'."),
    AfterValidator(_dedupe),
]


def schedule_error(status: str, scheduled_at: datetime | None) -> str | None:
    """Why a post with this status and time cannot be saved, or None when it can."""
    if status == PostStatus.SCHEDULED and (scheduled_at is None or scheduled_at <= utcnow()):
        return "a scheduled post needs scheduled_at in the future"
    return None


class PostCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: Body
    title: Title | None = None
    status: PostStatus = PostStatus.DRAFT
    visibility: Visibility = Visibility.PUBLIC
    campaign: Campaign | None = None
    tags: Tags = []
    scheduled_at: UTCAwareDatetime | None = None

    @model_validator(mode="after")
    def check_schedule(self) -> Self:
        if error := schedule_error(self.status, self.scheduled_at):
            raise ValueError(error)
        return self


# Fields that may be left out of a PATCH but never set to null.
_REQUIRED_FIELDS = ("body", "status", "visibility", "tags")


def _without_null(schema: dict[str, Any]) -> None:
    schema.update(next(choice for choice in schema.pop("anyOf") if choice != {"type": "null"}))


# Typed `X | None` so errors point at the field; `X | SkipJsonSchema[None]` made a union whose
# errors carried pydantic's internal member names (function reprs) in `loc`. The schema still
# documents no null, which check_nulls refuses.
_NOT_NULL = Field(json_schema_extra=_without_null)


class PostUpdate(BaseModel):
    """Only the fields sent are changed; `null` clears title, campaign and scheduled_at."""

    model_config = ConfigDict(extra="forbid")

    body: Annotated[Body | None, _NOT_NULL] = None
    title: Title | None = None
    status: Annotated[PostStatus | None, _NOT_NULL] = None
    visibility: Annotated[Visibility | None, _NOT_NULL] = None
    campaign: Campaign | None = None
    tags: Annotated[Tags | None, _NOT_NULL] = None
    scheduled_at: UTCAwareDatetime | None = None

    @model_validator(mode="after")
    def check_nulls(self) -> Self:
        for name in _REQUIRED_FIELDS:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class PostRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str | None
    body: str
    status: PostStatus
    visibility: Visibility
    campaign: str | None
    tags: list[str]
    scheduled_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int = Field(description="Incremented by every change; the ETag carries it.")


class PostPage(BaseModel):
    items: list[PostRead]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class PostFilters(BaseModel):
    """Query parameters of GET /v1/posts."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=20, ge=1, le=100)
    # Documented here, enforced by service.decode_cursor with a 400 invalid_cursor.
    cursor: (
        Annotated[str, Field(max_length=64, json_schema_extra={"pattern": CURSOR_PATTERN})] | None
    ) = Field(default=None, description="The `next_cursor` of the previous page.")
    status: PostStatus | None = None
    campaign: Campaign | None = None
    tag: Tag | None = None
    created_after: UTCAwareDatetime | None = Field(default=None, description="Inclusive.")
    created_before: UTCAwareDatetime | None = Field(default=None, description="Exclusive.")
    q: Annotated[StorableText, Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="Case-insensitive text search in title and body."
    )
