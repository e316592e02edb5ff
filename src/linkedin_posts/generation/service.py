"""Generation and rewrites: the provider writes, the analysis scores, the cache and the usage
table keep what it cost. The same for every provider."""

import asyncio
import difflib
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import aclosing
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from linkedin_posts.analysis import service as analysis_service
from linkedin_posts.analysis.runner import AnalysisRunner
from linkedin_posts.cache.content import ContentCache
from linkedin_posts.cache.tiered import TieredCache
from linkedin_posts.config import Settings
from linkedin_posts.errors import AppError, problem_document
from linkedin_posts.generation import schemas
from linkedin_posts.generation import usage as usage_service
from linkedin_posts.generation.exceptions import LanguageNotSupported, UsageQuotaExceeded
from linkedin_posts.generation.providers import open_provider
from linkedin_posts.generation.providers.base import (
    Brief,
    Completion,
    Provider,
    RewriteTask,
    Sampling,
    Usage,
)
from linkedin_posts.generation.validation import checked_post
from linkedin_posts.observability.metrics import LLM_TOKENS
from linkedin_posts.posts import service as posts_service
from linkedin_posts.posts.schemas import PostCreate
from linkedin_posts.reader import Reader

# Part of every cached generation's key: change it when what is cached changes shape.
VERSION = "1"
KIND = "generation"

Sessions = usage_service.Sessions


@dataclass(frozen=True, slots=True)
class Generation:
    """What generation needs, built once per process at start."""

    settings: Settings
    provider: Provider
    analysis: AnalysisRunner
    content_cache: ContentCache
    usage: usage_service.UsageRecorder

    def start(self) -> None:
        self.usage.start()

    async def aclose(self) -> None:
        await self.usage.stop()
        await self.provider.aclose()


def open_generation(
    settings: Settings, analysis: AnalysisRunner, content_cache: ContentCache, writes: Sessions
) -> Generation:
    recorder = usage_service.UsageRecorder(writes)
    return Generation(settings, open_provider(settings), analysis, content_cache, recorder)


@dataclass(frozen=True, slots=True)
class Written:
    """A provider's answer to one request, as cached: the texts, their notes, what they cost."""

    texts: list[str]
    notes: list[str]
    usage: Usage
    cached: bool


def sampling_for(settings: Settings, request: schemas.Sampling) -> Sampling:
    temperature = (
        settings.ai_default_temperature if request.temperature is None else request.temperature
    )
    temperature = min(temperature, settings.ai_max_temperature)
    seed = request.seed
    if seed is None:
        # Reproducible when asked to be (temperature 0, or cache), varied otherwise.
        seed = 0 if temperature == 0 or request.cache else secrets.randbelow(schemas.MAX_SEED + 1)
    return Sampling(temperature=temperature, max_tokens=settings.ai_max_tokens, seed=seed)


def brief_of(data: schemas.GenerateRequest) -> Brief:
    return Brief(
        topic=data.topic,
        key_points=tuple(data.key_points),
        audience=data.audience,
        tone=data.tone,
        length=data.length,
        language=str(data.language),
        hashtags=data.hashtags,
        call_to_action=data.call_to_action,
    )


def check_language(provider: Provider, language: str) -> None:
    if provider.languages is not None and language not in provider.languages:
        raise LanguageNotSupported(
            f"The {provider.name} provider writes in {', '.join(sorted(provider.languages))}; "
            f"not in {language!r}.",
            languages=sorted(provider.languages),
        )


async def check_quota(gen: Generation, reads: Sessions, user_id: uuid.UUID) -> None:
    limit = gen.settings.ai_daily_tokens_per_user
    if not limit:
        return
    async with reads() as session:
        spent = await usage_service.tokens_today(session, user_id=user_id)
    spent += gen.usage.unwritten_tokens(user_id)
    if spent >= limit:
        raise UsageQuotaExceeded(
            f"You have used today's {limit} AI tokens; the quota renews at 00:00 UTC.",
            retry_after=usage_service.seconds_until_tomorrow(),
        )


