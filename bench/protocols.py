"""serve's HTTP protocol with one of its changes taken back, for bench/overload.py's `--http`.

    .venv/bin/python bench/overload.py --only overload --http protocols:StartedAsRead
    .venv/bin/python bench/overload.py --only overload --http protocols:KeepAliveTimers

(uvicorn imports the class with bench/ on its path, as the app.) docs/benchmarks.md compares
them with serve's own in the same session:
- `StartedAsRead`: each request started as soon as its headers are read, as uvicorn does,
  instead of in arrival order a few per loop turn (arrival_order.py); for unpipelined load only
  (a pipelined request answered from memory would start the next one from within);
- `KeepAliveTimers`: uvicorn's keep-alive timer armed after every response, instead of the
  sweep of idle connections (idle_connections.py).
"""

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from linkedin_posts.server_protocol import ServerProtocol


class StartedAsRead(ServerProtocol):
    _start_asgi_task = ServerProtocol._start_now


class KeepAliveTimers(ServerProtocol):
    connection_made = HttpToolsProtocol.connection_made
    on_response_complete = HttpToolsProtocol.on_response_complete
    _unset_keepalive_if_required = HttpToolsProtocol._unset_keepalive_if_required
