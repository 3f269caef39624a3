"""Every unit of a topology apart on this machine, as real processes, nginx in front.

Built from what ``ucloud_up`` uses (the topology, the generated Procfile, env
files and nginx.conf, ``process_specs()``), but each process is started
here in a process group of its own instead of under honcho: killing one
unit must leave the others running::

    topology = free_topology(Path("config/topology.toml"), suffix="ab12")
    apart = ApartDeployment(topology, run_dir, server_url=pg, redis_url=redis, admin=admin,
                            secret_key=secrets.token_urlsafe(48))
    apart.prepare()              # files, static files, databases, keys, migrations, administrator
    apart.start()                # every process; apart.wait_ready()
    apart.kill("notifications")  # SIGKILL each of its process groups
    apart.start("notifications"); apart.wait_ready(["notifications"])
    apart.stop(); apart.drop_databases()
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from ucloud.deploy import LocalRun, generate
from ucloud.deploy.database_server import create_unit_databases, drop_databases
from ucloud.deploy.environment import unit_environment
from ucloud.deploy.files import write_files
from ucloud.deploy.processes import (
    STOP_DEADLINE,
    clean_environment,
    find_nginx,
    manage,
    project_dir,
    root_user,
    signal_group,
    start,
    stop_groups,
    wait_group_gone,
)
from ucloud.deploy.procfile import ProcessSpec, process_specs
from ucloud.deploy.topology import Topology, load_topology
from ucloud.management.commands.ucloud_deploy import service_namespaces
from ucloud.testing import Credentials
from ucloud.testing.ports import free_port
from ucloud.testing.workers import WORKER_READY

READY_DEADLINE = 60.0
# Variables of this shell that would bend the deployment besides the
# topology's own (each env file sets those): the test run's settings module
# (the deployment runs the project's settings) and its broker.
_BENDING = ("DJANGO_SETTINGS_MODULE", "CELERY_BROKER_URL", "UCLOUD_FORCE_HTTP")


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
    env = clean_environment(drop=_BENDING)
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
        project = project_dir()
        self.local = LocalRun(
            run_dir=str(run_dir),
            repo_dir=str(project),
            base=self.base,
            python=sys.executable,
            nginx=find_nginx(),
            nginx_user=root_user(),
            # nginx serves the admin's CSS and scripts as under `make up`
            # (prepare() collects them there first).
            static_root=str(project / "staticfiles"),
        )
        self.specs = process_specs(
            topology,
            base=self.base,
            run_dir=str(run_dir),
            repo_dir=str(project),
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
        """Generated files, static files, databases, service keys, migrations, the administrator."""
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        files = {
            **generate("procfile", self.topology, self.local),
            **generate("nginx", self.topology, self.local),
        }
        write_files(files, self.run_dir)
        manage(self.base, "collectstatic", "--noinput")
        self.created_databases = create_unit_databases(self.topology, self.server_url)
        manage(self.base, "ucloud_keys", "--out", self.base["UCLOUD_KEYS_DIR"])
        # Each unit migrates its own database; they do not wait for each other.
        with ThreadPoolExecutor(len(self.topology.units)) as pool:
            migrations = [
                pool.submit(manage, self.unit_environment(unit.name), "ucloud_migrate")
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
        manage(superuser, "createsuperuser", "--noinput")

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
        # A group of its own: one signal reaches the master and its workers
        # (gunicorn, Celery pool), and no other unit.
        env = spec.env if spec.unit else self.base
        process = start(spec.argv, env=env, log=log, cwd=Path(spec.cwd))
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
            signal_group(running.process.pid, signal.SIGKILL)
        for running in victims:
            running.process.wait(timeout=STOP_DEADLINE)
            wait_group_gone(running.process.pid)

    def stop(self) -> None:
        """SIGTERM every group (graceful), SIGKILL what is left after the deadline."""
        stop_groups([r.process.pid for r in self.running.values()])
        for running in self.running.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                running.process.wait(timeout=STOP_DEADLINE)
        self.running.clear()

    def drop_databases(self) -> None:
        """Drop every unit's database (FORCE: a killed process may hold a connection)."""
        drop_databases(self.server_url, [unit.database for unit in self.topology.units])

    def logs(self, lines: int = 40) -> str:
        """The last lines of every process's log and of nginx's error log."""
        parts = []
        paths = [*sorted(self.logs_dir.glob("*.log")), self.run_dir / "nginx-error.log"]
        for path in paths:
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path.name} ---\n" + "\n".join(tail))
        return "\n".join(parts)
