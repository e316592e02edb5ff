"""Response compression: zstd, brotli or gzip, whichever the client accepts, in that order.

starlette-compress does the negotiation and the streaming; this module only decides what it
applies to. It compresses a list of text-like media types (so never PNG, ZIP or anything already
compressed) above a minimum size.
"""

from starlette.types import ASGIApp
from starlette_compress import CompressMiddleware, add_compress_type, remove_compress_type

# Our errors are JSON too, and the library does not know the problem+json type.
add_compress_type("application/problem+json")
# An event stream is flushed message by message: compressing it buffers or delays each event,
# and proxies that compress again break it. Left alone, as the protection issue asks.
remove_compress_type("text/event-stream")


def compression_middleware(app: ASGIApp, *, minimum_size: int, level: int) -> ASGIApp:
    """`level` 1 (fastest) to 9 (smallest), for each algorithm alike."""
    return CompressMiddleware(
        app, minimum_size=minimum_size, zstd_level=level, brotli_quality=level, gzip_level=level
    )
