"""Real server processes for end-to-end tests: gunicorn serving ``config.wsgi``.

Each server gets a listening socket opened here on a free loopback port and
handed over as ``fd://N``, so no port is guessed and none can be taken in
between. A scratch database is shared by the processes of one deployment::

    with scratch_database(tmp_path) as database_url:
        prepare_database(env)
        server = start_server("accounts", env, log_dir=tmp_path)
        wait_until_ready(server)
        ...
        server.stop()
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from psycopg import sql

from deploy.databases import is_postgres, maintenance_connection

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_DEADLINE = 30.0
STOP_DEADLINE = 15.0
# Gunicorn's access log with the Caused-By header, which the kit's HTTP
# transport sends on calls made by another call (service to service).
ACCESS_LOG_FORMAT = "%(m)s %(U)s %(s)s caused_by=%({caused-by}i)s"
# Inherited settings that would change a process's topology behind our back.
_TOPOLOGY_VARIABLES = (
    "UCLOUD_SERVICES",
    "UCLOUD_SERVICE_URLS",
    "UCLOUD_GATEWAY_URL",
    "UCLOUD_FORCE_HTTP",
    "UCLOUD_SIGNING_KEY",
)


def base_environment(database_url: str, secret_key: str) -> dict[str, str]:
    """Environment shared by every process of one deployment."""
    env = {k: v for k, v in os.environ.items() if k not in _TOPOLOGY_VARIABLES}
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=database_url,
        DJANGO_SECRET_KEY=secret_key,
        PYTHONPATH=str(REPO_ROOT),
        PYTHONUNBUFFERED="1",
    )
    return env


def manage(env: Mapping[str, str], *args: str) -> None:
    """Run ``manage.py`` with ``args``; fail with its output when it fails."""
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "manage.py"), *args],
        env=dict(env),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"manage.py {' '.join(args)} exited {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr}"
        )


def prepare_database(env: Mapping[str, str], *, admin: str, password: str) -> None:
    """Migrate the deployment's database and create its superuser."""
    manage(env, "migrate", "--noinput")
    superuser = {
        **env,
        "DJANGO_SUPERUSER_USERNAME": admin,
        "DJANGO_SUPERUSER_PASSWORD": password,
        "DJANGO_SUPERUSER_EMAIL": f"{admin}@example.com",
    }
    manage(superuser, "createsuperuser", "--noinput")


@contextmanager
def scratch_database(tmp_path: Path) -> Iterator[str]:
    """URL of a new, empty database, removed afterwards.

    A fresh PostgreSQL database on the server ``DATABASE_URL`` names when it
    is PostgreSQL, else a SQLite file under ``tmp_path``.
    """
    configured = os.environ.get("DATABASE_URL", "")
    if not configured or not is_postgres(configured):
        yield f"sqlite:///{tmp_path / 'e2e.sqlite3'}"
        return
    name = f"ucloud_e2e_{secrets.token_hex(6)}"
    with maintenance_connection(configured) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlsplit(configured)._replace(path=f"/{name}").geturl()
    finally:
        with maintenance_connection(configured) as conn:
            # FORCE: a server that did not exit cleanly may hold a connection.
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(name)))


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


@dataclass
class ServerProcess:
    """A gunicorn process and the files it writes its logs to."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    error_log: Path
    access_log: Path
    _stopped: bool = field(default=False, repr=False)

    def logs(self) -> str:
        """Gunicorn's error log (Django tracebacks land here), for failure reports."""
        text = self.error_log.read_text(errors="replace") if self.error_log.exists() else ""
        return f"--- {self.name} ({self.url}) log ---\n{text}"

    def access_lines(self) -> list[str]:
        """Lines of the access log; complete only once the server has stopped."""
        if not self.access_log.exists():
            return []
        return self.access_log.read_text().splitlines()

    def stop(self) -> None:
        """Stop gracefully (finishing requests and logs), killing after a deadline."""
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_DEADLINE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_DEADLINE)


def start_server(name: str, env: Mapping[str, str], *, log_dir: Path) -> ServerProcess:
    """Start gunicorn serving ``config.wsgi`` with ``env`` on a free loopback port."""
    sock = _listening_socket()
    port = sock.getsockname()[1]
    error_log = log_dir / f"{name}.log"
    access_log = log_dir / f"{name}.access.log"
    command = [
        sys.executable, "-m", "gunicorn", "config.wsgi",
        "--bind", f"fd://{sock.fileno()}",
        "--workers", "1", "--threads", "4",
        "--graceful-timeout", "5",
        # The default control socket path is one per user: two servers would share it.
        "--no-control-socket",
        "--error-logfile", str(error_log),
        "--access-logfile", str(access_log),
        "--access-logformat", ACCESS_LOG_FORMAT,
    ]  # fmt: skip
    # Output before gunicorn's own logging starts (import errors) goes to
    # the same file as its error log.
    with sock, error_log.open("ab") as output:
        process = subprocess.Popen(
            command,
            env=dict(env),
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            pass_fds=(sock.fileno(),),
        )
    # The child holds its own copies of the socket and the file now.
    return ServerProcess(name, f"http://127.0.0.1:{port}", process, error_log, access_log)


def wait_until_ready(server: ServerProcess, deadline: float = READY_DEADLINE) -> dict[str, object]:
    """Poll ``/status`` until it answers 200; return its body.

    Fails early when the process exits, and after ``deadline`` seconds.
    """
    give_up = time.monotonic() + deadline
    last_error = "no answer yet"
    while time.monotonic() < give_up:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited early\n{server.logs()}")
        try:
            response = httpx.get(f"{server.url}/status", timeout=2.0)
        except httpx.TransportError as exc:
            last_error = repr(exc)
        else:
            if response.status_code == 200:
                body: dict[str, object] = response.json()
                return body
            last_error = f"{response.status_code} {response.text}"
        time.sleep(0.1)
    raise RuntimeError(f"{server.name} not ready after {deadline}s: {last_error}\n{server.logs()}")
