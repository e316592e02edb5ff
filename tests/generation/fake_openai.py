"""A real OpenAI-compatible HTTP server on loopback, scripted one answer per request.

It speaks the chat-completions wire format (JSON, and server-sent events with `"stream": true`),
so the real openai SDK, httpx2 and our transport run against it unchanged. Tests queue steps:

    with FakeOpenAI().running() as fake:
        fake.queue(status(429, headers={"Retry-After": "1"}), reply("Hello"))
        ...
        assert fake.requests[0].body["model"] == "gpt-4o-mini"

With the queue empty it answers DEFAULT_POST, a post that passes validation. As a process, for
the benchmark, it answers every request with DEFAULT_POST after `--delay` seconds, or with
`--vary` a different text each time (DEFAULT_POST naming the answer's number), as a model would:

    python -m tests.generation.fake_openai --port 8765 --delay 0.3 [--vary]
"""

import argparse
import asyncio
import contextlib
import gzip
import json
import logging
import re
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

DEFAULT_POST = """\
Most teams don't have a speed problem. They have a waiting problem.

Last quarter we measured where our lead time went. Writing the code took two days. Waiting \
for a review, a test environment and a sign-off took nine.

So we changed three things:
- Reviews within four working hours, shared by the whole team.
- One test environment per pull request, created automatically.
- Small changes behind feature flags, so sign-off happens in production.

Lead time dropped from eleven days to three, and nobody worked longer hours.

Where does the waiting hide in your team's week?

#SoftwareEngineering #DevOps #Leadership"""

SSE_HEADERS = {"Cache-Control": "no-cache"}


@dataclass(frozen=True, slots=True)
class Seen:
    """A request as the server received it."""

    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


class Step:
    """One scripted answer."""

    async def respond(self, fake: "FakeOpenAI", seen: Seen) -> Response:
        raise NotImplementedError


@dataclass(frozen=True)
class Reply(Step):
    text: str
    finish_reason: str = "stop"
    usage: tuple[int, int] | None = None

    async def respond(self, fake: "FakeOpenAI", seen: Seen) -> Response:
        body = seen.body
        usage = self.usage or _estimate_usage(body, self.text)
        if body.get("stream"):
            events = _completion_events(body, split_chunks(self.text), self.finish_reason, usage)
            return _sse(_paced(events, fake, 0.0))
        return JSONResponse(_completion(body, self.text, self.finish_reason, usage))


@dataclass(frozen=True)
class Status(Step):
    code: int
    headers: dict[str, str] = field(default_factory=dict)
    message: str | None = None
    error_code: str | None = None

    async def respond(self, fake: "FakeOpenAI", seen: Seen) -> Response:
        message = self.message or _error_message(self.code, seen.authorization)
        error = {"message": message, "type": _error_type(self.code), "param": None}
        error["code"] = self.error_code
        return JSONResponse({"error": error}, status_code=self.code, headers=self.headers)


@dataclass(frozen=True)
class Hang(Step):
    seconds: float

    async def respond(self, fake: "FakeOpenAI", seen: Seen) -> Response:
        await fake.pause(self.seconds)
        return await Reply(DEFAULT_POST).respond(fake, seen)


@dataclass(frozen=True)
class Malformed(Step):
    async def respond(self, fake: "FakeOpenAI", seen: Seen) -> Response:
        return Response(b'{"id": "chatcmpl-1", "choices": [{"mess', media_type="application/json")


@dataclass(frozen=True)
class Raw(Step):
    content: str
    media_type: str

    async def respond(self, fake: "FakeOpenAI", seen: Seen) -> Response:
        return Response(self.content, media_type=self.media_type)


