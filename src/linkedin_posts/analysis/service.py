"""Analyses through the content cache: the same text (and settings) is analysed once."""

import uuid

from linkedin_posts.analysis.engine import VERSION
from linkedin_posts.analysis.runner import AnalysisRunner
from linkedin_posts.cache import codecs
from linkedin_posts.cache.content import ContentCache
from linkedin_posts.cache.tiered import TieredCache
from linkedin_posts.posts import service as posts_service
from linkedin_posts.reader import Reader


async def analyze(
    runner: AnalysisRunner, content_cache: ContentCache, *, text: str, language: str | None
) -> bytes:
    """The analysis of `text` as the JSON body the API sends."""
    parts = (VERSION, runner.fingerprint, language or "", text)
    body: bytes = await content_cache.get_or_compute(
        "analysis", parts, lambda: runner.run(text, language), codecs.BYTES
    )
    return body


async def analyze_post(
    runner: AnalysisRunner,
    content_cache: ContentCache,
    reader: Reader,
    cache: TieredCache | None,
    *,
    owner_id: uuid.UUID,
    post_id: uuid.UUID,
) -> bytes:
    post = await posts_service.read(reader, cache, owner_id=owner_id, post_id=post_id)
    return await analyze(runner, content_cache, text=post.body, language=None)
