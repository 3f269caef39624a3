"""Every unit of the topology on this machine: what ``manage.py ucloud_up`` / ``ucloud_down`` do.

``up`` generates the Procfile, env files and nginx.conf into the run folder
(``.run/``), creates each unit's database if missing, generates the service
keys, migrates every unit's database, creates the administrator named by
``DJANGO_SUPERUSER_*``, starts everything under honcho in the background and
waits for the gateway. ``down`` stops every process ``up`` started::

    up(LocalDeployment(project=Path("."), run_dir=Path(".run")), say=print)
    down(Path(".run"), say=print)

``DATABASE_URL``, ``REDIS_URL`` and ``GATEWAY_PORT`` of this environment
apply (defaults: PostgreSQL and Redis on localhost, port 8080);
``UCLOUD_TOPOLOGY`` names another topology file.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from ucloud.deploy import honcho
from ucloud.deploy.database_server import create_unit_databases
from ucloud.deploy.environment import unit_environment
from ucloud.deploy.processes import clean_environment, manage, project_dir, root_user
from ucloud.deploy.topology import DEFAULT_PATH, Topology, load_topology

DEFAULTS = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "GATEWAY_PORT": "8080",
}
READY_DEADLINE = 90.0
RUN_DIR = ".run"  # in the project's folder

Say = Callable[[str], None]


class LocalRunError(RuntimeError):
    """The local deployment could not be prepared or did not come up."""


@dataclass(frozen=True)
class LocalDeployment:
    """Where the project is, where its processes keep pids, logs and env files,
    and the environment they start from."""

    project: Path
    run_dir: Path

    def environment(self) -> dict[str, str]:
        """This shell's environment, the servers defaulted, the topology's variables dropped."""
        env = clean_environment()
        env.update({name: os.environ.get(name) or value for name, value in DEFAULTS.items()})
        return env

    def topology(self, gateway_port: int) -> Topology:
        path = os.environ.get("UCLOUD_TOPOLOGY") or self.project / DEFAULT_PATH
        return load_topology(path).with_ports({}, gateway_port=gateway_port)


def run_dir_or_default(given: Path | None) -> Path:
    """``given``, or ``.run/`` in the project's folder; absolute (``down`` matches it)."""
    return Path(given or project_dir() / RUN_DIR).resolve()


def secret_key(run_dir: Path) -> str:
    """DJANGO_SECRET_KEY, or one kept in the run folder so that tokens survive a restart."""
    if os.environ.get("DJANGO_SECRET_KEY"):
        return os.environ["DJANGO_SECRET_KEY"]
    path = run_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def available_commands(env: dict[str, str], project: Path) -> set[str]:
    listing = manage(env, "help", "--commands", project=project).stdout
    return {line.strip() for line in listing.splitlines() if line.strip()}


def prepare(deployment: LocalDeployment, topology: Topology, env: dict[str, str], say: Say) -> None:
    """Keys, deployment files, static files, databases, migrations, administrator."""
    project, run_dir = deployment.project, deployment.run_dir
    commands = available_commands(env, project)
    env["DJANGO_SECRET_KEY"] = secret_key(run_dir)
    env["UCLOUD_RUN_DIR"] = str(run_dir)  # `down` finds leftover processes by it
    if "ucloud_keys" in commands:
        env["UCLOUD_KEYS_DIR"] = str(run_dir / "keys")
        manage(env, "ucloud_keys", "--out", env["UCLOUD_KEYS_DIR"], project=project)
        say(f"service keys in {env['UCLOUD_KEYS_DIR']}")
    else:
        say("no ucloud_keys command: services sign tokens with the shared secret key")
    manage(env, "collectstatic", "--noinput", project=project)
    static = str(project / "staticfiles")
    nginx_user = ["--nginx-user", user] if (user := root_user()) else []
    manage(env, "ucloud_deploy", "--target", "procfile", "--out", str(run_dir),
           "--topology", topology.source, "--static-root", static,
           "--gateway-port", env["GATEWAY_PORT"], *nginx_user, project=project)  # fmt: skip
    for name in create_unit_databases(topology, env["DATABASE_URL"]):
        say(f"created database {name}")
    migrate = ["ucloud_migrate"] if "ucloud_migrate" in commands else ["migrate", "--noinput"]
    for unit in topology.units:
        unit_env = {**env, **unit_environment(topology, unit, target="procfile", base=env)}
        manage(unit_env, *migrate, project=project)
        say(f"migrated {unit.name} ({unit.database})")
    create_administrator(project, topology, env, say)


def create_administrator(project: Path, topology: Topology, env: dict[str, str], say: Say) -> None:
    username = os.environ.get("DJANGO_SUPERUSER_USERNAME")
    if not username:
        say("no DJANGO_SUPERUSER_USERNAME: no administrator created")
        return
    admin = topology.admin_unit
    admin_env = {**env, **unit_environment(topology, admin, target="procfile", base=env)}
    result = manage(admin_env, "createsuperuser", "--noinput", project=project, check=False)
    if result.returncode == 0:
        say(f"administrator {username} created")
    elif "already taken" in result.stderr:
        say(f"administrator {username} already exists")
    else:
        raise LocalRunError(f"createsuperuser failed:\n{result.stdout}{result.stderr}")


def wait_for_gateway(url: str, process: subprocess.Popen[bytes]) -> None:
    give_up = time.monotonic() + READY_DEADLINE
    while time.monotonic() < give_up:
        if process.poll() is not None:
            raise LocalRunError(f"honcho exited ({process.returncode})")
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise LocalRunError(f"{url} did not answer 200 within {READY_DEADLINE:.0f} s")


def up(deployment: LocalDeployment, say: Say) -> None:
    """Prepare and start every unit behind the gateway; return once it answers."""
    run_dir = deployment.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    env = deployment.environment()
    topology = deployment.topology(int(env["GATEWAY_PORT"]))
    running = honcho.running_honcho(run_dir)
    if running is not None:
        say(f"already running (honcho pid {running}); stop it first to restart")
        print_urls(topology, run_dir, say)
        return
    prepare(deployment, topology, env, say)
    # Metric values of an earlier run would count as this run's.
    shutil.rmtree(run_dir / "metrics", ignore_errors=True)
    process = honcho.start_honcho(run_dir, deployment.project, env)
    say(f"started honcho (pid {process.pid})")
    try:
        wait_for_gateway(f"http://127.0.0.1:{topology.gateway_port}/status", process)
    except LocalRunError as exc:
        honcho.stop(run_dir)
        raise LocalRunError(f"{exc}\n{honcho.log_tail(run_dir)}") from None
    print_urls(topology, run_dir, say)


def print_urls(topology: Topology, run_dir: Path, say: Say) -> None:
    gateway = f"http://127.0.0.1:{topology.gateway_port}"
    say(f"gateway   {gateway}")
    say(f"admin     {gateway}/admin/")
    say(f"API docs  {gateway}/api/docs/")
    say(f"login     POST {gateway}/api/accounts/login")
    for unit in topology.units:
        direct = f"http://127.0.0.1:{unit.port}"
        served = ", ".join(unit.services)
        say(f"unit {unit.name:<14} {direct}, {gateway}/status/{unit.name} ({served})")
    say(f"logs      {honcho.log_file(run_dir)}; stop with `manage.py ucloud_down`")


def down(run_dir: Path, say: Say) -> int:
    """Stop every process ``up`` started for ``run_dir``; how many there were."""
    stopped = honcho.stop(run_dir)
    say(f"stopped {stopped} process(es)" if stopped else "nothing was running")
    return stopped