async def _write(
    gen: Generation,
    reads: Sessions,
    user_id: uuid.UUID,
    parts: Sequence[str],
    cacheable: bool,
    call: Callable[[], Awaitable[list[Completion]]],
) -> Written:
    """The provider's answer, from the cache when `cacheable` and it is there."""

    computed = False

    async def compute() -> dict[str, Any]:
        nonlocal computed
        computed = True
        await check_quota(gen, reads, user_id)
        completions = await call()
        total = sum((c.usage for c in completions), Usage())
        return {
            "texts": [checked_post(c.text) for c in completions],
            "notes": [note for c in completions for note in c.notes],
            "usage": asdict(total),
        }

    if cacheable:
        value = await gen.content_cache.get_or_compute(KIND, parts, compute)
    else:
        value = await compute()
    usage = Usage(**value["usage"]) if computed else Usage()
    return Written(value["texts"], value["notes"], usage, cached=not computed)


async def _all(calls: list[Coroutine[Any, Any, Completion]]) -> list[Completion]:
    """Every call's completion. When one fails, the others are cancelled and its error (the
    first AppError, which the client understands) is raised."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(call) for call in calls]
    except BaseExceptionGroup as failed:
        raise _first_app_error(failed) from None
    return [task.result() for task in tasks]


def _first_app_error(error: BaseException) -> BaseException:
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            found = _first_app_error(inner)
            if isinstance(found, AppError):
                return found
    return error


async def generate(
    gen: Generation,
    reads: Sessions,
    writes: Sessions,
    *,
    user_id: uuid.UUID,
    data: schemas.GenerateRequest,
) -> bytes:
    """`data.variants` posts written from the brief, each with its analysis (and saved, with
    `save`), as the JSON body of GenerationRead."""
    provider = gen.provider
    brief = brief_of(data)
    check_language(provider, brief.language)
    sampling = sampling_for(gen.settings, data)
    parts = _cache_parts(provider, "generate", asdict(brief), sampling, data.variants)

    def call() -> Awaitable[list[Completion]]:
        return _all(
            [provider.generate(brief, _nth(sampling, index)) for index in range(data.variants)]
        )

    written = await _write(
        gen, reads, user_id, parts, sampling.temperature == 0 or data.cache, call
    )
    analyses = await _analyses(gen, written.texts)
    post_ids = await _keep(gen, writes, user_id, written, drafts_titled=_title(data))
    return orjson.dumps(
        {
            **_meta(provider, sampling, written),
            "variants": [
                {"text": text, "analysis": orjson.Fragment(analysis), "post_id": post_id}
                for text, analysis, post_id in zip(written.texts, analyses, post_ids, strict=True)
            ],
        }
    )


def _cache_parts(
    provider: Provider, action: str, inputs: dict[str, Any], sampling: Sampling, variants: int
) -> tuple[str, ...]:
    """Everything an answer depends on, for its cache key: provider, model, prompts, inputs."""
    return (
        VERSION,
        action,
        provider.name,
        provider.model,
        provider.fingerprint,
        orjson.dumps(inputs, option=orjson.OPT_SORT_KEYS).decode(),
        repr(sampling),
        str(variants),
    )


def _nth(sampling: Sampling, index: int) -> Sampling:
    """Variant `index`'s sampling: its own seed, so variants differ and each is reproducible."""
    return Sampling(
        sampling.temperature, sampling.max_tokens, (sampling.seed + index) % (schemas.MAX_SEED + 1)
    )


async def _analyses(gen: Generation, texts: list[str]) -> list[bytes]:
    bodies = await asyncio.gather(
        *(
            analysis_service.analyze(gen.analysis, gen.content_cache, text=text, language=None)
            for text in texts
        )
    )
    return [body.body for body in bodies]


