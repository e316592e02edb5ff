"""How values are kept: as the bytes a response sends, so a hit costs no serialization."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

# Bookkeeping of a kept value beyond its payload (object headers, key, order links), so the byte
# bound of memory counts what the values cost, roughly.
OVERHEAD_BYTES = 200


@dataclass(frozen=True, slots=True)
class EncodedResponse:
    """A JSON body ready to send, with its ETag."""

    body: bytes
    etag: str
    # The body compressed, by content coding, made on a hit's first need (cache/front_door.py);
    # None until then: an empty dict per entry was ~0.8 MB per 10,000 posts in memory.
    encoded: dict[str, bytes] | None = field(default=None, compare=False, repr=False)

    def encoded_as(self, coding: str, compress: Callable[[bytes], bytes]) -> bytes:
        """The body compressed with `coding`, made on first need and kept with the entry."""
        variants = self.encoded
        if variants is None:
            variants = {}
            object.__setattr__(self, "encoded", variants)  # frozen: set once, a cache of the body
        found = variants.get(coding)
        if found is None:
            found = variants[coding] = compress(self.body)
        return found


class ResponseCodec:
    def dumps(self, value: EncodedResponse) -> bytes:
        return value.etag.encode() + b"\n" + value.body

    def loads(self, data: bytes) -> EncodedResponse:
        etag, _, body = data.partition(b"\n")
        return EncodedResponse(body=body, etag=etag.decode())

    def size(self, value: EncodedResponse) -> int:
        return len(value.body) + OVERHEAD_BYTES


class TextCodec:
    def dumps(self, value: str) -> bytes:
        return value.encode()

    def loads(self, data: bytes) -> str:
        return data.decode()

    def size(self, value: str) -> int:
        return len(value) + OVERHEAD_BYTES


class JsonCodec:
    """Any JSON value (the analysis and generation hook)."""

    def dumps(self, value: Any) -> bytes:
        return orjson.dumps(value)

    def loads(self, data: bytes) -> Any:
        return orjson.loads(data)

    def size(self, value: Any) -> int:
        return len(orjson.dumps(value)) + OVERHEAD_BYTES


RESPONSE = ResponseCodec()
TEXT = TextCodec()
JSON = JsonCodec()
