from linkedin_posts.errors import Conflict, Forbidden, NotFound, Unauthorized


class EmailTaken(Conflict):
    code = "email_taken"


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"


class InvalidToken(Unauthorized):
    code = "invalid_token"
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}  # RFC 6750 section 3.1


class AdminRequired(Forbidden):
    code = "admin_required"


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"


class ApiKeyLimitReached(Conflict):
    code = "api_key_limit_reached"


class PasswordLoginRequired(Forbidden):
    code = "password_login_required"


class PasswordMismatch(Forbidden):
    code = "password_mismatch"