def _title(data: schemas.GenerateRequest) -> str | None:
    """The title of the drafts a generation saves, or None when it saves none."""
    return data.topic if data.save else None


async def _keep(
    gen: Generation,
    writes: Sessions,
    user_id: uuid.UUID,
    written: Written,
    *,
    drafts_titled: str | None = None,
) -> list[uuid.UUID | None]:
    """Count what `written` cost and, with a title, save its texts as drafts.

    The ids of the drafts, in order; None for each text when none is saved.
    """
    provider = gen.provider
    gen.usage.add(
        user_id=user_id,
        provider=provider.name,
        model=provider.model,
        usage=written.usage,
        cached=written.cached,
    )
    if written.usage.total_tokens:
        LLM_TOKENS.labels(provider.name, "prompt").inc(written.usage.prompt_tokens)
        LLM_TOKENS.labels(provider.name, "completion").inc(written.usage.completion_tokens)
    post_ids: list[uuid.UUID | None] = [None] * len(written.texts)
    if drafts_titled is not None:
        async with writes() as session:
            for index, text in enumerate(written.texts):
                post = await posts_service.create(
                    session, owner_id=user_id, data=PostCreate(body=text, title=drafts_titled)
                )
                post_ids[index] = post.id
    return post_ids


def _meta(provider: Provider, sampling: Sampling, written: Written) -> dict[str, Any]:
    return {
        "provider": provider.name,
        "model": provider.model,
        "temperature": sampling.temperature,
        "seed": sampling.seed,
        "cached": written.cached,
        "usage": _usage(written.usage),
    }


def _usage(usage: Usage) -> dict[str, int]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


async def rewrite(
    gen: Generation,
    reader: Reader,
    cache: TieredCache | None,
    reads: Sessions,
    writes: Sessions,
    *,
    user_id: uuid.UUID,
    post_id: uuid.UUID,
    data: schemas.RewriteRequest,
) -> bytes:
    """A new text for the post, toward `data.goal`, with its analysis and what changed. The post
    itself is not changed: PATCH it with the text to keep it."""
    provider = gen.provider
    post = await posts_service.read(reader, cache, owner_id=user_id, post_id=post_id)
    (before_body,) = await _analyses(gen, [post.body])
    before = orjson.loads(before_body)
    language = before["language"]["code"]
    if provider.languages is not None and language not in provider.languages:
        language = None  # the provider judges by itself
    goal, tone = data.parsed_goal
    task = RewriteTask(text=post.body, goal=goal, tone=tone, language=language)
    sampling = sampling_for(gen.settings, data)
    parts = _cache_parts(provider, "rewrite", asdict(task), sampling, 1)

    async def call() -> list[Completion]:
        return [await provider.rewrite(task, sampling)]

    written = await _write(
        gen, reads, user_id, parts, sampling.temperature == 0 or data.cache, call
    )
    text = written.texts[0]
    (analysis,) = await _analyses(gen, [text])
    after = orjson.loads(analysis)
    await _keep(gen, writes, user_id, written)
    return orjson.dumps(
        {
            **_meta(provider, sampling, written),
            "post_id": post.id,
            "goal": data.goal,
            "text": text,
            "analysis": orjson.Fragment(analysis),
            "changes": _changes(post.body, text, before, after, written.notes),
        }
    )


def _changes(
    old: str, new: str, before: dict[str, Any], after: dict[str, Any], notes: list[str]
) -> dict[str, Any]:
    rules_before = {finding["rule"] for finding in before["findings"]}
    rules_after = {finding["rule"] for finding in after["findings"]}
    diff = difflib.unified_diff(
        old.splitlines(), new.splitlines(), "draft", "rewrite", lineterm="", n=1
    )
    return {
        "score_before": before["score"],
        "score_after": after["score"],
        "characters_before": before["counts"]["characters"],
        "characters_after": after["counts"]["characters"],
        "fixed": sorted(rules_before - rules_after),
        "introduced": sorted(rules_after - rules_before),
        "notes": notes,
        "diff": "\n".join(diff),
    }


