"""The event loop `linkedin-posts serve` runs: uvloop, letting bursts of new connections in at once.

libuv, under uvloop, accepts a single connection each time its loop polls (libuv/libuv#3696,
"unix: don't accept() connections in a loop"). A loop busy with requests polls every few tens
of milliseconds, so a burst of new connections is let in at a few dozen a second: under load, a
client that connects waits seconds before its first byte is read, a health probe as well
(docs/benchmarks.md, "New connections let in at once"). This loop's servers accept, after each
connection libuv accepts, what else waits on their listening sockets, up to the backlog a turn,
as asyncio's own loop does; each accepted socket gets a protocol from the same factory.
"""

import asyncio
import socket
from collections.abc import Callable
from typing import Any, cast

import structlog
import uvloop

logger = structlog.get_logger(__name__)

# Failures of accept() that concern one connection only (it was reset before it was accepted).
_SKIPPED = (ConnectionAbortedError, ConnectionResetError)


class _WaitingConnections:
    """Accepts what waits on a server's listening sockets, once a turn after libuv's accept."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        backlog: int,
    ) -> None:
        self.loop = loop
        self.protocol_factory = protocol_factory
        self.backlog = backlog
        self.server: asyncio.AbstractServer | None = None
        self.listening_fds: list[int] = []
        self.scheduled = False
        # The loop holds its tasks weakly: these are held here until their connection is made.
        self.attaching: set[asyncio.Task[None]] = set()

    def factory(self) -> asyncio.BaseProtocol:
        """The server's protocol factory: libuv has accepted one; let the others in this turn."""
        if not self.scheduled:
            self.scheduled = True
            self.loop.call_soon(self.accept_waiting)
        return self.protocol_factory()

    def accept_waiting(self) -> None:
        self.scheduled = False
        if self.server is None or not self.server.is_serving():
            return  # closed: its listening sockets may be closed already
        for fd in self.listening_fds:
            # A socket object over the server's own descriptor, detached again (not closed): a
            # duplicate would keep the port listening after the server closes.
            listener = socket.socket(fileno=fd)
            try:
                self._accept_from(listener)
            finally:
                listener.detach()

    def _accept_from(self, listener: socket.socket) -> None:
        for _ in range(self.backlog):
            try:
                connection, _address = listener.accept()
            except BlockingIOError:
                return
            except _SKIPPED:
                continue
            except OSError as exc:
                # Out of descriptors, say: libuv, accepting one a turn, copes as it can.
                logger.warning("accepting a waiting connection failed", error=str(exc))
                return
            task = self.loop.create_task(self._serve(connection))
            self.attaching.add(task)
            task.add_done_callback(self.attaching.discard)

    async def _serve(self, connection: socket.socket) -> None:
        try:
            await self.loop.connect_accepted_socket(self.protocol_factory, connection)
        except OSError:
            connection.close()  # reset meanwhile: nothing to serve


class Loop(uvloop.Loop):
    """uvloop's loop; uvicorn makes it from `loop="linkedin_posts.event_loop:Loop"`."""

    async def create_server(  # type: ignore[override]
        self,
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        host: Any = None,
        port: Any = None,
        *,
        backlog: int = 100,
        ssl: Any = None,
        **kwargs: Any,
    ) -> asyncio.AbstractServer:
        if ssl is not None:
            # `serve` does not terminate TLS (a proxy in front does): libuv's accept, as it is.
            server: asyncio.AbstractServer = await super().create_server(
                protocol_factory, host, port, backlog=backlog, ssl=ssl, **kwargs
            )
            return server
        waiting = _WaitingConnections(self, protocol_factory, backlog)
        server = await super().create_server(waiting.factory, host, port, backlog=backlog, **kwargs)
        waiting.server = server
        # uvloop's Server is typed as AbstractServer, but has asyncio.Server's `sockets`.
        sockets = cast(asyncio.Server, server).sockets
        waiting.listening_fds = [sock.fileno() for sock in sockets]
        return server
