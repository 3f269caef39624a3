"""Fixtures for the kit's tests: registry snapshots, tiny HTTP servers, audit capture.

def test_x(kit_registries, http_server):
    url, requests = http_server(RespondWithJson)
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ucloud.contracts import calls
from ucloud.rpc import implementations

# Every request line and header set a tiny server received, in order.
Captured = list[dict[str, str]]
ServerFactory = Callable[[type[BaseHTTPRequestHandler]], tuple[str, Captured]]


@pytest.fixture
def kit_registries() -> Iterator[None]:
    """Restore the kit registries after a test declares its own calls and controllers.

    Test-only containers and controllers must not leak into other tests, the
    URL routes or the system checks.
    """
    saved = {call: list(impls) for call, impls in implementations._implementations.items()}
    containers = dict(calls._containers)
    yield
    implementations._implementations.clear()
    implementations._implementations.update(saved)
    calls._containers.clear()
    calls._containers.update(containers)


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def http_server() -> Iterator[ServerFactory]:
    """Start ``ThreadingHTTPServer``s on free ports; stopped after the test.

    The handler class may append to ``self.server.captured`` (a list shared
    with the test) to report what it received.
    """
    servers: list[ThreadingHTTPServer] = []
    threads: list[threading.Thread] = []

    def start(handler: type[BaseHTTPRequestHandler]) -> tuple[str, Captured]:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        captured: Captured = []
        server.captured = captured  # type: ignore[attr-defined]
        # A short poll keeps shutdown() quick at teardown.
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        thread.start()
        servers.append(server)
        threads.append(thread)
        return f"http://127.0.0.1:{server.server_address[1]}", captured

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
    for thread in threads:
        thread.join()


@pytest.fixture
def silent_server() -> Iterator[tuple[str, list[socket.socket]]]:
    """A listening socket that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


@pytest.fixture
def audit_log(
    caplog: pytest.LogCaptureFixture, settings: Any
) -> Iterator[pytest.LogCaptureFixture]:
    """Capture INFO records of ``ucloud.audit``, which does not propagate to
    root. Records are only logged: producing them needs the database
    (tests of the trail itself live in tests/apps/audit)."""
    settings.UCLOUD = {**settings.UCLOUD, "AUDIT": False}
    audit_logger = logging.getLogger("ucloud.audit")
    level = audit_logger.level
    audit_logger.setLevel(logging.INFO)
    audit_logger.addHandler(caplog.handler)
    yield caplog
    audit_logger.removeHandler(caplog.handler)
    audit_logger.setLevel(level)
