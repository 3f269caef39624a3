"""The whole system apart on this machine: every unit of a topology as real processes.

Built from what ``make up`` uses (``ucloud.deploy``: the topology, the
generated Procfile, env files and nginx.conf, ``process_specs()``), but the
processes are started here, each in a process group of its own, instead of
under honcho: killing one unit must leave the others running::

    topology = free_topology(REPO / "config/topology.toml", suffix="ab12")
    apart = ApartDeployment(topology, run_dir, server_url=pg, redis_url=redis, admin=admin)
    apart.prepare()              # files, databases, keys, migrations, administrator
    apart.start()                # every process; apart.wait_ready()
    apart.kill("notifications")  # SIGKILL each of its process groups
    apart.start("notifications"); apart.wait_ready(["notifications"])
    apart.stop(); apart.drop_databases()
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
from psycopg import sql

from deploy.databases import create_unit_databases, maintenance_connection
from tests.events.processes import group_members
from tests.scenario.scenario import Credentials
from ucloud.deploy import LocalRun, generate
from ucloud.deploy.environment import TOPOLOGY_VARIABLES, unit_environment
from ucloud.deploy.files import write_files
from ucloud.deploy.procfile import ProcessSpec, process_specs
from ucloud.deploy.topology import Topology, load_topology
from ucloud.management.commands.ucloud_deploy import find_nginx, root_user, service_namespaces

REPO = Path(__file__).resolve().parents[2]
READY_DEADLINE = 60.0
STOP_DEADLINE = 15.0
COMMAND_TIMEOUT = 120.0
# What a Celery worker logs once it consumes its queues.
WORKER_READY = " ready."
# Variables of this shell that would bend the deployment: the topology's own
# (each env file sets or clears them) and the test run's settings module
# (the deployment runs the project's settings, config.settings).
_DROPPED = (*TOPOLOGY_VARIABLES, "DJANGO_SETTINGS_MODULE", "CELERY_BROKER_URL", "UCLOUD_FORCE_HTTP")


def free_port(step: int = 100, count: int = 1) -> int:
    """A loopback port that is free, as are ``port + step * i`` for i < count."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        extra = [port + step * i for i in range(1, count)]
        if all(p <= 65535 and _is_free(p) for p in extra):
            return port


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_topology(path: Path, *, suffix: str) -> Topology:
    """The topology at ``path`` on free ports, with databases named ``apart_<unit>_<suffix>``."""
    topology = load_topology(path)
    ports = {unit.name: free_port(count=unit.replicas) for unit in topology.units}
    databases = {unit.name: f"apart_{unit.name}_{suffix}" for unit in topology.units}
    moved = topology.with_ports(ports, gateway_port=free_port())
    # The API namespaces of each service, as `manage.py ucloud_deploy` finds them.
    return moved.with_databases(databases).with_namespaces(service_namespaces())


