"""A free loopback port, for the servers the tests start (uvicorn, redis-server, nginx, ...)."""

import socket


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
