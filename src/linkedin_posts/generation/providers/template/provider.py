"""The template provider: `compose` and `rewrite_text` behind the Provider protocol."""

import asyncio
from collections.abc import AsyncGenerator

from linkedin_posts.generation.providers.base import Brief, Chunk, Completion, RewriteTask, Sampling
from linkedin_posts.generation.providers.template.compose import compose
from linkedin_posts.generation.providers.template.phrases import LANGUAGES, VERSION
from linkedin_posts.generation.providers.template.rewrite import rewrite_text


class TemplateProvider:
    """Posts from phrase banks and the brief's words; rewrites by rules. No model, no network."""

    name = "template"
    model = f"template-v{VERSION}"
    fingerprint = f"template:{VERSION}"
    languages: frozenset[str] | None = LANGUAGES

    # `sampling.temperature` and `sampling.max_tokens` mean nothing to a template: only the seed
    # is used, and the length comes from the brief.
    async def generate(self, brief: Brief, sampling: Sampling) -> Completion:
        # Keyword extraction is CPU work: off the event loop.
        text = await asyncio.to_thread(compose, brief, sampling.seed)
        return Completion(text=text)

    async def rewrite(self, task: RewriteTask, sampling: Sampling) -> Completion:
        return await asyncio.to_thread(rewrite_text, task, sampling.seed)

    async def stream(self, brief: Brief, sampling: Sampling) -> AsyncGenerator[Chunk, None]:
        """The whole text as one chunk: a template has no tokens to stream one by one."""
        completion = await self.generate(brief, sampling)
        yield Chunk(text=completion.text, usage=completion.usage)

    async def aclose(self) -> None:
        return None