def base_environment(
    run_dir: Path, *, server_url: str, redis_url: str, secret_key: str
) -> dict[str, str]:
    """What every unit shares: this shell's variables, the servers, the secrets."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _DROPPED and not key.startswith("DATABASE_URL_")
    }
    env.update(
        DATABASE_URL=server_url,
        REDIS_URL=redis_url,
        DJANGO_SECRET_KEY=secret_key,
        UCLOUD_KEYS_DIR=str(run_dir / "keys"),
        PYTHONUNBUFFERED="1",
    )
    return env


@dataclass
class Running:
    """A started process (leader of its own process group) and where it logs."""

    spec: ProcessSpec
    process: subprocess.Popen[bytes]
    log: Path
    # Size of the log when this start began: readiness is looked for after it.
    log_start: int

    def new_output(self) -> str:
        if not self.log.exists():
            return ""
        with self.log.open("rb") as handle:
            handle.seek(self.log_start)
            return handle.read().decode(errors="replace")


class ApartDeployment:
    """Every unit of ``topology`` as its own processes, nginx in front."""

    def __init__(
        self,
        topology: Topology,
        run_dir: Path,
        *,
        server_url: str,
        redis_url: str,
        admin: Credentials,
        secret_key: str,
    ) -> None:
        self.topology = topology
        self.run_dir = run_dir
        self.server_url = server_url
        self.admin = admin
        self.base = base_environment(
            run_dir, server_url=server_url, redis_url=redis_url, secret_key=secret_key
        )
        self.local = LocalRun(
            run_dir=str(run_dir),
            repo_dir=str(REPO),
            base=self.base,
            python=sys.executable,
            nginx=find_nginx(),
            nginx_user=root_user(),
        )
        self.specs = process_specs(
            topology,
            base=self.base,
            run_dir=str(run_dir),
            repo_dir=str(REPO),
            python=sys.executable,
            nginx=self.local.nginx,
        )
        self.running: dict[str, Running] = {}
        self.logs_dir = run_dir / "logs"
        self.created_databases: list[str] = []

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.topology.gateway_port}"

    def unit_url(self, unit: str) -> str:
        """The first replica of ``unit``, straight, not through nginx."""
        return f"http://127.0.0.1:{self.topology.unit(unit).port}"

    def unit_environment(self, unit: str) -> dict[str, str]:
        return unit_environment(
            self.topology, self.topology.unit(unit), target="procfile", base=self.base
        )

    # Preparing -------------------------------------------------------------

    def prepare(self) -> None:
        """Generated files, databases, service keys, migrations, the administrator."""
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        files = {
            **generate("procfile", self.topology, self.local),
            **generate("nginx", self.topology, self.local),
        }
        write_files(files, self.run_dir)
        self.created_databases = create_unit_databases(self.topology, self.server_url)
        self.manage(self.base, "ucloud_keys", "--out", self.base["UCLOUD_KEYS_DIR"])
        # Each unit migrates its own database; they do not wait for each other.
        with ThreadPoolExecutor(len(self.topology.units)) as pool:
            migrations = [
                pool.submit(self.manage, self.unit_environment(unit.name), "ucloud_migrate")
                for unit in self.topology.units
            ]
            for migration in migrations:
                migration.result()
        superuser = {
            **self.unit_environment(self.topology.admin_unit.name),
            "DJANGO_SUPERUSER_USERNAME": self.admin.username,
            "DJANGO_SUPERUSER_PASSWORD": self.admin.password,
            "DJANGO_SUPERUSER_EMAIL": f"{self.admin.username}@example.com",
        }
        self.manage(superuser, "createsuperuser", "--noinput")

    def manage(self, env: Mapping[str, str], *args: str) -> str:
        """``manage.py args`` with ``env``; its output, or an error carrying it."""
        done = subprocess.run(
            [sys.executable, str(REPO / "manage.py"), *args],
            env=dict(env),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"manage.py {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
            )
        return done.stdout

    # Running ---------------------------------------------------------------

    def specs_of(self, units: Iterable[str] | None = None) -> list[ProcessSpec]:
        """The specs of ``units`` (every unit and the gateway when None)."""
        if units is None:
            return list(self.specs)
        wanted = set(units)
        return [spec for spec in self.specs if spec.unit in wanted]

    def start(
        self, *units: str, kinds: Iterable[str] = ("web", "worker", "beat", "gateway")
    ) -> None:
        """Start the processes of ``units`` (all, with the gateway, when none named)."""
        allowed = set(kinds)
        for spec in self.specs_of(units or None):
            if spec.kind in allowed and not self.is_running(spec.name):
                self.running[spec.name] = self._start(spec)

    def _start(self, spec: ProcessSpec) -> Running:
        log = self.logs_dir / f"{spec.name}.log"
        log_start = log.stat().st_size if log.exists() else 0
        with log.open("ab") as output:
            process = subprocess.Popen(
                spec.argv,
                cwd=spec.cwd,
                env=dict(spec.env) if spec.unit else dict(self.base),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                # A group of its own: one signal reaches the master and its
                # workers (gunicorn, Celery pool), and no other unit.
                start_new_session=True,
            )
        return Running(spec, process, log, log_start)

    def is_running(self, name: str) -> bool:
        found = self.running.get(name)
        return found is not None and found.process.poll() is None

    def dead_units(self) -> list[str]:
        """Units with a process that is not running (killed, or exited)."""
        units = {spec.unit or "gateway" for spec in self.specs if not self.is_running(spec.name)}
        return sorted(units)

    def wait_ready(self, units: Iterable[str] | None = None) -> None:
        """Until the gateway answers ``/status/<unit>`` 200 for ``units`` and their
        workers log that they are ready; fails early when a process exits."""
        names = list(units) if units is not None else [u.name for u in self.topology.units]
        checks = [f"/status/{name}" for name in names]
        if units is None:
            checks.insert(0, "/status")
        give_up = time.monotonic() + READY_DEADLINE
        waiting = "nothing yet"
        while time.monotonic() < give_up:
            self._raise_if_exited(names)
            waiting = self._not_ready(checks, names)
            if not waiting:
                return
            time.sleep(0.2)
        raise RuntimeError(f"not ready after {READY_DEADLINE:.0f} s: {waiting}\n{self.logs()}")

    def _raise_if_exited(self, units: list[str]) -> None:
        for running in self.running.values():
            watched = running.spec.unit in units or not running.spec.unit
            if watched and running.process.poll() is not None:
                raise RuntimeError(
                    f"{running.spec.name} exited ({running.process.returncode}):\n"
                    f"{running.new_output()[-4000:]}"
                )

    def _not_ready(self, checks: list[str], units: list[str]) -> str:
        for path in checks:
            try:
                response = httpx.get(self.gateway_url + path, timeout=2.0)
            except httpx.TransportError as exc:
                return f"{path}: {exc!r}"
            if response.status_code != 200:
                return f"{path}: {response.status_code} {response.text[:200]}"
        for running in self.running.values():
            kind, unit = running.spec.kind, running.spec.unit
            if kind == "worker" and unit in units and WORKER_READY not in running.new_output():
                return f"{running.spec.name} not consuming yet"
        return ""

    def kill(self, unit: str) -> None:
        """SIGKILL every process group of ``unit`` at once, as a crash would."""
        victims = [r for r in self.running.values() if r.spec.unit == unit]
        for running in victims:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(running.process.pid, signal.SIGKILL)
        for running in victims:
            running.process.wait(timeout=STOP_DEADLINE)
            self._wait_group_gone(running.process.pid)

    def _wait_group_gone(self, group: int) -> None:
        give_up = time.monotonic() + STOP_DEADLINE
        while group_members(group):
            if time.monotonic() > give_up:
                raise RuntimeError(f"process group {group} survived: {group_members(group)}")
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM every group (graceful), SIGKILL what is left after the deadline."""
        groups = [r.process.pid for r in self.running.values()]
        for group in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGTERM)
        give_up = time.monotonic() + STOP_DEADLINE
        while any(group_members(g) for g in groups) and time.monotonic() < give_up:
            time.sleep(0.1)
        for group in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
        for running in self.running.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                running.process.wait(timeout=STOP_DEADLINE)
        self.running.clear()

    def drop_databases(self) -> None:
        """Drop every unit's database (FORCE: a killed process may hold a connection)."""
        with maintenance_connection(self.server_url) as conn:
            for unit in self.topology.units:
                drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                conn.execute(drop.format(sql.Identifier(unit.database)))

    def logs(self, lines: int = 40) -> str:
        """The last lines of every process's log and of nginx's error log."""
        parts = []
        paths = [*sorted(self.logs_dir.glob("*.log")), self.run_dir / "nginx-error.log"]
        for path in paths:
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path.name} ---\n" + "\n".join(tail))
        return "\n".join(parts)
