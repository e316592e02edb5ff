"""`linkedin-posts serve`'s HTTP protocol: uvicorn's httptools one, answering two kinds of request
itself, as soon as their headers are parsed, without an ASGI task:

- a GET of a post this process holds in memory, for a caller it knows (cache/front_door.py,
  `answer_now`), with everything the app's stack would add: request id, rate limit and its
  headers, security headers, compression, ETag/304, access log and metrics; even beyond the
  in-flight cap, as it takes no task;
- beyond the app's in-flight cap, the 503 `overloaded` refusal of anything else
  (protection/server_shedding.py).

A cached read is the service's most frequent request and costs little next to the ASGI round
it would otherwise take: a task, a scope handed through the app's middleware, two `send`
messages whose headers uvicorn checks one by one. Answered here it is one write
(docs/benchmarks.md, "Cached reads answered by the server").

The app hands what the protocol needs to it through the lifespan state (ASGI's way for an app to
share what it built at start-up), so an app that shares nothing is served as by plain uvicorn.
Anything the protocol cannot answer at once (the rate limiter must ask Redis, a refusal, a miss,
a request with a body) goes to the app as usual, and its answer is written in one write
(one_write.py).

Every request, answered here or by the app, starts in the order requests arrived, a few per
event-loop turn, and the answers made here are written together at the turn's end
(arrival_order.py); idle kept-alive connections are closed by a sweep instead of a timer per
response (idle_connections.py). A request's head is bounded in size and in time, which uvicorn
does not do (protection/request_head.py).
"""

import asyncio
import sys
from typing import Any
from weakref import WeakKeyDictionary

import httptools
import structlog
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from linkedin_posts.arrival_order import ArrivalQueue
from linkedin_posts.cache import front_door
from linkedin_posts.idle_connections import IdleSweeper
from linkedin_posts.one_write import HeadHeldForBody
from linkedin_posts.protection import request_head, server_shedding

logger = structlog.get_logger(__name__)

# What all the connections of one uvicorn server share, on its loop: keyed by its ServerState.
_per_server: "WeakKeyDictionary[object, tuple[ArrivalQueue, IdleSweeper]]" = WeakKeyDictionary()


class ServerProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_limits: request_head.RequestHeadLimits | None = self.app_state.get(
            request_head.STATE_KEY
        )
        shared = _per_server.get(self.server_state)
        if shared is None:
            head_timeout = self.head_limits.timeout_seconds if self.head_limits else None
            sweeper = IdleSweeper(
                self.loop, self.connections, self.timeout_keep_alive, head_timeout
            )
            shared = _per_server[self.server_state] = (ArrivalQueue(self.loop), sweeper)
        self.arrivals, self.idle_sweeper = shared
        self.idle_since: float | None = None  # see idle_connections.py
        # While a request's head is arriving: when it began, and its bytes after the read it
        # began in (request_head.py).
        self.head_since: float | None = None
        self.head_bytes = 0
        self.read_size = 0  # of the read being parsed
        self.max_head_bytes = self.head_limits.max_bytes if self.head_limits else sys.maxsize
        self.refusal_due: request_head.Refusal | None = None  # once the answer in progress ends
        self.lingering = False

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        # uvicorn calls this once a request's headers are in (or a pipelined one's turn comes).
        if self.lingering:
            return  # a request refused before it: nothing after it is answered
        # A head that came in several reads, or in one read longer than the cap, is measured.
        may_be_over = self.head_since is not None or self.read_size > self.max_head_bytes
        if may_be_over and self._head_refused(cycle):
            return
        self.arrivals.add(self._start_now, cycle, app)

    def _start_now(self, cycle: RequestResponseCycle, app: Any) -> None:
        answer = self._answer_now(cycle) if self._may_answer_now() else None
        if answer is None:
            self._hand_to_app(cycle, app)
            return
        # Written with the turn's other answers once its starts are done (arrival_order.py).
        # Meanwhile nothing else runs: the connection is still open and this its only request.
        self.arrivals.at_turn_end(self._send_answer, cycle, answer)

    def _hand_to_app(self, cycle: RequestResponseCycle, app: Any) -> None:
        cycle.transport = HeadHeldForBody(self.transport, self.loop)  # one_write.py
        super()._start_asgi_task(cycle, app)

    def _send_answer(self, cycle: RequestResponseCycle, answer: bytes) -> None:
        self.transport.write(answer)
        # As uvicorn ends a response: what is left of the body is read and dropped, and the
        # connection serves its next request (or its queued pipelined one).
        cycle.response_complete = True
        if not cycle.keep_alive:
            self.transport.close()
        self.on_response_complete()

    def data_received(self, data: bytes) -> None:
        # uvicorn's, with no keep-alive timer to cancel, and a request's head watched.
        if self.lingering:
            return  # after a refusal: what the client still sends is dropped
        scope, head_was_arriving = self.scope, self.head_since is not None
        self.read_size = len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.head_limits is None:
                self.logger.warning("Invalid HTTP request received.")
                self.send_400_response("Invalid HTTP request received.")
            else:
                self._refuse_head(request_head.MALFORMED)  # problem+json, not plain text
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        # uvicorn makes a scope when a request begins and a cycle of it once its head is in.
        began = self.scope is not scope
        if began or head_was_arriving:
            # Only a request keeps a connection from being idle: bytes that begin none, such as
            # empty lines sent now and then, do not hold it open as they would under uvicorn.
            self.idle_since = None
            if self.cycle is not None and self.cycle.scope is self.scope:
                self.head_since = None  # complete
            elif began:
                self.head_since, self.head_bytes = self.loop.time(), 0
            else:
                self._head_went_on(len(data))

    def _head_went_on(self, size: int) -> None:
        """A whole read of a head still arriving, which began in an earlier read: a head that
        never ends is refused before it is all in."""
        self.head_bytes += size
        if self.head_bytes > self.max_head_bytes:
            # uvicorn's url holds what has arrived of the request's target.
            too_long = len(self.url) > self.max_head_bytes
            self._refuse_head(request_head.URI_TOO_LONG if too_long else request_head.TOO_LARGE)

    def _head_refused(self, cycle: RequestResponseCycle) -> bool:
        """A complete head over the cap (its target, header names and values) is refused."""
        if self.head_limits is None:
            return False
        scope = cycle.scope
        target = len(scope["raw_path"]) + len(scope["query_string"])
        if target > self.max_head_bytes:
            self._write_refusal(request_head.URI_TOO_LONG)
        elif target + sum(len(n) + len(v) for n, v in scope["headers"]) > self.max_head_bytes:
            self._write_refusal(request_head.TOO_LARGE)
        else:
            return False
        return True

    def time_out_head(self) -> None:
        """The sweep's: a head has been arriving for too long."""
        self._refuse_head(request_head.TIMED_OUT)

    def _refuse_head(self, refusal: request_head.Refusal) -> None:
        """Refuse the head still arriving (or unreadable)."""
        self.head_since = None
        if self.cycle is not None and not self.cycle.response_complete:
            # The previous request's answer is still to be written (a pipelining client):
            # nothing more is read, and the refusal follows that answer.
            self.refusal_due = refusal
            self.flow.pause_reading()
            return
        self._write_refusal(refusal)

    def _write_refusal(self, refusal: request_head.Refusal) -> None:
        assert self.head_limits is not None
        self.lingering = True  # nothing after a refused request is read or answered
        if self.transport.is_closing():
            return  # the client has gone, or the server is closing it: no one to tell
        logger.warning("request head refused", status=refusal.status, reason=refusal.reason)
        self.transport.write(self.head_limits.answer(refusal, self.server_state.default_headers))
        # Closed at once with unread bytes, the socket would reset the connection, and the
        # client could lose the answer before reading it: our side is shut instead, and what
        # the client still sends is read and dropped until it closes, for LINGER_SECONDS at most.
        self.transport.write_eof()
        self.flow.resume_reading()
        self.loop.call_later(request_head.LINGER_SECONDS, self.transport.close)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # Idle until its first request: one that never sends is closed as any idle one (uvicorn
        # would leave it open).
        self._fell_idle()

    def on_response_complete(self) -> None:
        # uvicorn's, but for its keep-alive timer: the connection notes that it is idle.
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        if self.refusal_due is not None:
            self._refuse_head(self.refusal_due)
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            if not self._head_refused(cycle):  # its head was read with others': measured here
                self._start_asgi_task(cycle, app)
        else:
            self._fell_idle()

    def _fell_idle(self) -> None:
        self.idle_since = self.loop.time()
        self.idle_sweeper.watch()

    def _may_answer_now(self) -> bool:
        # A client that does not read its answers gets no more written until it does, as
        # uvicorn's `send` waits; one that has gone is the app's to handle, as uvicorn would.
        # (A pipelined request may be answered: the next one is queued, not started, from
        # on_response_complete.)
        return not self.flow.write_paused and not self.transport.is_closing()

    def _answer_now(self, cycle: RequestResponseCycle) -> bytes | None:
        scope: dict[str, Any] = cycle.scope  # type: ignore[assignment]
        default_headers = self.server_state.default_headers
        door: front_door.CachedReadFrontDoor | None = self.app_state.get(front_door.STATE_KEY)
        if door is not None:
            # First, even at the cap: a read answered from memory takes no task and no slot, so
            # refusing it would give nothing to the requests in flight (docs/benchmarks.md).
            try:
                answer = door.answer_now(
                    scope, keep_alive=cycle.keep_alive, default_headers=default_headers
                )
            except Exception:
                # The app answers it instead, with its own error handling.
                logger.exception("answering a cached read in the server failed")
                answer = None
            if answer is not None:
                return answer
        shedding: server_shedding.ServerShedding | None = self.app_state.get(
            server_shedding.STATE_KEY
        )
        if shedding is not None and shedding.refuses(scope, self.tasks):
            return shedding.refusal(
                scope, keep_alive=cycle.keep_alive, default_headers=default_headers
            )
        return None
