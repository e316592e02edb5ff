"""Load shedding in the HTTP server (protection/server_shedding.py), on a real uvicorn server.

The app runs under uvicorn in a thread of the test process, with the protocol class
`linkedin-posts serve` gives it; the client speaks HTTP/1.1 over loopback sockets.
"""

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httptools
import orjson
import pytest
import uvicorn
from fastapi import FastAPI, Request
from prometheus_client import REGISTRY

from linkedin_posts import cli
from linkedin_posts.main import create_app
from linkedin_posts.server_protocol import ServerProtocol
from tests.conftest import make_settings
from tests.ports import free_port

HOST = "127.0.0.1"


@contextmanager
def running(app: FastAPI, http: Any = ServerProtocol, **settings: Any) -> Iterator[int]:
    """Serve `app` under uvicorn (serve's loop and protocol, and `settings` for its Config) in
    a thread; yield its port."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host=HOST,
        port=port,
        http=http,
        loop="uvloop",
        lifespan="on",
        log_level="warning",
        **settings,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "the server stopped while starting"
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


class Answer:
    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = b""
        self.complete = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode().lower()] = value.decode()

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.complete = True


class Connection:
    """One kept-alive connection: send raw requests, read answers one at a time."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection((HOST, port), timeout=5)

    def send(self, raw: bytes) -> None:
        self.sock.sendall(raw)

    def answer(self) -> Answer:
        answer = Answer()
        parser = httptools.HttpResponseParser(answer)
        while not answer.complete:
            data = self.sock.recv(65536)
            assert data, "the server closed the connection"
            parser.feed_data(data)
        answer.status = parser.get_status_code()
        return answer

    def close(self) -> None:
        self.sock.close()


