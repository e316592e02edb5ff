"""What can go wrong at the provider's edge, each with the status and code a client sees.

Upstream trouble is never a 500: the provider failed (502), is unreachable, overloaded or
switched off by the circuit breaker (503), or too slow (504). `retryable` tells the retry loop
whether another attempt may help; `retry_after` is what the provider asked for, if anything.
"""

from linkedin_posts.errors import AppError


class ProviderError(AppError):
    status = 502
    code = "ai_provider_error"
    retryable = True
    # Counted by the circuit breaker: the provider, not the request, is at fault.
    counts_as_failure = True

    def __init__(self, detail: str | None = None, *, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        if retry_after is not None:
            self.headers = {"Retry-After": str(max(1, round(retry_after)))}


class ProviderBadResponse(ProviderError):
    """The provider answered something that is not a completion: malformed, empty or huge."""

    code = "ai_provider_bad_response"


class ProviderInvalidOutput(ProviderError):
    """A well-formed answer that fails validation (empty, too long, echoing the prompt)."""

    code = "ai_invalid_output"
    counts_as_failure = False


class ProviderUnavailable(ProviderError):
    status = 503
    code = "ai_provider_unavailable"


class ProviderRateLimited(ProviderError):
    """The provider's own rate limit: a shared quota, so ours is 503, not the client's 429."""

    status = 503
    code = "ai_provider_rate_limited"
    counts_as_failure = False


class ProviderTimeout(ProviderError):
    status = 504
    code = "ai_provider_timeout"


class ProviderRejected(ProviderError):
    """The provider refused the request itself (bad key, unknown model): retrying cannot help."""

    code = "ai_provider_rejected"
    retryable = False


class CircuitOpen(ProviderError):
    status = 503
    code = "ai_circuit_open"
    retryable = False
    counts_as_failure = False


class ProviderBusy(ProviderError):
    """Every provider slot of this process stayed taken for the queue timeout."""

    status = 503
    code = "ai_busy"
    retryable = False
    counts_as_failure = False


class LanguageNotSupported(AppError):
    status = 422
    code = "language_not_supported"


class UsageQuotaExceeded(AppError):
    status = 429
    code = "ai_quota_exceeded"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after)}
