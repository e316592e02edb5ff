from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from linkedin_posts.analysis.codes import LANGUAGE_CODES
from linkedin_posts.posts.schemas import BODY_PATTERN
from linkedin_posts.validators import StorableText

# Ten LinkedIn posts' worth: enough to analyse a draft that is far too long and say by how much.
MAX_TEXT_CODE_POINTS = 30_000

LanguageCode = StrEnum(  # type: ignore[misc]  # built from lingua's list, so the two agree
    "LanguageCode", {code: code for code in LANGUAGE_CODES}
)


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be empty or only whitespace")
    return text


AnalyzedText = Annotated[
    StorableText,
    Field(
        min_length=1,
        max_length=MAX_TEXT_CODE_POINTS,
        description="The draft, as it would be posted.",
        json_schema_extra={"pattern": BODY_PATTERN},
    ),
    AfterValidator(_not_blank),
]


class AnalyzeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: AnalyzedText
    language: LanguageCode | None = Field(
        default=None,
        description="ISO 639-1 code of the text's language; detected when left out.",
    )


class Counts(BaseModel):
    characters: int = Field(description="Unicode code points.")
    graphemes: int = Field(description="Characters as a reader (and LinkedIn's limit) counts them.")
    words: int
    sentences: int
    lines: int
    paragraphs: int
    emojis: int


class LanguageRead(BaseModel):
    code: str | None = Field(description="ISO 639-1; null when the text has too few letters.")
    confidence: float
    source: Literal["detected", "given"]


class SentimentRead(BaseModel):
    compound: float | None = Field(description="VADER's compound score, -1 to 1.")
    label: Literal["positive", "neutral", "negative"] | None
    basis: Literal["text", "emoji", "none"] = Field(
        description="text: English words and emoji; emoji: only the emoji and emoticons of a "
        "text in another language; none: nothing to judge by."
    )


class ReadabilityRead(BaseModel):
    reading_ease: float = Field(description="Flesch reading ease, 0 (hard) to 100 (easy).")
    reading_ease_formula: str
    grade_level: float | None = Field(description="School grade; English and Spanish only.")
    grade_level_formula: str | None


class KeywordRead(BaseModel):
    keyword: str
    score: float = Field(description="YAKE score: lower is more relevant.")


class HashtagsRead(BaseModel):
    found: list[str]
    count: int
    suggested: list[str] = Field(description="Made of the keywords the post does not tag yet.")


class MentionRead(BaseModel):
    name: str
    urn: str


class FoldRead(BaseModel):
    visible: str = Field(description='What readers see before "…see more".')
    truncated: bool
    hook_fits: bool = Field(description="The whole first line is visible.")


class FoldsRead(BaseModel):
    hook: str = Field(description="The first non-blank line.")
    desktop: FoldRead
    mobile: FoldRead


class FindingRead(BaseModel):
    rule: str = Field(description="A rule id of docs/analysis.md.")
    severity: Literal["error", "warning", "info"]
    message: str
    start: int | None = Field(description="Where in the text, in code points; null: everywhere.")
    end: int | None


class AnalysisRead(BaseModel):
    analyzer_version: str
    counts: Counts
    fits_linkedin: bool = Field(description="No finding of severity error.")
    language: LanguageRead
    sentiment: SentimentRead
    readability: ReadabilityRead | None
    keywords: list[KeywordRead]
    hashtags: HashtagsRead
    mentions: list[MentionRead]
    links: list[str]
    fold: FoldsRead
    findings: list[FindingRead]
    score: int = Field(ge=0, le=100, description="100 less the weight of each rule that fired.")