@dataclass(frozen=True)
class Huge(Step):
    size: int
    content_length: bool = False

    async def respond(self, fake: "FakeOpenAI", seen: Seen) -> Response:
        head = b'{"id":"chatcmpl-huge","object":"chat.completion","created":0,"model":"m",'
        head += b'"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant",'
        head += b'"content":"'
        tail = b'"}}]}'
        filler = self.size - len(head) - len(tail)
        piece = b"a" * 65536

        async def chunks() -> AsyncIterator[bytes]:
            yield head
            left = filler
            while left > 0:
                yield piece[:left]
                left -= len(piece)
                # A turn of the loop, so a client's hang-up is noticed and writes stop.
                await asyncio.sleep(0)
            yield tail

        headers = {"Content-Length": str(self.size)} if self.content_length else None
        return StreamingResponse(chunks(), media_type="application/json", headers=headers)


@dataclass(frozen=True)
class SlowStream(Step):
    text: str
    pause: float

    async def respond(self, fake: "FakeOpenAI", seen: Seen) -> Response:
        events = _completion_events(seen.body, split_chunks(self.text), "stop", (10, 10))
        return _sse(_paced(events, fake, self.pause))


@dataclass(frozen=True)
class Compressed(Step):
    """A gzip-compressed completion, whatever the request's Accept-Encoding said."""

    async def respond(self, fake: "FakeOpenAI", seen: Seen) -> Response:
        usage = _estimate_usage(seen.body, DEFAULT_POST)
        raw = json.dumps(_completion(seen.body, DEFAULT_POST, "stop", usage)).encode()
        return Response(
            gzip.compress(raw), media_type="application/json", headers={"Content-Encoding": "gzip"}
        )


class _Dropped(Exception):
    """Raised inside a response to make uvicorn cut the connection."""


@dataclass(frozen=True)
class StreamThenDrop(Step):
    text: str = DEFAULT_POST

    async def respond(self, fake: "FakeOpenAI", seen: Seen) -> Response:
        async def events() -> AsyncIterator[bytes]:
            chunks = split_chunks(self.text)
            for event in list(_completion_events(seen.body, chunks, "stop", None))[:3]:
                yield event
            raise _Dropped

        return _sse(events())


def reply(
    text: str = DEFAULT_POST, *, finish_reason: str = "stop", usage: tuple[int, int] | None = None
) -> Step:
    return Reply(text, finish_reason, usage)


def status(
    code: int,
    *,
    headers: dict[str, str] | None = None,
    message: str | None = None,
    error_code: str | None = None,
) -> Step:
    return Status(code, headers or {}, message, error_code)


def hang(seconds: float) -> Step:
    return Hang(seconds)


def malformed() -> Step:
    return Malformed()


def raw(content: str, *, media_type: str = "application/json") -> Step:
    """A 200 with exactly `content` as its body."""
    return Raw(content, media_type)


def huge(size: int, *, content_length: bool = False) -> Step:
    return Huge(size, content_length)


def compressed() -> Step:
    return Compressed()


def slow_stream(text: str, pause: float) -> Step:
    return SlowStream(text, pause)


def stream_then_drop(text: str = DEFAULT_POST) -> Step:
    return StreamThenDrop(text)


def varied_post(tag: str, number: int) -> str:
    """DEFAULT_POST made unique by one sentence naming `tag` and `number`."""
    head, rest = DEFAULT_POST.split("\n\n", 1)
    return f"{head}\n\nThis is note {number} of series {tag}.\n\n{rest}"


def split_chunks(text: str) -> list[str]:
    """The pieces a stream of `text` comes in: three words (and their spaces) each."""
    words = re.findall(r"\s*\S+\s*", text) or [text]
    return ["".join(words[i : i + 3]) for i in range(0, len(words), 3)]


