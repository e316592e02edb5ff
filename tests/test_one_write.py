"""An app's response in one socket write (one_write.py): the adapter on a real event loop over a
recording transport, then serve's protocol on a real server."""

import asyncio
import threading
from pathlib import Path
from typing import Any

import httptools
from fastapi.responses import StreamingResponse

from linkedin_posts.main import create_app
from linkedin_posts.one_write import HeadHeldForBody
from tests.conftest import make_settings
from tests.protection.test_server_shedding import Answer, Connection, get, running


class Recording(asyncio.Transport):
    """What reached the socket: each write, and whether it was closed."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        assert not self.closed, "written after close"
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


async def test_the_head_goes_with_the_body_and_later_writes_as_they_come() -> None:
    socket = Recording()
    transport = HeadHeldForBody(socket, asyncio.get_running_loop())
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    assert socket.writes == []
    transport.write(b"first")
    transport.write(b"second")
    await asyncio.sleep(0)  # the head's deadline passes: nothing is left to write
    assert socket.writes == [b"HTTP/1.1 200 OK\r\n\r\nfirst", b"second"]


async def test_a_head_whose_body_waits_goes_alone_once_the_due_callbacks_have_run() -> None:
    socket = Recording()
    transport = HeadHeldForBody(socket, asyncio.get_running_loop())
    transport.write(b"head")
    await asyncio.sleep(0)
    assert socket.writes == [b"head"]
    transport.write(b"body")
    assert socket.writes == [b"head", b"body"]


async def test_closing_writes_a_held_head_first_and_a_gone_client_gets_nothing() -> None:
    socket = Recording()
    transport = HeadHeldForBody(socket, asyncio.get_running_loop())
    transport.write(b"head")
    transport.close()
    assert (socket.writes, socket.closed, transport.is_closing()) == ([b"head"], True, True)

    gone = Recording()
    transport = HeadHeldForBody(gone, asyncio.get_running_loop())
    transport.write(b"head")
    gone.close()  # the client went before the loop came back to the held head
    await asyncio.sleep(0)
    assert gone.writes == []


def test_a_stream_s_head_reaches_the_client_before_its_first_event(tmp_path: Path) -> None:
    """Held for its body, a stream's head would wait for the first event; it goes at once."""
    first_event = threading.Event()
    app = create_app(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"))

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def events() -> Any:
            await asyncio.to_thread(first_event.wait, 5)
            yield b"data: first\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    with running(app) as port:
        caller = Connection(port)
        caller.send(get("/stream"))
        head = Answer()
        parser = httptools.HttpResponseParser(head)
        data = caller.sock.recv(65536)  # times out (5 s) if the head is held
        parser.feed_data(data)
        assert parser.get_status_code() == 200
        assert head.headers["content-type"].startswith("text/event-stream")
        assert head.body == b""  # no event yet
        first_event.set()
        while not head.complete:
            data = caller.sock.recv(65536)
            assert data, "the server closed the connection"
            parser.feed_data(data)
        assert head.body == b"data: first\n\n"
        # The connection serves its next request, answered whole.
        caller.send(get("/health/live"))
        assert caller.answer().status == 200
        caller.close()
