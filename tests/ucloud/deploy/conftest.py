"""Fixtures of the deployment tests: a sample topology, nginx, stub upstreams.

``sample_topology`` has three units like config/topology.toml, with two
replicas of files; ``nginx`` is the binary (CI fails without it, elsewhere
the test is skipped); ``Gateway`` runs a generated nginx.conf for real.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require
from ucloud.deploy.processes import find_nginx
from ucloud.deploy.topology import Topology, parse_topology

SAMPLE = """
[gateway]
port = 9080
hosts = ["ucloud.example.com", "api.example.com"]
tls_secret = "example-tls"
login_rate = "10r/m"
login_burst = 5

[resources.worker]
limits = { memory = "768Mi" }

[units.accounts]
services = ["accounts"]
port = 9001
admin = true
workers = 0

[units.files]
services = ["files"]
port = 9002
replicas = 2
resources = { web = { requests = { cpu = "500m" } } }

[units.notifications]
services = ["notifications", "audit"]
port = 9003
beat = true
"""
READY_DEADLINE = 15.0


def sample_data() -> dict[str, Any]:
    return tomllib.loads(SAMPLE)


@pytest.fixture
def sample_topology() -> Topology:
    return parse_topology(sample_data(), source="sample.toml")


@pytest.fixture
def nginx() -> str:
    path = find_nginx()
    require(shutil.which(path) is not None, "nginx (Debian package nginx)")
    return path


def nginx_test(nginx: str, conf: Path) -> subprocess.CompletedProcess[str]:
    """``nginx -t`` of ``conf``, with every file nginx touches under its folder."""
    folder = str(conf.parent)
    command = [nginx, "-t", "-e", f"{folder}/nginx-error.log", "-p", folder, "-c", str(conf)]
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)


class StubUnit:
    """An HTTP server standing in for a unit: answers every request with what it saw."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.requests: list[dict[str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as nginx's upstream connections use

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                seen = {"unit": stub.name, "path": self.path, "headers": dict(self.headers)}
                stub.requests.append(seen)
                body = json.dumps(seen).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        # A short poll: shutdown() waits for it.
        serve = lambda: self.server.serve_forever(poll_interval=0.05)  # noqa: E731
        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Gateway:
    """nginx running ``conf`` in the foreground, stopped at the end of the test."""

    stubs: dict[str, StubUnit]

    def __init__(self, nginx: str, conf: Path, port: int) -> None:
        folder = str(conf.parent)
        self.url = f"http://127.0.0.1:{port}"
        self.log = conf.parent / "nginx-error.log"
        self.process = subprocess.Popen(
            [nginx, "-e", str(self.log), "-p", folder, "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        self._wait_listening(port)

    def _wait_listening(self, port: int) -> None:
        give_up = time.monotonic() + READY_DEADLINE
        while time.monotonic() < give_up:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.log.read_text(errors='replace')}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx not listening on {port}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # fast shutdown of master and workers
            self.process.wait(timeout=15)
