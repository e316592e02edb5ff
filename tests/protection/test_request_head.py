"""A request's head bounded in size and time (protection/request_head.py), on a real uvicorn server
with serve's protocol: a cap of 4 KiB and a timeout of one second."""

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httptools
import orjson
import pytest
from prometheus_client import REGISTRY

from linkedin_posts.idle_connections import SWEEP_SECONDS
from linkedin_posts.main import create_app
from tests.conftest import make_settings
from tests.protection.test_server_shedding import Answer, Connection, get, running

MAX_BYTES = 4096
TIMEOUT = 1.0
SLOW_SECONDS = TIMEOUT + SWEEP_SECONDS + 0.5  # longer than a head may take


@contextmanager
def server(tmp_path: Path) -> Iterator[int]:
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
        max_header_bytes=MAX_BYTES,
        header_timeout_seconds=TIMEOUT,
    )
    app = create_app(settings)

    @app.get("/slow")
    async def slow() -> dict[str, bool]:
        await asyncio.sleep(SLOW_SECONDS)
        return {"slow": True}

    with running(app, timeout_keep_alive=5) as port:
        yield port


def refused(reason: str) -> float:
    labels = {"reason": reason}
    return REGISTRY.get_sample_value("lp_http_request_heads_refused_total", labels) or 0.0