class FakeOpenAI:
    def __init__(self, *, delay: float = 0.0, vary: bool = False) -> None:
        self.delay = delay
        # With the queue empty: a different text each time (a tag of this server, a number).
        self.vary = vary
        self.tag = secrets.token_hex(4)
        self.answered = 0
        self.requests: list[Seen] = []
        self._steps: deque[Step] = deque()
        self._stopping: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self.url = ""
        self.app = Starlette(
            routes=[Route("/v1/chat/completions", self._chat, methods=["POST"])],
            lifespan=self._lifespan,
        )

    def queue(self, *steps: Step) -> None:
        self._steps.extend(steps)

    def reset(self) -> None:
        self._steps.clear()
        self.requests.clear()

    async def pause(self, seconds: float) -> None:
        """Wait `seconds`, or less when the server stops."""
        assert self._stopping is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._ready.set()
        yield

    async def _chat(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"error": {"message": "invalid JSON"}}, status_code=400)
        seen = Seen(body, dict(request.headers))
        self.requests.append(seen)
        step = self._steps.popleft() if self._steps else Reply(self._default_text())
        if self.delay:
            await self.pause(self.delay)
        return await step.respond(self, seen)

    def _default_text(self) -> str:
        if not self.vary:
            return DEFAULT_POST
        self.answered += 1
        return varied_post(self.tag, self.answered)

    @contextlib.contextmanager
    def running(self) -> Iterator["FakeOpenAI"]:
        """Serve on a free loopback port in a thread of its own until the block ends."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)  # bound and listening before the thread: no port race, no wait
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(
            self.app,
            # uvloop: asyncio's loop, in a thread, answered keep-alive requests 40 ms late.
            loop="auto",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            if not self._ready.wait(10):
                raise RuntimeError("the fake OpenAI server did not start")
            yield self
        finally:
            server.should_exit = True
            if self._loop is not None and self._stopping is not None:
                self._loop.call_soon_threadsafe(self._stopping.set)
            thread.join(10)
            sock.close()


class _QuietDrops(logging.Filter):
    """Keep the deliberate connection drops out of the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], _Dropped))


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())


def _completion(
    body: dict[str, Any], text: str, finish_reason: str, usage: tuple[int, int]
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish_reason,
            }
        ],
        "usage": _usage_json(usage),
    }


def _completion_events(
    body: dict[str, Any], chunks: list[str], finish_reason: str, usage: tuple[int, int] | None
) -> Iterator[bytes]:
    def event(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        data = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": body.get("model", "fake"),
            "choices": choices,
            **extra,
        }
        return f"data: {json.dumps(data)}\n\n".encode()

    def choice(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"index": 0, "delta": delta, "finish_reason": finish}

    yield event([choice({"role": "assistant", "content": ""})])
    for text in chunks:
        yield event([choice({"content": text})])
    yield event([choice({}, finish_reason)])
    if usage and (body.get("stream_options") or {}).get("include_usage"):
        yield event([], usage=_usage_json(usage))
    yield b"data: [DONE]\n\n"


async def _paced(events: Iterator[bytes], fake: FakeOpenAI, pause: float) -> AsyncIterator[bytes]:
    for number, item in enumerate(events):
        if pause and number > 1:  # the role and first text go at once, then a pause each
            await fake.pause(pause)
        yield item


def _sse(events: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(events, media_type="text/event-stream", headers=SSE_HEADERS)


def _usage_json(usage: tuple[int, int]) -> dict[str, int]:
    prompt, completion = usage
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _estimate_usage(body: dict[str, Any], text: str) -> tuple[int, int]:
    """Roughly OpenAI's four characters a token."""
    sent = sum(len(str(m.get("content", ""))) for m in body.get("messages", []))
    return max(1, sent // 4), max(1, len(text) // 4)


def _error_type(code: int) -> str:
    return {
        401: "invalid_request_error",
        429: "requests",
        400: "invalid_request_error",
    }.get(code, "server_error" if code >= 500 else "invalid_request_error")


def _error_message(code: int, authorization: str | None) -> str:
    if code == 401:
        # As OpenAI does: the key it was given, quoted back.
        key = (authorization or "").removeprefix("Bearer ")
        return f"Incorrect API key provided: {key}. You can find your API key in your account."
    if code == 429:
        return "Rate limit reached for requests. Please try again in 1s."
    return f"The server had an error while processing your request (HTTP {code})."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument(
        "--vary", action="store_true", help="a different text in each answer (default: the same)"
    )
    args = parser.parse_args()
    fake = FakeOpenAI(delay=args.delay, vary=args.vary)
    uvicorn.run(fake.app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
