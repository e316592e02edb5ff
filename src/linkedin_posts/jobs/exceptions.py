from linkedin_posts.errors import AppError, NotFound


class JobNotFound(NotFound):
    code = "job_not_found"


class JobTooLarge(AppError):
    status = 413
    code = "job_too_large"


class TooManyJobs(AppError):
    status = 429
    code = "too_many_jobs"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after)}


class IdempotencyKeyReused(AppError):
    """The key was used before for a different request: a client bug, not a retry."""

    status = 409
    code = "idempotency_key_reused"
