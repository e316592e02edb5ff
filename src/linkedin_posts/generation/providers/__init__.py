"""The providers, chosen by name from LP_AI_PROVIDER."""

from linkedin_posts.config import Settings
from linkedin_posts.generation.providers.base import Provider


def open_provider(settings: Settings) -> Provider:
    if settings.ai_provider == "openai":
        # Imported here: the SDK costs start-up time and memory a template-only server spares.
        from linkedin_posts.generation.providers.openai import OpenAIProvider
        from linkedin_posts.generation.resilience import ProviderGuard

        return OpenAIProvider(settings, ProviderGuard(settings, provider="openai"))
    from linkedin_posts.generation.providers.template import TemplateProvider

    return TemplateProvider()
