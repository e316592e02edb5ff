from linkedin_posts.errors import AppError, Conflict, InvalidInput, NotFound, PreconditionFailed


class PostNotFound(NotFound):
    code = "post_not_found"


class PostVersionMismatch(PreconditionFailed):
    """If-Match named a version that is no longer current."""

    code = "precondition_failed"


class PostEditConflict(Conflict):
    """Another request changed the post between our read and our write (no If-Match sent)."""

    code = "edit_conflict"


class InvalidSchedule(AppError):
    status = 422
    code = "invalid_schedule"


class InvalidCursor(InvalidInput):
    code = "invalid_cursor"


class ExportMethodNotAllowed(AppError):
    """/v1/posts/export is not a post id: only GET is served there."""

    status = 405
    code = "method_not_allowed"
    headers = {"Allow": "GET"}
