"""Whole HTTP/1.1 answers as bytes, for those the server's protocol gives without an ASGI task
(server_protocol.py): what uvicorn's `send` writes for the same status, headers and body."""

from http import HTTPStatus

Headers = list[tuple[bytes, bytes]]

_STATUS_LINES = {
    status.value: b"HTTP/1.1 %d %s\r\n" % (status.value, status.phrase.encode())
    for status in HTTPStatus
}


def answer(
    status: int,
    headers: Headers,
    body: bytes,
    *,
    keep_alive: bool,
    default_headers: Headers,
    encoded_headers: bytes = b"",
) -> bytes:
    """`default_headers` are the server's (Date); `encoded_headers`, lines already encoded.

    The caller vouches for its header values (no CR or LF): they are its own, or checked.
    """
    return b"".join(
        [
            _STATUS_LINES[status],
            header_lines(default_headers),
            header_lines(headers),
            encoded_headers,
            b"" if keep_alive else b"connection: close\r\n",
            b"\r\n",
            body,
        ]
    )


def header_lines(headers: Headers) -> bytes:
    # One join per header, without the intermediate bytes that `+` makes.
    return b"\r\n".join(map(b": ".join, headers)) + b"\r\n" if headers else b""
