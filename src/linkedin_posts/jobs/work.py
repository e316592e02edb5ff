"""What one item of each kind does, computed outside any transaction; what it saves (posts)
is written by the runner in the transaction that records the item's result."""

import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from linkedin_posts.analysis import service as analysis_service
from linkedin_posts.cache.tiered import TieredCache
from linkedin_posts.generation import service as generation_service
from linkedin_posts.generation.schemas import GenerateRequest
from linkedin_posts.generation.service import Generation
from linkedin_posts.jobs.models import JobKind
from linkedin_posts.jobs.schemas import AnalyzeItem, AnalyzePost
from linkedin_posts.posts import service as posts_service
from linkedin_posts.posts.schemas import PostCreate
from linkedin_posts.reader import Reader

Sessions = Callable[[], AbstractAsyncContextManager[AsyncSession]]
ANALYZE_ITEM: TypeAdapter[AnalyzeItem] = TypeAdapter(AnalyzeItem)


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a runner knows of a job while it runs its items."""

    id: uuid.UUID
    owner_id: uuid.UUID
    kind: JobKind
    priority: int
    total: int
    concurrency: int


@dataclass(slots=True)
class Outcome:
    result: dict[str, Any]
    # Saved with the result, in its transaction; their ids then go into the result.
    posts: list[PostCreate] = field(default_factory=list)


class Work:
    def __init__(
        self,
        generation: Generation,
        reader: Reader,
        cache: TieredCache | None,
        reads: Sessions,
        writes: Sessions,
    ) -> None:
        self.generation = generation
        self.reader = reader
        self.cache = cache
        self.reads = reads
        self.writes = writes

    async def run(self, job: JobContext, data: dict[str, Any]) -> Outcome:
        if job.kind is JobKind.GENERATE:
            return await self._generate(job, GenerateRequest.model_validate(data))
        if job.kind is JobKind.ANALYZE:
            return await self._analyze(job, ANALYZE_ITEM.validate_python(data))
        return Outcome(result={}, posts=[PostCreate.model_validate(_without_row(data))])

    async def _generate(self, job: JobContext, brief: GenerateRequest) -> Outcome:
        # Drafts are saved by the runner with the item's result, so a re-run saves none twice.
        body = await generation_service.generate(
            self.generation,
            self.reads,
            self.writes,
            user_id=job.owner_id,
            data=brief.model_copy(update={"save": False}),
        )
        result = orjson.loads(body)
        posts = (
            [PostCreate(body=variant["text"], title=brief.topic) for variant in result["variants"]]
            if brief.save
            else []
        )
        return Outcome(result=result, posts=posts)

    async def _analyze(self, job: JobContext, item: AnalyzeItem) -> Outcome:
        result: dict[str, Any] = {}
        if isinstance(item, AnalyzePost):
            post = await posts_service.read(
                self.reader, self.cache, owner_id=job.owner_id, post_id=item.post_id
            )
            text = post.body
            result["post_id"] = str(item.post_id)
        else:
            text = item.text
        gen = self.generation
        analysis = await analysis_service.analyze(
            gen.analysis, gen.content_cache, text=text, language=item.language, keep=False
        )
        # As it is: the database's JSON serializer (orjson) writes it without parsing it.
        result["analysis"] = orjson.Fragment(analysis.body)
        return Outcome(result=result)


def _without_row(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key != "row"}


def with_post_ids(kind: JobKind, result: dict[str, Any], post_ids: list[uuid.UUID]) -> None:
    """Put the ids of the posts the item saved where a user looks for them."""
    if kind is JobKind.IMPORT:
        result["post_id"] = str(post_ids[0])
    elif kind is JobKind.GENERATE and post_ids:
        for variant, post_id in zip(result["variants"], post_ids, strict=True):
            variant["post_id"] = str(post_id)
