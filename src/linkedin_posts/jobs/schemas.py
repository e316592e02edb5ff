import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from linkedin_posts.analysis.schemas import AnalyzedText, LanguageCode
from linkedin_posts.generation.schemas import GenerateRequest
from linkedin_posts.jobs.models import ItemStatus, JobKind, JobStatus
from linkedin_posts.validators import whole_number

# The schema's own ceiling; the configured one (LP_JOBS_MAX_ITEMS, at most this) answers 413.
ITEMS_CEILING = 100_000
PRIORITIES = {"low": 0, "normal": 1, "high": 2}
PRIORITY_NAMES = {value: name for name, value in PRIORITIES.items()}
Priority = Literal["low", "normal", "high"]


Concurrency = Annotated[int, Field(strict=True, ge=1, le=256), BeforeValidator(whole_number)]


class AnalyzeText(BaseModel):
    """A text to analyse."""

    model_config = ConfigDict(extra="forbid")

    text: AnalyzedText
    language: LanguageCode | None = None


class AnalyzePost(BaseModel):
    """One of your posts, by id (a re-score of your library)."""

    model_config = ConfigDict(extra="forbid")

    post_id: uuid.UUID
    language: LanguageCode | None = None


AnalyzeItem = AnalyzeText | AnalyzePost


class _JobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    priority: Priority = Field(
        default="normal", description="Higher runs first; small jobs overtake large ones too."
    )
    concurrency: Concurrency | None = Field(
        default=None,
        description="Items at once; default LP_JOBS_DEFAULT_CONCURRENCY, capped by "
        "LP_JOBS_MAX_CONCURRENCY. Generation adapts below it to the provider.",
    )


class GenerateJobCreate(_JobCreate):
    kind: Literal["generate"]
    items: list[GenerateRequest] = Field(
        min_length=1, max_length=ITEMS_CEILING, description="One brief per item."
    )


class AnalyzeJobCreate(_JobCreate):
    kind: Literal["analyze"]
    items: list[AnalyzeItem] = Field(min_length=1, max_length=ITEMS_CEILING)


class ImportJobCreate(_JobCreate):
    kind: Literal["import"]
    # Rows, validated one by one: a bad row is a failed item with its reason, not a 422.
    items: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=ITEMS_CEILING,
        description="Posts as POST /v1/posts takes them (tags may also be one string).",
    )


JobCreate = Annotated[
    GenerateJobCreate | AnalyzeJobCreate | ImportJobCreate, Field(discriminator="kind")
]


class JobRead(BaseModel):
    id: uuid.UUID
    kind: JobKind
    status: JobStatus
    priority: Priority
    concurrency: int
    total: int = Field(description="Items in the job.")
    done: int = Field(description="Items finished, whether they succeeded or failed.")
    succeeded: int
    failed: int
    cancel_requested: bool
    rate_per_second: float | None = Field(description="Items finished per second so far.")
    eta_seconds: float | None = Field(description="At that rate, until the last item is done.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobPage(BaseModel):
    items: list[JobRead]
    next_cursor: str | None


class JobItemRead(BaseModel):
    index: int = Field(description="Its place in the submitted list, from 0.")
    row: int | None = Field(description="For an import: the row of the file, as in its errors.")
    status: ItemStatus
    attempts: int
    result: dict[str, Any] | None
    error: dict[str, Any] | None = Field(description="A problem document: code and detail.")
    finished_at: datetime | None


class JobItemPage(BaseModel):
    items: list[JobItemRead]
    next_cursor: str | None


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=50, ge=1, le=500)
    cursor: uuid.UUID | None = Field(
        default=None, description="The `next_cursor` of the previous page."
    )


class ItemQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=50, ge=1, le=500)
    cursor: Annotated[str, Field(pattern=r"^[0-9]{1,9}$")] | None = Field(
        default=None, description="The `next_cursor` of the previous page."
    )
    status: ItemStatus | None = None


class JobStats(BaseModel):
    jobs: dict[str, int] = Field(description="Jobs by status, every user's.")
    items: dict[str, int] = Field(description="Items of unfinished jobs, by status.")
    runner: dict[str, Any] | None = Field(description="This process's runner, if it runs one.")
