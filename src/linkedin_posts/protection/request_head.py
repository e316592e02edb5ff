"""Limits on a request's head (its request line and headers), for `linkedin-posts serve`'s protocol.

uvicorn's httptools protocol has none: a client could send headers without end (50 MB of them
cost the worker 112 MB and were answered 200), or a head's first bytes and then nothing, holding
the connection for good (slowloris). nginx stops both in the scale-out shape
(`large_client_header_buffers`, `client_header_timeout`); a process serving clients itself needs
its own. So the protocol (server_protocol.py) refuses, and then closes the connection:

- a head longer than LP_MAX_HEADER_BYTES (its target, header names and values): 431
  `headers_too_large`, or 414 `uri_too_long` when the target alone is. A complete head is
  measured when it came in more than one read or in one longer than the cap (a head within one
  short read cannot be over it); a head still arriving is refused once the bytes after the read
  it began in pass the cap, so that one without end is stopped before it ends;
- a head not complete LP_HEADER_TIMEOUT_SECONDS after its first byte: 408
  `request_head_timeout`, from the sweep that closes idle connections (idle_connections.py),
  so between the timeout and a second later;
- a request the parser cannot read: 400 `malformed_request` (uvicorn answers it in plain text).

Each is problem+json with the security headers, counted in `lp_http_request_heads_refused_total`
by reason, and ends the connection (after the answer to a previous request still in progress).
A slow body is the request deadline's (504 `request_timeout`), as the app reads it.
"""

from dataclasses import dataclass

import orjson

from linkedin_posts import http1
from linkedin_posts.config import Settings
from linkedin_posts.errors import PROBLEM_CONTENT_TYPE, problem_document
from linkedin_posts.observability.metrics import HTTP_REQUEST_HEADS_REFUSED
from linkedin_posts.protection.security_headers import security_headers

STATE_KEY = "request_head"
# How long a refused connection is kept to read and drop what its client still sends (nginx's
# lingering close), so that the client reads the refusal rather than a reset.
LINGER_SECONDS = 5.0


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    reason: str  # the metric's label
    detail: str


TOO_LARGE = Refusal(
    431, "headers_too_large", "too_large", "The request's headers exceed the server's limit."
)
URI_TOO_LONG = Refusal(
    414, "uri_too_long", "too_large", "The request line exceeds the server's header limit."
)
TIMED_OUT = Refusal(
    408, "request_head_timeout", "timeout", "The request's headers did not arrive in time."
)
MALFORMED = Refusal(400, "malformed_request", "malformed", "The request could not be read as HTTP.")


class RequestHeadLimits:
    """What the server needs to bound and refuse a request's head as the app would answer."""

    def __init__(self, settings: Settings) -> None:
        self.max_bytes = settings.max_header_bytes
        self.timeout_seconds = settings.header_timeout_seconds
        self.headers = http1.header_lines(
            [
                (b"content-type", PROBLEM_CONTENT_TYPE.encode()),
                *security_headers(https=settings.https),
            ]
        )

    def answer(self, refusal: Refusal, default_headers: http1.Headers) -> bytes:
        """The whole answer; the connection is closed after it, as what follows cannot be read."""
        HTTP_REQUEST_HEADS_REFUSED.labels(refusal.reason).inc()
        document = problem_document(status=refusal.status, code=refusal.code, detail=refusal.detail)
        body = orjson.dumps(document)
        return http1.answer(
            refusal.status,
            [(b"content-length", b"%d" % len(body))],
            body,
            keep_alive=False,
            default_headers=default_headers,
            encoded_headers=self.headers,
        )
