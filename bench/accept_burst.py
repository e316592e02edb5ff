"""How fast a busy event loop accepts a burst of new connections: uvloop, serve's loop, asyncio.

    .venv/bin/python bench/accept_burst.py [--connections 300] [--busy-ms 5]

A server on loopback whose every message costs `--busy-ms` of CPU is kept busy by 20 clients
sending without pause; then `--connections` new connections arrive at once (their handshakes
complete in the kernel). Printed: when the server had accepted the last of them, and how many
loop iterations that took. libuv, under uvloop, accepts one connection each time the loop polls
(libuv/libuv#3696: "unix: don't accept() connections in a loop"), so a burst waits as many
iterations as it has connections; asyncio accepts up to its backlog at each poll, and so does
`serve`'s loop (linkedin_posts/event_loop.py), uvloop's with that one change. This was the
wait seen in the first second of bench/overload.py (docs/benchmarks.md). Loopback only; about
8 s; stops by itself.
"""

import argparse
import asyncio
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import uvloop

from linkedin_posts import event_loop

T = TypeVar("T")

HAMMERS = 20


class Busy(asyncio.Protocol):
    def __init__(self, accepted: list[float], busy_s: float, burst: "Burst") -> None:
        self.accepted = accepted
        self.busy_s = busy_s
        self.burst = burst

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.accepted.append(time.perf_counter())
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        if len(self.accepted) >= self.burst.size:
            self.burst.all_accepted.set()

    def data_received(self, data: bytes) -> None:
        end = time.perf_counter() + self.busy_s
        while time.perf_counter() < end:  # the CPU a request costs
            pass
        self.transport.write(b"x")


class Burst:
    def __init__(self, size: int) -> None:
        self.size = size
        self.all_accepted = asyncio.Event()


def hammer(port: int, stop: threading.Event) -> None:
    sockets = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(HAMMERS)]
    while not stop.is_set():
        for sock in sockets:
            sock.send(b"a")
        for sock in sockets:
            sock.recv(16)
    for sock in sockets:
        sock.close()


async def burst(connections: int, busy_s: float) -> tuple[float, int]:
    loop = asyncio.get_running_loop()
    accepted: list[float] = []
    iterations = 0

    def tick() -> None:
        nonlocal iterations
        iterations += 1
        loop.call_soon(tick)

    # The hammers' connections count until the burst starts (a size out of reach).
    measured = Burst(size=10**9)
    server = await loop.create_server(
        lambda: Busy(accepted, busy_s, measured), "127.0.0.1", 0, backlog=4096
    )
    port = server.sockets[0].getsockname()[1]
    stop = threading.Event()
    thread = threading.Thread(target=hammer, args=(port, stop), daemon=True)
    thread.start()
    await asyncio.sleep(0.5)
    accepted.clear()
    measured.size = connections
    tick()
    started, counted_from = time.perf_counter(), iterations
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(connections)]
    try:
        await asyncio.wait_for(measured.all_accepted.wait(), 30)
        took = accepted[-1] - started
    except TimeoutError:
        took = float("inf")
    stop.set()
    thread.join(5)
    for client in clients:
        client.close()
    server.close()
    return took, iterations - counted_from


def run_on_serves_loop(main: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=event_loop.Loop) as runner:
        return runner.run(main)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=300)
    parser.add_argument("--busy-ms", type=float, default=5.0)
    args = parser.parse_args()
    runners: dict[str, Callable[..., tuple[float, int]]] = {
        "uvloop": uvloop.run,
        "serve's": run_on_serves_loop,
        "asyncio": asyncio.run,
    }
    for name, run in runners.items():
        took, iterations = run(burst(args.connections, args.busy_ms / 1000))
        print(
            f"{name:8} {args.connections} connections accepted in {took * 1000:7.0f} ms, "
            f"over {iterations} loop iterations"
        )


if __name__ == "__main__":
    main()
