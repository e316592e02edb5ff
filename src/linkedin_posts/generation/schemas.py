import uuid
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from linkedin_posts.analysis.schemas import AnalysisRead, LanguageCode
from linkedin_posts.generation.providers.base import Goal, Length, Tone
from linkedin_posts.posts.schemas import BODY_PATTERN
from linkedin_posts.validators import StorableText, whole_number

MAX_VARIANTS = 5
MAX_KEY_POINTS = 10
# Inside JavaScript's exact integers and PostgreSQL's bigint, and what OpenAI accepts.
MAX_SEED = 2**31 - 1
MAX_USAGE_DAYS = 90


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be empty or only whitespace")
    return text.strip()


def _text(min_length: int, max_length: int, description: str) -> Any:
    """Storable text, not only blank space (said in the schema too), trimmed."""
    return Field(
        min_length=min_length,
        max_length=max_length,
        description=description,
        json_schema_extra={"pattern": BODY_PATTERN},
    )


NotBlank = AfterValidator(_not_blank)
Seed = Annotated[int, Field(strict=True, ge=0, le=MAX_SEED), BeforeValidator(whole_number)]
Variants = Annotated[int, Field(strict=True, ge=1, le=MAX_VARIANTS), BeforeValidator(whole_number)]
Topic = Annotated[StorableText, _text(3, 200, "What the post is about."), NotBlank]
KeyPoint = Annotated[StorableText, _text(1, 300, "One thing the post must say."), NotBlank]
Audience = Annotated[
    StorableText, _text(1, 200, "Who reads it, e.g. 'engineering managers'."), NotBlank
]
CallToAction = Annotated[
    StorableText,
    _text(1, 300, "What the post ends by inviting; a question is written when left out."),
    NotBlank,
]
# `tone:<tone>` as the users write it, e.g. "tone:friendly".
RewriteGoal = Literal[
    "shorten",
    "stronger_hook",
    "add_hashtags",
    "fix_formatting",
    "tone:professional",
    "tone:friendly",
    "tone:inspirational",
    "tone:educational",
    "tone:bold",
]


class Sampling(BaseModel):
    # strict: a JSON body that says "0.5" or 0 for a number or a boolean is refused, as the
    # schema says, rather than converted.
    temperature: float | None = Field(
        default=None,
        strict=True,
        ge=0,
        le=2,
        description="Randomness, 0 to 2; capped by LP_AI_MAX_TEMPERATURE. Default: "
        "LP_AI_DEFAULT_TEMPERATURE. At 0 the answer is cached.",
    )
    seed: Seed | None = Field(
        default=None,
        description="The same seed gives the same text (the template provider always; a model "
        "where it supports seeds). Default: 0 at temperature 0 or with cache, else random.",
    )
    cache: bool = Field(
        default=False,
        strict=True,
        description="Answer an identical earlier request from the cache.",
    )


class GenerateRequest(Sampling):
    model_config = ConfigDict(extra="forbid")

    topic: Topic
    key_points: list[KeyPoint] = Field(default_factory=list, max_length=MAX_KEY_POINTS)
    audience: Audience | None = None
    tone: Tone = Tone.PROFESSIONAL
    length: Length = Length.MEDIUM
    language: LanguageCode = Field(
        default=LanguageCode("en"), description="ISO 639-1 code of the language to write in."
    )
    hashtags: bool = Field(default=True, strict=True, description="End with 3 hashtags.")
    call_to_action: CallToAction | None = None
    variants: Variants = 1
    save: bool = Field(default=False, strict=True, description="Keep each variant as a draft post.")


class RewriteRequest(Sampling):
    model_config = ConfigDict(extra="forbid")

    goal: RewriteGoal

    @property
    def parsed_goal(self) -> tuple[Goal, Tone | None]:
        if self.goal.startswith("tone:"):
            return Goal.TONE, Tone(self.goal.removeprefix("tone:"))
        return Goal(self.goal), None


class TokenUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class GenerationMeta(BaseModel):
    provider: str = Field(description="template or openai.")
    model: str
    temperature: float = Field(description="As used, after the cap.")
    seed: int = Field(description="Send it back to get the same text again.")
    cached: bool = Field(description="Answered from the cache: no tokens spent.")
    usage: TokenUsage = Field(description="Tokens this request spent (0 when cached).")


class Variant(BaseModel):
    text: str
    analysis: AnalysisRead
    post_id: uuid.UUID | None = Field(description="The draft it was saved as, with `save`.")


class GenerationRead(GenerationMeta):
    variants: list[Variant]


class Changes(BaseModel):
    score_before: int
    score_after: int
    characters_before: int
    characters_after: int
    fixed: list[str] = Field(description="Rules the draft broke and the new text does not.")
    introduced: list[str] = Field(description="Rules the new text breaks and the draft did not.")
    notes: list[str] = Field(description="What the provider says it did, a sentence each.")
    diff: str = Field(description="Unified diff, line by line, from the draft to the new text.")


class RewriteRead(GenerationMeta):
    post_id: uuid.UUID
    goal: RewriteGoal
    text: str
    analysis: AnalysisRead
    changes: Changes


class UsageDay(BaseModel):
    day: date
    provider: str
    model: str
    requests: int
    cached_requests: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class UsageRead(BaseModel):
    days: int = Field(description="How many days, today (UTC) included, the totals cover.")
    requests: int
    cached_requests: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    tokens_today: int
    daily_token_limit: int | None = Field(description="LP_AI_DAILY_TOKENS_PER_USER; null: none.")
    by_day: list[UsageDay] = Field(description="Newest first, one row per provider and model.")


class UsageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: int = Field(default=30, ge=1, le=MAX_USAGE_DAYS)
