"""Idle kept-alive connections are closed by a sweep (idle_connections.py), on a real uvicorn
server with serve's protocol and a keep-alive timeout of one second."""

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from linkedin_posts.idle_connections import SWEEP_SECONDS
from linkedin_posts.main import create_app
from tests.conftest import make_settings
from tests.protection.test_server_shedding import Connection, get, running

TIMEOUT = 1.0


@contextmanager
def server(tmp_path: Path) -> Iterator[int]:
    app = create_app(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"))

    @app.get("/slow")
    async def slow() -> dict[str, bool]:
        await asyncio.sleep(TIMEOUT + SWEEP_SECONDS + 0.5)  # longer than any idle allowance
        return {"slow": True}

    with running(app, timeout_keep_alive=TIMEOUT) as port:
        yield port


def seconds_until_closed(connection: Connection) -> float:
    """How long the server takes to close the connection (its recv returns b"")."""
    started = time.monotonic()
    connection.sock.settimeout(TIMEOUT + SWEEP_SECONDS + 5)
    try:
        assert connection.sock.recv(1) == b"", "the server sent something unasked"
    except TimeoutError:
        pytest.fail("the server kept an idle connection open")
    return time.monotonic() - started


def test_an_idle_connection_is_closed_after_the_timeout_and_within_a_sweep(
    tmp_path: Path,
) -> None:
    with server(tmp_path) as port:
        connection = Connection(port)
        connection.send(get("/health/live"))
        assert connection.answer().status == 200
        waited = seconds_until_closed(connection)
        # The clock the server notes idleness by is read once per loop turn: a few ms early.
        assert TIMEOUT - 0.05 <= waited <= TIMEOUT + SWEEP_SECONDS + 0.5
        connection.close()


def test_a_connection_in_use_is_not_closed(tmp_path: Path) -> None:
    with server(tmp_path) as port:
        busy = Connection(port)
        busy.send(get("/slow"))  # several sweeps pass while it is answered
        active = Connection(port)
        deadline = time.monotonic() + TIMEOUT + SWEEP_SECONDS + 0.5
        while time.monotonic() < deadline:  # a request every 0.3 s: never idle for long
            active.send(get("/health/live"))
            assert active.answer().status == 200
            time.sleep(0.3)  # the client's pace, not a wait for the server
        assert busy.answer().status == 200
        # Kept alive after all that: both answer again.
        for connection in (busy, active):
            connection.send(get("/health/live"))
            assert connection.answer().status == 200
            connection.close()


def test_a_connection_that_never_sends_is_closed_as_an_idle_one(tmp_path: Path) -> None:
    """uvicorn would keep it open: the keep-alive timeout starts when a connection is made."""
    with server(tmp_path) as port:
        silent = Connection(port)
        waited = seconds_until_closed(silent)
        assert TIMEOUT - 0.05 <= waited <= TIMEOUT + SWEEP_SECONDS + 0.5
        silent.close()


def test_empty_lines_do_not_keep_a_connection_open(tmp_path: Path) -> None:
    """uvicorn keeps a connection open on any bytes; empty lines begin no request."""
    with server(tmp_path) as port:
        connection = Connection(port)
        started = time.monotonic()
        connection.sock.settimeout(0.2)
        closed_after = None
        while closed_after is None and time.monotonic() - started < TIMEOUT + SWEEP_SECONDS + 2:
            try:
                connection.send(b"\r\n")
                if connection.sock.recv(1) == b"":
                    closed_after = time.monotonic() - started
            except TimeoutError:
                pass  # still open: the next empty line, at the client's pace
            except (BrokenPipeError, ConnectionResetError):
                closed_after = time.monotonic() - started
        assert closed_after is not None, "empty lines kept the connection open"
        assert TIMEOUT - 0.05 <= closed_after <= TIMEOUT + SWEEP_SECONDS + 0.5
