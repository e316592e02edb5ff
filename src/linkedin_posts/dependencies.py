"""Dependencies shared by every domain."""

from collections import Counter
from typing import Annotated

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError

from linkedin_posts.config import Settings
from linkedin_posts.errors import AppError


class UnsupportedMediaType(AppError):
    status = 415
    code = "unsupported_media_type"


async def get_app_settings(request: Request) -> Settings:
    """The settings the app was created with (tests create apps with their own)."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


async def require_json(request: Request) -> None:
    """Answer 415, not a confusing 422, when a JSON route is sent another media type."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        raise UnsupportedMediaType("Send the request body as application/json.")


async def single_valued_query(request: Request) -> None:
    """Refuse a repeated query parameter, of which FastAPI would quietly keep the last value."""
    counts = Counter(name for name, _ in request.query_params.multi_items())
    repeated = sorted(name for name, count in counts.items() if count > 1)
    if repeated:
        raise RequestValidationError(
            [
                {"loc": ("query", name), "msg": "must be given at most once", "type": "repeated"}
                for name in repeated
            ]
        )
