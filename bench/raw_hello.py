"""The second baseline: a raw ASGI hello-world, no framework at all (bench/cache.py)."""

from typing import Any

BODY = b'{"hello":"world"}'
START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"application/json"), (b"content-length", b"17")],
}
END = {"type": "http.response.body", "body": BODY}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":  # lifespan: nothing to set up
        return
    await send(START)
    await send(END)


# The same, answering with what a cached GET /v1/posts/{id} sends: its 16 headers and a body of
# its size (bench/cache.py's "headers" check: how much of the gap is the server writing them).
POST_BODY = b'{"id":"01a21671-5aed-702e-b1ce-59b6156f7869","body":"' + b"x" * 830 + b'"}'
POST_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [
        (b"content-type", b"application/json"),
        (b"cache-control", b"private, no-cache"),
        (b"x-cache", b"HIT-L1"),
        (b"etag", b'"1"'),
        (b"ratelimit-limit", b"100000000"),
        (b"ratelimit-remaining", b"99999999"),
        (b"ratelimit-reset", b"42"),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
        (b"x-request-id", b"6f1c0e0d9b8a7f6e5d4c3b2a19081726"),
        (b"x-process-time", b"0.000042"),
        (b"vary", b"Accept-Encoding"),
        (b"content-length", b"%d" % len(POST_BODY)),
    ],
}
POST_END = {"type": "http.response.body", "body": POST_BODY}


async def post_shaped(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send(POST_START)
    await send(POST_END)
