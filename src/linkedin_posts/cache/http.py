"""Cached JSON as an HTTP answer: ETag and If-None-Match, Cache-Control, X-Cache."""

from fastapi import Response

from linkedin_posts.cache.codecs import EncodedResponse
from linkedin_posts.cache.tiered import Level

# The caller's own data: no shared cache may keep it, and a browser revalidates each time
# (a 304 costs no body).
CACHE_CONTROL = "private, no-cache"


def etag_matches(if_none_match: str, etag: str) -> bool:
    """If-None-Match compares weakly (RFC 9110 13.1.2): W/ prefixes are ignored."""
    wanted = etag.removeprefix("W/")
    return any(
        tag.strip() == "*" or tag.strip().removeprefix("W/") == wanted
        for tag in if_none_match.split(",")
    )


def cached_response(value: EncodedResponse, level: Level, if_none_match: str | None) -> Response:
    headers = {"ETag": value.etag, "Cache-Control": CACHE_CONTROL, "X-Cache": level.value}
    if if_none_match is not None and etag_matches(if_none_match, value.etag):
        return Response(status_code=304, headers=headers)
    return Response(value.body, media_type="application/json", headers=headers)
