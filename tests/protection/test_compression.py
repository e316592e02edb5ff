"""Compressed answers, in the encoding the client asked for, and only where it helps."""

import gzip
from collections.abc import AsyncIterator

import brotli
import httpx
import orjson
import pytest
import zstandard
from fastapi import FastAPI
from fastapi.responses import Response, StreamingResponse

from tests.protection.conftest import ClientFor

DOCUMENT = {"items": [{"body": f"Post number {n} about shipping small things."} for n in range(50)]}
DECODERS = {
    "zstd": lambda data: zstandard.ZstdDecompressor().decompressobj().decompress(data),
    "br": brotli.decompress,
    "gzip": gzip.decompress,
}


def build(app: FastAPI) -> None:
    @app.get("/document")
    async def document() -> dict[str, object]:
        return DOCUMENT

    @app.get("/tiny")
    async def tiny() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/png")
    async def png() -> Response:
        return Response(b"\x89PNG" + bytes(4000), media_type="image/png")

    @app.get("/events")
    async def events() -> StreamingResponse:
        async def stream() -> AsyncIterator[bytes]:
            for n in range(3):
                yield f"data: {'x' * 400} {n}\n\n".encode()

        return StreamingResponse(stream(), media_type="text/event-stream")


async def raw_get(
    client_for: ClientFor, path: str, accept: str, **settings: object
) -> tuple[int, httpx.Headers, bytes]:
    """The answer's bytes as they came over the wire, not decoded by httpx."""
    async with (
        client_for(build, **settings) as (_app, client),
        client.stream("GET", path, headers={"Accept-Encoding": accept}) as answer,
    ):
        raw = b"".join([chunk async for chunk in answer.aiter_raw()])
        return answer.status_code, answer.headers, raw


@pytest.mark.parametrize("encoding", ["zstd", "br", "gzip"])
async def test_each_encoding_round_trips(client_for: ClientFor, encoding: str) -> None:
    status, headers, raw = await raw_get(client_for, "/document", encoding)
    assert status == 200
    assert headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in headers["Vary"]
    assert len(raw) < len(orjson.dumps(DOCUMENT)) / 3
    assert orjson.loads(DECODERS[encoding](raw)) == DOCUMENT


async def test_the_best_accepted_encoding_is_chosen(client_for: ClientFor) -> None:
    _, headers, _ = await raw_get(client_for, "/document", "gzip, deflate, br, zstd")
    assert headers["Content-Encoding"] == "zstd"
    _, headers, _ = await raw_get(client_for, "/document", "gzip;q=1.0, br;q=0.5")
    assert headers["Content-Encoding"] == "br"
    _, headers, raw = await raw_get(client_for, "/document", "identity")
    assert "Content-Encoding" not in headers
    assert orjson.loads(raw) == DOCUMENT


async def test_problems_are_compressed_too(client_for: ClientFor) -> None:
    async with client_for(build, compression_min_bytes=50) as (_app, client):
        answer = await client.get("/v1/users/me", headers={"Accept-Encoding": "gzip"})
    assert answer.status_code == 401
    assert answer.headers["Content-Encoding"] == "gzip"
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["code"] == "not_authenticated"  # httpx decoded it


@pytest.mark.parametrize("path", ["/tiny", "/png", "/events"])
async def test_small_bodies_compressed_types_and_event_streams_go_as_they_are(
    client_for: ClientFor, path: str
) -> None:
    status, headers, raw = await raw_get(client_for, path, "zstd, br, gzip")
    assert status == 200
    assert "Content-Encoding" not in headers
    if path == "/events":
        assert raw.count(b"data: ") == 3


async def test_compression_can_be_switched_off(client_for: ClientFor) -> None:
    _, headers, raw = await raw_get(client_for, "/document", "gzip", compression_enabled=False)
    assert "Content-Encoding" not in headers
    assert orjson.loads(raw) == DOCUMENT
