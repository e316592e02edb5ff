"""The offline provider: a template engine, not a language model.

It composes a post from phrase banks (phrases.py) and the brief's own words, and rewrites a
draft by rules. It needs no network, no model and no key, costs no tokens, and gives the same
text for the same brief and seed: the provider for tests, demos and air-gapped servers.
"""

from linkedin_posts.generation.providers.template.compose import compose
from linkedin_posts.generation.providers.template.provider import TemplateProvider
from linkedin_posts.generation.providers.template.rewrite import rewrite_text
from linkedin_posts.generation.providers.template.samples import SAMPLE_BRIEFS

__all__ = ["SAMPLE_BRIEFS", "TemplateProvider", "compose", "rewrite_text"]