async def stream(
    gen: Generation,
    reads: Sessions,
    writes: Sessions,
    *,
    user_id: uuid.UUID,
    data: schemas.GenerateRequest,
) -> AsyncIterator[bytes]:
    """The events of a generation as Server-Sent Events: `start`, then for each variant its
    `delta`s and a `variant` (text, analysis, post id), then `done`; or `error` and the end.

    Checked before the first byte (so a refusal is a plain problem+json answer): the language
    and the quota. Nothing is saved unless every variant is complete and valid.
    """
    provider = gen.provider
    brief = brief_of(data)
    check_language(provider, brief.language)
    sampling = sampling_for(gen.settings, data)
    await check_quota(gen, reads, user_id)
    return _events(gen, writes, user_id, data, brief, sampling)


async def _events(
    gen: Generation,
    writes: Sessions,
    user_id: uuid.UUID,
    data: schemas.GenerateRequest,
    brief: Brief,
    sampling: Sampling,
) -> AsyncIterator[bytes]:
    provider = gen.provider
    spent = Usage()
    yield _event(
        "start",
        {
            "provider": provider.name,
            "model": provider.model,
            "temperature": sampling.temperature,
            "seed": sampling.seed,
            "variants": data.variants,
        },
    )
    texts: list[str] = []
    try:
        for index in range(data.variants):
            pieces: list[str] = []
            async with aclosing(provider.stream(brief, _nth(sampling, index))) as chunks:
                async for chunk in chunks:
                    if chunk.usage is not None:
                        spent = spent + chunk.usage
                    if chunk.text:
                        pieces.append(chunk.text)
                        yield _event("delta", {"variant": index, "text": chunk.text})
            text = checked_post("".join(pieces))
            (analysis,) = await _analyses(gen, [text])
            texts.append(text)
            yield _event(
                "variant", {"variant": index, "text": text, "analysis": orjson.Fragment(analysis)}
            )
    except AppError as exc:
        # What a failed stream cost is still the user's; nothing of it is saved.
        await _keep(gen, writes, user_id, Written([], [], spent, cached=False))
        yield _event(
            "error",
            problem_document(status=exc.status, code=exc.code, detail=exc.detail, **exc.extra),
        )
        return
    written = Written(texts, [], spent, cached=False)
    post_ids = await _keep(gen, writes, user_id, written, drafts_titled=_title(data))
    yield _event("done", {"usage": _usage(spent), "post_ids": post_ids})


def _event(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def usage_report(
    gen: Generation, reads: Sessions, *, user_id: uuid.UUID, days: int
) -> dict[str, Any]:
    await gen.usage.flush()  # what this process counted, this user's last request included
    async with reads() as session:
        rows = await usage_service.days(session, user_id=user_id, last=days)
    today = usage_service.today()
    by_day = [
        {
            "day": row.day,
            "provider": row.provider,
            "model": row.model,
            "requests": row.requests,
            "cached_requests": row.cached_requests,
            "prompt_tokens": row.prompt_tokens,
            "completion_tokens": row.completion_tokens,
            "total_tokens": row.prompt_tokens + row.completion_tokens,
        }
        for row in rows
    ]
    limit = gen.settings.ai_daily_tokens_per_user
    return {
        "days": days,
        "requests": sum(row["requests"] for row in by_day),
        "cached_requests": sum(row["cached_requests"] for row in by_day),
        "prompt_tokens": sum(row["prompt_tokens"] for row in by_day),
        "completion_tokens": sum(row["completion_tokens"] for row in by_day),
        "total_tokens": sum(row["total_tokens"] for row in by_day),
        "tokens_today": sum(row["total_tokens"] for row in by_day if row["day"] == today),
        "daily_token_limit": limit or None,
        "by_day": by_day,
    }
