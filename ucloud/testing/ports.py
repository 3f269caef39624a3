"""Loopback ports for the processes of a test: free ones, or a socket already listening.

``free_port`` asks the OS for a port nobody listens on (another process may
still take it before ours binds it); ``listening_socket`` removes even that
race by opening the socket here and handing it to the server (gunicorn's
``--bind fd://N``)::

    port = free_port()                    # and port + 100, + 200 free too: free_port(count=3)
    with listening_socket() as sock:
        start_gunicorn(bind=f"fd://{sock.fileno()}")
"""

from __future__ import annotations

import socket

HOST = "127.0.0.1"


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port(*, step: int = 100, count: int = 1) -> int:
    """A loopback port that is free, as are ``port + step * i`` for i < count
    (the ports of a unit's replicas, see ``Unit.local_ports``)."""
    while True:
        with socket.socket() as sock:
            sock.bind((HOST, 0))
            port: int = sock.getsockname()[1]
        extra = [port + step * i for i in range(1, count)]
        if all(p <= 65535 and _is_free(p) for p in extra):
            return port


def listening_socket() -> socket.socket:
    """A socket listening on a free loopback port, inheritable by a child process."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock
