"""An httpx2 transport that stops reading a response past a size cap.

httpx reads a whole body into memory before anyone can look at it; a provider (or whatever
answers at its address) sending gigabytes would take the process down with it. This transport
counts the bytes as they arrive and raises ProviderBadResponse as soon as there are too many,
or before reading any when Content-Length already says so. The openai SDK lets exceptions that
are not httpx's through unchanged, so the provider sees ours.

It asks for an uncompressed body: a cap on compressed bytes says little about what they
decompress to, so a compressed answer, which the server was asked not to send, is refused.
"""

import urllib.request
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx2

from linkedin_posts.generation.exceptions import ProviderBadResponse


class BoundedTransport(httpx2.AsyncBaseTransport):
    def __init__(self, max_bytes: int, *, inner: httpx2.AsyncBaseTransport) -> None:
        self.max_bytes = max_bytes
        self._inner = inner

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        request.headers["Accept-Encoding"] = "identity"
        response = await self._inner.handle_async_request(request)
        length = response.headers.get("Content-Length", "")
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        refusal = None
        if length.isdigit() and int(length) > self.max_bytes:
            refusal = self.too_big()
        elif encoding not in ("", "identity"):
            refusal = ProviderBadResponse(
                f"The AI provider sent a {encoding}-compressed body, which was not asked for."
            )
        if refusal is not None:
            await response.aclose()
            raise refusal
        stream = response.stream
        assert isinstance(stream, httpx2.AsyncByteStream)
        return httpx2.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_BoundedStream(stream, self),
            extensions=response.extensions,
            request=request,
        )

    def too_big(self) -> ProviderBadResponse:
        return ProviderBadResponse(
            f"The AI provider sent more than {self.max_bytes} bytes; the answer was dropped."
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


class _BoundedStream(httpx2.AsyncByteStream):
    def __init__(self, inner: httpx2.AsyncByteStream, transport: BoundedTransport) -> None:
        self._inner = inner
        self._transport = transport

    async def __aiter__(self) -> AsyncIterator[bytes]:
        read = 0
        async for chunk in self._inner:
            read += len(chunk)
            if read > self._transport.max_bytes:
                raise self._transport.too_big()
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


def bounded_transport(base_url: str, *, max_bytes: int, max_connections: int) -> BoundedTransport:
    """A BoundedTransport over a connection pool to `base_url`.

    httpx ignores HTTPS_PROXY and NO_PROXY when it is given a transport, so they are read here,
    the way it would have.
    """
    parts = urlsplit(base_url)
    proxy = None
    if not (parts.hostname and urllib.request.proxy_bypass(parts.hostname)):
        proxy = urllib.request.getproxies().get(parts.scheme)
    limits = httpx2.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    return BoundedTransport(max_bytes, inner=httpx2.AsyncHTTPTransport(limits=limits, proxy=proxy))
