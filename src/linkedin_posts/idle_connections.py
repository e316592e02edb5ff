"""Kept-alive connections closed once idle for the keep-alive timeout, by one sweep a second.

uvicorn arms a timer after every response and cancels it when the connection's next request
arrives: a timer made, put in libuv's heap (one per connection) and thrown away for every request.
Under an overload over 1,000 connections the sweep below answered 3-13% more cached reads
(docs/benchmarks.md, "Idle connections swept"). Here a connection notes when it fell idle, and
one timer per server closes every SWEEP_SECONDS those idle for the timeout or longer: an idle
connection is closed between the timeout (uvicorn's `timeout_keep_alive`) and a sweep later.
The same sweep refuses a request whose head has been arriving for longer than `head_timeout`
(protection/request_head.py).
"""

import asyncio
from collections.abc import Iterable
from typing import Any

SWEEP_SECONDS = 1.0


class IdleSweeper:
    """Closes a server's connections idle for `timeout` seconds or longer."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        connections: Iterable[Any],
        timeout: float,
        head_timeout: float | None = None,
    ) -> None:
        self.loop = loop
        self.connections = connections
        self.timeout = timeout
        self.head_timeout = head_timeout
        self.next_sweep: asyncio.TimerHandle | None = None

    def watch(self) -> None:
        """A connection has fallen idle (or a head may come on it): a sweep will come."""
        if self.next_sweep is None:
            self.next_sweep = self.loop.call_later(SWEEP_SECONDS, self.sweep)

    def sweep(self) -> None:
        self.next_sweep = None
        now = self.loop.time()
        sweep_again = False
        # A copy: closing a connection takes it out of the server's set.
        for connection in list(self.connections):
            # A head still arriving is not idle, whatever the connection noted before it.
            head_since: float | None = getattr(connection, "head_since", None)
            if head_since is not None and self.head_timeout is not None:
                if now - head_since < self.head_timeout:
                    sweep_again = True
                else:
                    connection.time_out_head()
                continue
            # Only our protocol's connections note it (a WebSocket's do not, and keep theirs).
            idle_since: float | None = getattr(connection, "idle_since", None)
            if idle_since is None:
                continue
            if now - idle_since >= self.timeout:
                connection.idle_since = None
                connection.timeout_keep_alive_handler()
            else:
                sweep_again = True
        if sweep_again:
            self.watch()
