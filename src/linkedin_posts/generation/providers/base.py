"""What every provider is given and gives back, and the Protocol they all follow.

A provider turns a brief (or a draft and a goal) into text. It does not analyse, cache, save
or count usage: the service does that, the same way for every provider.
"""

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class Tone(StrEnum):
    PROFESSIONAL = "professional"
    FRIENDLY = "friendly"
    INSPIRATIONAL = "inspirational"
    EDUCATIONAL = "educational"
    BOLD = "bold"


class Length(StrEnum):
    SHORT = "short"
    MEDIUM = "medium"
    LONG = "long"


# The characters each length aims for; all inside the analysis's sweet spot of 300-2000.
LENGTH_TARGETS: dict[Length, tuple[int, int]] = {
    Length.SHORT: (300, 700),
    Length.MEDIUM: (700, 1300),
    Length.LONG: (1300, 2000),
}


class Goal(StrEnum):
    SHORTEN = "shorten"
    STRONGER_HOOK = "stronger_hook"
    ADD_HASHTAGS = "add_hashtags"
    FIX_FORMATTING = "fix_formatting"
    TONE = "tone"


@dataclass(frozen=True, slots=True)
class Brief:
    """What a post should say and how."""

    topic: str
    key_points: tuple[str, ...] = ()
    audience: str | None = None
    tone: Tone = Tone.PROFESSIONAL
    length: Length = Length.MEDIUM
    language: str = "en"
    hashtags: bool = True
    call_to_action: str | None = None


@dataclass(frozen=True, slots=True)
class RewriteTask:
    """A draft and what to improve in it; `tone` is set when the goal is TONE."""

    text: str
    goal: Goal
    tone: Tone | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Sampling:
    """How a call samples. `seed` makes a provider that honours it deterministic."""

    temperature: float
    max_tokens: int
    seed: int


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
        )


@dataclass(frozen=True, slots=True)
class Completion:
    """A provider's text. `notes` say, in a sentence each, what a rewrite did."""

    text: str
    usage: Usage = field(default_factory=Usage)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of a streamed text; the last chunk of a stream may carry the call's usage."""

    text: str
    usage: Usage | None = None


class Provider(Protocol):
    name: str
    model: str
    # Whatever else decides an output (prompt files, template version): part of the cache key.
    fingerprint: str
    # Languages it writes; None: any.
    languages: frozenset[str] | None

    async def generate(self, brief: Brief, sampling: Sampling) -> Completion: ...

    async def rewrite(self, task: RewriteTask, sampling: Sampling) -> Completion: ...

    def stream(self, brief: Brief, sampling: Sampling) -> AsyncGenerator[Chunk, None]:
        """The text of `generate` in pieces, as the provider produces them."""
        ...

    async def aclose(self) -> None: ...
