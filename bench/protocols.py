"""serve's HTTP protocol with one of its changes taken back, for bench/overload.py's `--http`.

    .venv/bin/python bench/overload.py --only overload --http protocols:StartedAsRead
    .venv/bin/python bench/overload.py --only overload --http protocols:KeepAliveTimers
    .venv/bin/python bench/overload.py --only overload --http protocols:WrittenEach
    .venv/bin/python bench/connections.py --app raw_hello:app \
        --http serve,protocols:HeadWrittenAlone

(uvicorn imports the class with bench/ on its path, as the app.) docs/benchmarks.md compares
them with serve's own in the same session:
- `StartedAsRead`: each request started as soon as its headers are read, as uvicorn does,
  instead of in arrival order a few per loop turn (arrival_order.py); for unpipelined load only
  (a pipelined request answered from memory would start the next one from within);
- `KeepAliveTimers`: uvicorn's keep-alive timer armed after every response, instead of the
  sweep of idle connections (idle_connections.py);
- `WrittenEach`: each answer made from memory written as soon as it is made, instead of with
  its turn's others at the turn's end (arrival_order.py);
- `HeadWrittenAlone`: the app's responses written as uvicorn writes them, the head when the app
  sends it and the body in a write of its own, instead of in one write (one_write.py).
"""

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from linkedin_posts.server_protocol import ServerProtocol


class WrittenEach(ServerProtocol):
    def _start_now(self, cycle: RequestResponseCycle, app: Any) -> None:
        # serve's, but for where the answer is written.
        answer = self._answer_now(cycle) if self._may_answer_now() else None
        if answer is None:
            self._hand_to_app(cycle, app)
        else:
            self._send_answer(cycle, answer)


class HeadWrittenAlone(ServerProtocol):
    def _hand_to_app(self, cycle: RequestResponseCycle, app: Any) -> None:
        HttpToolsProtocol._start_asgi_task(self, cycle, app)


class StartedAsRead(ServerProtocol):
    # Outside a turn, so written at once (serve's would wait for a turn's end that may not come).
    _start_asgi_task = WrittenEach._start_now


class KeepAliveTimers(ServerProtocol):
    connection_made = HttpToolsProtocol.connection_made
    on_response_complete = HttpToolsProtocol.on_response_complete
    _unset_keepalive_if_required = HttpToolsProtocol._unset_keepalive_if_required
