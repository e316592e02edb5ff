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