def filler_headers(total: int) -> bytes:
    line = b"X-Filler: " + b"a" * 90 + b"\r\n"
    return line * (total // len(line))


def send_all_you_can(connection: Connection, data: bytes) -> None:
    """Send `data`; the server may stop reading it once it has refused (it reads and drops what
    follows for a while, then closes)."""
    with suppress(BrokenPipeError, ConnectionResetError):
        connection.send(data)


def assert_problem(answer: Answer, status: int, code: str) -> None:
    assert answer.status == status
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["connection"] == "close"
    assert answer.headers["x-content-type-options"] == "nosniff"
    body = orjson.loads(answer.body)
    assert body["status"] == status
    assert body["code"] == code


class Answers:
    """Every answer a connection received until the server closed it."""

    def __init__(self, connection: Connection) -> None:
        self.all: list[Answer] = []
        self.parser = httptools.HttpResponseParser(self)
        connection.sock.settimeout(10)
        while data := connection.sock.recv(65536):
            self.parser.feed_data(data)
        connection.close()

    def on_message_begin(self) -> None:
        self.all.append(Answer())

    def on_header(self, name: bytes, value: bytes) -> None:
        self.all[-1].on_header(name, value)

    def on_headers_complete(self) -> None:
        self.all[-1].status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        self.all[-1].on_body(body)


def assert_closed(connection: Connection) -> None:
    connection.sock.settimeout(10)
    assert connection.sock.recv(1) == b"", "the server kept the connection open"
    connection.close()


def assert_still_serving(port: int) -> None:
    fresh = Connection(port)
    fresh.send(get("/health/live"))
    assert fresh.answer().status == 200
    fresh.close()


@pytest.mark.parametrize("pieces", [1, 9])
def test_a_head_within_the_cap_is_served(tmp_path: Path, pieces: int) -> None:
    head = get("/health/live", (filler_headers(MAX_BYTES - 200)).decode())
    assert MAX_BYTES - 300 < len(head) <= MAX_BYTES
    with server(tmp_path) as port:
        connection = Connection(port)
        size = -(-len(head) // pieces)
        for start in range(0, len(head), size):
            connection.send(head[start : start + size])
            time.sleep(0.02)  # the client's pace: the server reads the head in several reads
        assert connection.answer().status == 200
        connection.close()


@pytest.mark.parametrize(("past_the_cap", "status"), [(0, 200), (1, 431), (20_000, 431)])
def test_a_whole_head_is_measured_against_the_cap(
    tmp_path: Path, past_the_cap: int, status: int
) -> None:
    """Sent at once (the server may read it in one go): measured when complete. The cap counts
    the target, header names and values: here /health/live, Host test and X-Filler."""
    value = "a" * (MAX_BYTES + past_the_cap - len("/health/livehosttestx-filler"))
    head = get("/health/live", f"X-Filler: {value}\r\n")
    with server(tmp_path) as port:
        connection = Connection(port)
        send_all_you_can(connection, head)
        answer = connection.answer()
        if status == 200:
            assert answer.status == 200
        else:
            assert_problem(answer, 431, "headers_too_large")
            assert_closed(connection)


def test_headers_past_the_cap_get_431_and_the_connection_ends(tmp_path: Path) -> None:
    before = refused("too_large")
    with server(tmp_path) as port:
        connection = Connection(port)
        # 1 MB of headers: more than the server reads at once, so the cap is seen.
        send_all_you_can(connection, b"GET /health/live HTTP/1.1\r\nHost: test\r\n")
        send_all_you_can(connection, filler_headers(1_000_000))
        assert_problem(connection.answer(), 431, "headers_too_large")
        assert_closed(connection)
        assert_still_serving(port)
    assert refused("too_large") == before + 1


def test_a_request_target_past_the_cap_gets_414(tmp_path: Path) -> None:
    with server(tmp_path) as port:
        connection = Connection(port)
        send_all_you_can(connection, b"GET /" + b"a" * 1_000_000 + b" HTTP/1.1\r\n")
        assert_problem(connection.answer(), 414, "uri_too_long")
        assert_closed(connection)


def test_a_head_that_stops_arriving_gets_408_after_the_timeout(tmp_path: Path) -> None:
    before = refused("timeout")
    with server(tmp_path) as port:
        connection = Connection(port)
        started = time.monotonic()
        connection.send(b"GET /health/live HTTP/1.1\r\nHost: test\r\n")  # and no end
        answer = connection.answer()
        waited = time.monotonic() - started
        assert_problem(answer, 408, "request_head_timeout")
        # The clock the server notes the head's start by is read once per loop turn.
        assert TIMEOUT - 0.05 <= waited <= TIMEOUT + SWEEP_SECONDS + 0.5
        assert_closed(connection)
        assert_still_serving(port)
    assert refused("timeout") == before + 1


def test_a_slow_head_that_ends_in_time_is_served(tmp_path: Path) -> None:
    head = get("/health/live", "X-Slow: yes\r\n")
    with server(tmp_path) as port:
        connection = Connection(port)
        for start in range(0, len(head), 10):  # about 0.6 s in all, within the timeout
            connection.send(head[start : start + 10])
            time.sleep(0.1)  # the client's pace
        assert connection.answer().status == 200
        # Kept alive: the next request is served too.
        connection.send(get("/health/live"))
        assert connection.answer().status == 200
        connection.close()


def test_a_malformed_request_gets_400_problem_json(tmp_path: Path) -> None:
    before = refused("malformed")
    with server(tmp_path) as port:
        connection = Connection(port)
        connection.send(b"THIS IS NOT HTTP\r\n\r\n")
        assert_problem(connection.answer(), 400, "malformed_request")
        assert_closed(connection)
    assert refused("malformed") == before + 1


def test_a_pipelined_head_past_the_cap_is_refused_after_the_answer_before_it(
    tmp_path: Path,
) -> None:
    too_large = get("/health/live", filler_headers(2 * MAX_BYTES).decode())
    with server(tmp_path) as port:
        connection = Connection(port)
        send_all_you_can(connection, get("/slow") + too_large + get("/health/live"))
        first, refusal = Answers(connection).all  # and nothing for the request after it
        assert first.status == 200
        assert_problem(refusal, 431, "headers_too_large")


@pytest.mark.parametrize("second", ["stalled", "too_large"])
def test_a_refusal_follows_the_answer_still_in_progress(tmp_path: Path, second: str) -> None:
    """A pipelining client: the next head's refusal must not cut into the answer before it."""
    with server(tmp_path) as port:
        connection = Connection(port)
        connection.send(get("/slow"))
        if second == "stalled":
            connection.send(b"GET /health/live HTTP/1.1\r\nHost: te")  # times out during /slow
        else:
            send_all_you_can(connection, b"GET /health/live HTTP/1.1\r\n" + filler_headers(10**6))
        first, refusal = Answers(connection).all  # in this order, then the connection ends
        assert first.status == 200
        assert orjson.loads(first.body) == {"slow": True}
        status, code = (
            (408, "request_head_timeout") if second == "stalled" else (431, "headers_too_large")
        )
        assert_problem(refusal, status, code)
