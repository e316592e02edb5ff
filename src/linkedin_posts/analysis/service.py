"""Analyses through the content cache: the same text (and settings) is analysed once."""

import uuid

from linkedin_posts.analysis.engine import VERSION
from linkedin_posts.analysis.runner import AnalysisRunner
from linkedin_posts.cache import codecs, keys
from linkedin_posts.cache.codecs import EncodedResponse
from linkedin_posts.cache.content import ContentCache
from linkedin_posts.cache.tiered import TieredCache
from linkedin_posts.posts import service as posts_service
from linkedin_posts.reader import Reader

KIND = "analysis"


def cache_parts(runner: AnalysisRunner, text: str, language: str | None) -> tuple[str, ...]:
    """Everything a result depends on: its cache key is made of these."""
    return (VERSION, runner.fingerprint, language or "", text)


def cache_key(runner: AnalysisRunner, text: str, language: str | None) -> str:
    return keys.content(KIND, *cache_parts(runner, text, language))


async def analyze(
    runner: AnalysisRunner,
    content_cache: ContentCache,
    *,
    text: str,
    language: str | None,
    keep: bool = True,
) -> EncodedResponse:
    """The analysis of `text` as the JSON body the API sends (kept with its compressed forms,
    unless `keep` is False: see ContentCache.get_or_compute)."""

    async def compute() -> EncodedResponse:
        return EncodedResponse(body=await runner.run(text, language), etag="")

    response: EncodedResponse = await content_cache.get_or_compute(
        KIND, cache_parts(runner, text, language), compute, codecs.RESPONSE, keep=keep
    )
    return response


async def analyze_post(
    runner: AnalysisRunner,
    content_cache: ContentCache,
    reader: Reader,
    cache: TieredCache | None,
    *,
    owner_id: uuid.UUID,
    post_id: uuid.UUID,
) -> EncodedResponse:
    post = await posts_service.read(reader, cache, owner_id=owner_id, post_id=post_id)
    return await analyze(runner, content_cache, text=post.body, language=None)
