"""``make up`` / ``make down``: the multi-process deployment on this machine.

``up`` generates the Procfile, env files and nginx.conf into ``.run/``,
creates each unit's database if missing, generates the service keys,
migrates every unit's database, creates the administrator named by
``DJANGO_SUPERUSER_*``, starts everything under honcho in the background and
waits for the gateway. ``down`` stops every process ``up`` started::

    python -m deploy.local up      # DATABASE_URL, REDIS_URL, GATEWAY_PORT apply
    python -m deploy.local down
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from deploy import processes
from deploy.databases import create_unit_databases
from ucloud.deploy.environment import TOPOLOGY_VARIABLES
from ucloud.deploy.topology import DEFAULT_PATH, Topology, load_topology

REPO = Path(__file__).resolve().parent.parent
RUN_DIR = REPO / ".run"
DEFAULTS = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "GATEWAY_PORT": "8080",
}
READY_DEADLINE = 90.0


def say(message: str) -> None:
    print(f"[ucloud] {message}", flush=True)


def clean_environment() -> dict[str, str]:
    """This shell's environment without variables that would bend the topology."""
    return {
        key: value
        for key, value in os.environ.items()
        if key not in TOPOLOGY_VARIABLES and not key.startswith("DATABASE_URL_")
    }


def manage(
    env: Mapping[str, str], *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, str(REPO / "manage.py"), *args],
        env=dict(env),
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if check and result.returncode != 0:
        output = result.stdout + result.stderr
        raise SystemExit(f"manage.py {' '.join(args)} failed ({result.returncode}):\n{output}")
    return result


def secret_key(run_dir: Path) -> str:
    """DJANGO_SECRET_KEY, or one kept in the run folder so that tokens survive a restart."""
    if os.environ.get("DJANGO_SECRET_KEY"):
        return os.environ["DJANGO_SECRET_KEY"]
    path = run_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def base_environment(run_dir: Path, commands: set[str]) -> dict[str, str]:
    """What every unit shares, besides DATABASE_URL, REDIS_URL and GATEWAY_PORT."""
    base = {"DJANGO_SECRET_KEY": secret_key(run_dir)}
    base["UCLOUD_RUN_DIR"] = str(run_dir)  # `down` finds leftover processes by it
    if "ucloud_keys" in commands:
        base["UCLOUD_KEYS_DIR"] = str(run_dir / "keys")
    return base


def available_commands(env: Mapping[str, str]) -> set[str]:
    listing = manage(env, "help", "--commands").stdout
    return {line.strip() for line in listing.splitlines() if line.strip()}


def prepare(topology: Topology, env: dict[str, str], commands: set[str], run_dir: Path) -> None:
    """Keys, deployment files, static files, databases, migrations, administrator."""
    if "ucloud_keys" in commands:
        manage(env, "ucloud_keys", "--out", env["UCLOUD_KEYS_DIR"])
        say(f"service keys in {env['UCLOUD_KEYS_DIR']}")
    else:
        say("no ucloud_keys command: services sign tokens with the shared secret key")
    manage(env, "collectstatic", "--noinput")
    static = str(REPO / "staticfiles")
    nginx_user = ["--nginx-user", "root"] if os.geteuid() == 0 else []
    manage(env, "ucloud_deploy", "--target", "procfile", "--out", str(run_dir),
           "--topology", topology.source, "--static-root", static,
           "--gateway-port", env["GATEWAY_PORT"], *nginx_user)  # fmt: skip
    for name in create_unit_databases(topology, env["DATABASE_URL"]):
        say(f"created database {name}")
    migrate = ["ucloud_migrate"] if "ucloud_migrate" in commands else ["migrate", "--noinput"]
    for unit in topology.units:
        unit_env = {**env, **topology.environment(unit, target="procfile", base=env)}
        manage(unit_env, *migrate)
        say(f"migrated {unit.name} ({unit.database})")
    create_administrator(topology, env)


def create_administrator(topology: Topology, env: dict[str, str]) -> None:
    username = os.environ.get("DJANGO_SUPERUSER_USERNAME")
    if not username:
        say("no DJANGO_SUPERUSER_USERNAME: no administrator created")
        return
    admin = topology.admin_unit
    admin_env = {**env, **topology.environment(admin, target="procfile", base=env)}
    result = manage(admin_env, "createsuperuser", "--noinput", check=False)
    if result.returncode == 0:
        say(f"administrator {username} created")
    elif "already taken" in result.stderr:
        say(f"administrator {username} already exists")
    else:
        raise SystemExit(f"createsuperuser failed:\n{result.stdout}{result.stderr}")


def wait_for_gateway(url: str, honcho: subprocess.Popen[bytes]) -> None:
    give_up = time.monotonic() + READY_DEADLINE
    while time.monotonic() < give_up:
        if honcho.poll() is not None:
            raise SystemExit(f"honcho exited ({honcho.returncode})")
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} did not answer 200 within {READY_DEADLINE:.0f} s")


def up(run_dir: Path = RUN_DIR) -> int:
    run_dir.mkdir(exist_ok=True)
    running = processes.running_honcho(run_dir)
    env = clean_environment()
    env.update({name: os.environ.get(name) or value for name, value in DEFAULTS.items()})
    topology = load_topology(os.environ.get("UCLOUD_TOPOLOGY") or REPO / DEFAULT_PATH)
    topology = topology.with_ports({}, gateway_port=int(env["GATEWAY_PORT"]))
    if running is not None:
        say(f"already running (honcho pid {running}); `make down` first to restart")
        print_urls(topology, run_dir)
        return 0
    commands = available_commands(env)
    env.update(base_environment(run_dir, commands))
    prepare(topology, env, commands, run_dir)
    # Metric values of an earlier run would count as this run's.
    shutil.rmtree(run_dir / "metrics", ignore_errors=True)
    honcho = processes.start_honcho(run_dir, REPO, env)
    say(f"started honcho (pid {honcho.pid})")
    try:
        wait_for_gateway(f"http://127.0.0.1:{topology.gateway_port}/status", honcho)
    except SystemExit:
        print(processes.log_tail(run_dir), file=sys.stderr)
        processes.stop(run_dir)
        raise
    print_urls(topology, run_dir)
    return 0


def print_urls(topology: Topology, run_dir: Path) -> None:
    gateway = f"http://127.0.0.1:{topology.gateway_port}"
    say(f"gateway   {gateway}")
    say(f"admin     {gateway}/admin/")
    say(f"API docs  {gateway}/api/docs/")
    say(f"login     POST {gateway}/api/accounts/login")
    for unit in topology.units:
        direct = f"http://127.0.0.1:{unit.port}"
        served = ", ".join(unit.services)
        say(f"unit {unit.name:<14} {direct}, {gateway}/status/{unit.name} ({served})")
    say(f"logs      {processes.log_file(run_dir)}; stop with `make down`")


def down(run_dir: Path = RUN_DIR) -> int:
    stopped = processes.stop(run_dir)
    say(f"stopped {stopped} process(es)" if stopped else "nothing was running")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument("--run-dir", type=Path, default=RUN_DIR, help="default: .run/")
    args = parser.parse_args(argv)
    run_dir = args.run_dir.resolve()
    return up(run_dir) if args.action == "up" else down(run_dir)


if __name__ == "__main__":
    sys.exit(main())
