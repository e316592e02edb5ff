"""`serve`'s event loop lets a burst of new connections in at once (event_loop.py)."""

import asyncio
import socket
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest
import uvloop

from linkedin_posts import event_loop

T = TypeVar("T")
BURST = 60
HOST = "127.0.0.1"


class Echo(asyncio.Protocol):
    made: list["Echo"]

    def __init__(self, made: list["Echo"]) -> None:
        self.made = made

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.made.append(self)

    def data_received(self, data: bytes) -> None:
        self.transport.write(data.upper())


def run_on(
    loop_factory: Callable[[], asyncio.AbstractEventLoop], main: Coroutine[Any, Any, T]
) -> T:
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(main)


async def turns_to_let_in(clients: list[socket.socket]) -> tuple[int, list[Echo]]:
    """Loop turns until a burst of `BURST` connections, all waiting at once, is accepted."""
    loop = asyncio.get_running_loop()
    made: list[Echo] = []
    server = await loop.create_server(lambda: Echo(made), HOST, 0, backlog=512)
    port: int = server.sockets[0].getsockname()[1]
    # The loop runs none of its callbacks meanwhile: every handshake completes in the kernel,
    # and the whole burst waits on the listening socket, as behind a busy turn.
    clients.extend(socket.create_connection((HOST, port), timeout=5) for _ in range(BURST))
    turns = 0
    while len(made) < BURST and turns < 10 * BURST:
        await asyncio.sleep(0)  # one turn: the loop polls, then runs what became ready
        turns += 1
    server.close()
    await server.wait_closed()
    return turns, made


def close_all(clients: list[socket.socket]) -> None:
    for client in clients:
        client.close()


def burst_on(loop_factory: Callable[[], asyncio.AbstractEventLoop]) -> tuple[int, int]:
    """Loop turns to let a burst in, and the connections made."""
    clients: list[socket.socket] = []
    try:
        turns, made = run_on(loop_factory, turns_to_let_in(clients))
    finally:
        close_all(clients)
    return turns, len(made)


def test_serves_loop_lets_a_burst_in_within_a_few_turns() -> None:
    turns, made = burst_on(event_loop.Loop)
    assert made == BURST
    assert turns <= 4


def test_plain_uvloop_lets_one_in_a_turn() -> None:
    """Why the loop exists: should libuv accept in a loop again, this fails and it can go."""
    turns, made = burst_on(uvloop.new_event_loop)
    assert made == BURST
    assert turns >= BURST - 1


async def burst_served() -> tuple[list[bytes], list[Echo], int]:
    loop = asyncio.get_running_loop()
    made: list[Echo] = []
    server = await loop.create_server(lambda: Echo(made), HOST, 0, backlog=512)
    port: int = server.sockets[0].getsockname()[1]
    clients = [socket.create_connection((HOST, port), timeout=5) for _ in range(BURST)]
    try:
        for i, client in enumerate(clients):
            client.sendall(f"hello {i}".encode())
        readers = [loop.sock_recv(client, 64) for client in clients]
        for client in clients:
            client.setblocking(False)
        answers = await asyncio.wait_for(asyncio.gather(*readers), 10)
    finally:
        close_all(clients)
        server.close()
        await server.wait_closed()
    return answers, made, port


def test_each_connection_let_in_is_served_by_a_protocol_of_its_own() -> None:
    answers, made, _ = run_on(event_loop.Loop, burst_served())
    assert answers == [f"HELLO {i}".encode() for i in range(BURST)]
    assert len({id(protocol) for protocol in made}) == BURST


def test_a_closed_server_no_longer_listens() -> None:
    _, _, port = run_on(event_loop.Loop, burst_served())
    # Nothing of the loop's own (a duplicate of the listening socket) kept the port open.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((HOST, port), timeout=5).close()