def get(path: str, extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: test\r\n{extra}\r\n".encode()


def held_post(path: str, length: int, extra: str = "") -> bytes:
    """A POST whose body has not arrived: its request stays in flight until it does."""
    head = f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {length}\r\n{extra}\r\n"
    return head.encode()


def shed_so_far() -> float:
    return REGISTRY.get_sample_value("lp_http_requests_shed_total") or 0.0


def refused_so_far() -> float:
    labels = {"method": "GET", "route": "<unmatched>", "status": "503"}
    return REGISTRY.get_sample_value("lp_http_requests_total", labels) or 0.0


AppFor = Callable[..., FastAPI]


@pytest.fixture
def app_for(tmp_path: Path) -> AppFor:
    def make(build: Callable[[FastAPI], None], **overrides: object) -> FastAPI:
        url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
        app = create_app(make_settings(url, **overrides))
        build(app)
        return app

    return make


def echo_routes(app: FastAPI) -> None:
    @app.post("/echo")
    async def echo(request: Request) -> dict[str, str]:
        return {"body": (await request.body()).decode()}

    @app.get("/fast")
    async def fast() -> dict[str, bool]:
        return {"fast": True}


def test_beyond_the_cap_the_server_answers_the_apps_503_before_the_app(app_for: AppFor) -> None:
    app = app_for(echo_routes, max_in_flight=2)
    with running(app) as port:
        holders = [Connection(port) for _ in range(2)]
        for holder in holders:
            holder.send(held_post("/echo", 5))
        time.sleep(0.3)  # both requests are in the app, waiting for their bodies
        shed, refused = shed_so_far(), refused_so_far()

        caller = Connection(port)
        caller.send(get("/fast", "X-Request-ID: caller-1\r\n"))
        answer = caller.answer()

        assert answer.status == 503
        assert answer.headers["content-type"] == "application/problem+json"
        assert orjson.loads(answer.body) == {
            "type": "https://linkedin-posts.dev/problems/overloaded",
            "title": "Service Unavailable",
            "status": 503,
            "detail": "The server is at capacity; retry shortly.",
            "code": "overloaded",
            "instance": "/fast",
        }
        assert answer.headers["retry-after"] == "1"
        assert answer.headers["x-request-id"] == "caller-1"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["content-security-policy"].startswith("default-src 'none'")
        assert "connection" not in answer.headers  # kept alive
        assert shed_so_far() == shed + 1
        assert refused_so_far() == refused + 1

        caller.send(get("/health/live"))  # probes get through, on the same connection
        assert caller.answer().status == 200

        for holder in holders:  # the bodies arrive: both answered, capacity back
            holder.send(b"hello")
            held = holder.answer()
            assert (held.status, orjson.loads(held.body)) == (200, {"body": "hello"})
        caller.send(get("/fast"))
        assert caller.answer().status == 200
        for connection in [*holders, caller]:
            connection.close()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"Content-Length: 6\r\n\r\nrefuse", id="content-length"),
        pytest.param(
            b"Transfer-Encoding: chunked\r\n\r\n3\r\nref\r\n3\r\nuse\r\n0\r\n\r\n", id="chunked"
        ),
    ],
)
def test_a_refused_requests_body_is_dropped_and_the_connection_goes_on(
    app_for: AppFor, body: bytes
) -> None:
    app = app_for(echo_routes, max_in_flight=1)
    with running(app) as port:
        holder = Connection(port)
        holder.send(held_post("/echo", 4))
        time.sleep(0.3)
        caller = Connection(port)
        caller.send(b"POST /echo HTTP/1.1\r\nHost: test\r\n" + body)
        assert caller.answer().status == 503

        holder.send(b"free")
        assert holder.answer().status == 200
        # The refused body was read and dropped: the next request on the connection is parsed
        # from its own first byte.
        caller.send(b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 4\r\n\r\nnext")
        answer = caller.answer()
        assert (answer.status, orjson.loads(answer.body)) == (200, {"body": "next"})
        holder.close()
        caller.close()


def blocking_routes(entered: threading.Event) -> Callable[[FastAPI], None]:
    def build(app: FastAPI) -> None:
        echo_routes(app)

        @app.get("/block")
        async def block() -> dict[str, bool]:
            entered.set()
            time.sleep(0.5)  # noqa: ASYNC251 - the point: the loop reads nothing meanwhile
            return {"blocked": True}

    return build


def burst_while_the_loop_is_busy(app: FastAPI, http: Any, count: int) -> list[int]:
    """Statuses of `count` cheap requests that arrive while the event loop is blocked.

    Each becomes a task the loop has not run yet when the next is read, so only a count of
    the server's tasks sees them all at once.
    """
    entered: threading.Event = app.state.entered
    with running(app, http) as port:
        callers = [Connection(port) for _ in range(count)]
        blocker = Connection(port)
        blocker.send(get("/block"))
        assert entered.wait(5)
        for caller in callers:
            caller.send(get("/fast"))
        statuses = [caller.answer().status for caller in callers]
        assert blocker.answer().status == 200
        for connection in [*callers, blocker]:
            connection.close()
    return statuses


def test_requests_waiting_for_the_event_loop_count_against_the_cap(app_for: AppFor) -> None:
    entered = threading.Event()
    app = app_for(blocking_routes(entered), max_in_flight=4)
    app.state.entered = entered
    statuses = burst_while_the_loop_is_busy(app, ServerProtocol, 12)
    assert sorted(statuses) == [200] * 4 + [503] * 8


def test_the_apps_own_count_misses_them(app_for: AppFor) -> None:
    """Why the server refuses: under plain uvicorn the same burst gets past the app's cap."""
    entered = threading.Event()
    app = app_for(blocking_routes(entered), max_in_flight=4)
    app.state.entered = entered
    statuses = burst_while_the_loop_is_busy(app, "httptools", 12)
    assert statuses.count(200) > 4


def test_an_app_that_shares_no_cap_is_served_as_by_plain_uvicorn() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    with running(app) as port:  # type: ignore[arg-type]
        connection = Connection(port)
        connection.send(get("/anything"))
        assert connection.answer().body == b"ok"
        connection.close()


def test_serve_runs_uvicorn_with_the_shedding_protocol() -> None:
    config = uvicorn.Config("linkedin_posts.main:create_app", http=cli.HTTP_PROTOCOL)
    config.load()
    assert config.http_protocol_class is ServerProtocol
