"""The project served by real gunicorn processes, for end-to-end tests.

Each server gets a listening socket opened here on a free loopback port and
handed over as ``fd://N``, so no port is guessed and none can be taken in
between. The processes of one test share a database (see ``scratch``)::

    env = server_environment(database_url, secret_key=secrets.token_urlsafe(40))
    prepare_database(env, admin=Credentials("admin", "admin-password-1"))
    server = start_server("accounts", {**env, "UCLOUD_SERVICES": "accounts"}, log_dir=tmp_path)
    wait_until_ready(server)            # /status answered 200; its body
    server.stop()
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from django.conf import settings

from ucloud.deploy.processes import clean_environment, manage, project_dir, start
from ucloud.testing import Credentials
from ucloud.testing.ports import listening_socket

READY_DEADLINE = 30.0
STOP_DEADLINE = 15.0
# Gunicorn's access log with the Caused-By header, which the kit's HTTP
# transport sends on calls made by another call (service to service).
ACCESS_LOG_FORMAT = "%(m)s %(U)s %(s)s caused_by=%({caused-by}i)s"
# Besides the topology's own: settings of this shell that would bend what a server does.
_BENDING = ("UCLOUD_FORCE_HTTP", "UCLOUD_SIGNING_KEY")


def server_environment(
    database_url: str, *, secret_key: str, settings_module: str | None = None
) -> dict[str, str]:
    """The environment every process of one test deployment shares.

    ``settings_module`` defaults to this process's own (the test settings).
    ``DATABASE_URL_<SERVICE>`` and the topology's variables of this shell are dropped.
    """
    env = clean_environment(drop=_BENDING)
    env.update(
        DJANGO_SETTINGS_MODULE=settings_module or settings.SETTINGS_MODULE,
        DATABASE_URL=database_url,
        DJANGO_SECRET_KEY=secret_key,
        PYTHONPATH=str(project_dir()),
        PYTHONUNBUFFERED="1",
    )
    return env


def prepare_database(env: Mapping[str, str], *, admin: Credentials) -> None:
    """Migrate the deployment's database and create its superuser."""
    manage(env, "migrate", "--noinput")
    superuser = {
        **env,
        "DJANGO_SUPERUSER_USERNAME": admin.username,
        "DJANGO_SUPERUSER_PASSWORD": admin.password,
        "DJANGO_SUPERUSER_EMAIL": f"{admin.username}@example.com",
    }
    manage(superuser, "createsuperuser", "--noinput")


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
    """Start gunicorn serving the project's WSGI application with ``env`` on a
    free loopback port (one worker, four threads)."""
    module, _, attribute = str(settings.WSGI_APPLICATION).rpartition(".")
    sock = listening_socket()
    port = sock.getsockname()[1]
    error_log = log_dir / f"{name}.log"
    access_log = log_dir / f"{name}.access.log"
    command = [
        sys.executable, "-m", "gunicorn", f"{module}:{attribute}",
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
    with sock:
        process = start(command, env=env, log=error_log, own_group=False, pass_fds=(sock.fileno(),))
    # The child holds its own copy of the socket now.
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
