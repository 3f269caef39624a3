"""Generate deployment files from the topology: nginx, Procfile, compose, Kubernetes.

The topology is ``config/topology.toml`` (``UCLOUD_TOPOLOGY`` or
``--topology`` for another); the API namespaces of each service come from
its call descriptions. The local targets take the database server, Redis and
secrets from this process's environment (``DATABASE_URL``, ``REDIS_URL``,
``DJANGO_SECRET_KEY``, ``UCLOUD_KEYS_DIR``...)::

    python manage.py ucloud_deploy --target procfile --out .run
    python manage.py ucloud_deploy --target all --out build/deploy --gateway-port 9000
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ucloud import registry
from ucloud.contracts.calls import containers
from ucloud.deploy import DEPLOY_TARGETS, LocalRun, generate
from ucloud.deploy.files import write_files
from ucloud.deploy.processes import find_nginx, project_dir
from ucloud.deploy.topology import DEFAULT_PATH, Topology, TopologyError, load_topology
from ucloud.events.tasks import services_with_event_tables

# Variables of this process that the local targets hand on to every unit.
BASE_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "DJANGO_SECRET_KEY",
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_DEBUG",
    "DJANGO_ALLOWED_HOSTS",
    "UCLOUD_SIGNING_KEY",
    "UCLOUD_KEYS_DIR",
    "UCLOUD_LOG_LEVEL",
    "UCLOUD_AUDIT_LEVEL",
    "UCLOUD_HTTP_CONNECT_TIMEOUT",
    "UCLOUD_HTTP_READ_TIMEOUT",
    # Traces to an OTLP collector (the exporter's standard variables).
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS",
)


def default_topology_path() -> Path:
    return Path(os.environ.get("UCLOUD_TOPOLOGY") or project_dir() / DEFAULT_PATH)


def service_namespaces() -> dict[str, tuple[str, ...]]:
    """Installed service -> the namespaces of its call containers."""
    found: dict[str, set[str]] = {name: set() for name in registry.services()}
    for namespace, container in containers().items():
        try:
            service = registry.service_of_module(container.__module__)
        except LookupError:  # declared outside any installed service (examples, tests)
            continue
        found[service].add(namespace)
    return {service: tuple(sorted(names)) for service, names in sorted(found.items())}


def check_services(topology: Topology, installed: set[str]) -> None:
    """Every installed service in exactly one unit, and no unknown ones."""
    deployed = set(topology.services)
    problems = []
    if unknown := sorted(deployed - installed):
        problems.append(f"unknown service(s) {', '.join(unknown)}")
    if missing := sorted(installed - deployed):
        problems.append(f"installed service(s) {', '.join(missing)} in no unit")
    if problems:
        known = ", ".join(sorted(installed))
        raise TopologyError(f"{topology.source}: {'; '.join(problems)} (installed: {known})")


def check_workers(topology: Topology, with_events: set[str]) -> None:
    """A unit serving a service that produces or consumes events needs a
    worker: its outbox sweep and its consumer group run there."""
    idle = [
        f"{unit.name} ({', '.join(sorted(set(unit.services) & with_events))})"
        for unit in topology.units
        if unit.workers == 0 and set(unit.services) & with_events
    ]
    if idle:
        raise TopologyError(
            f"{topology.source}: unit(s) {'; '.join(idle)} serve services with events "
            "but have workers = 0; give each at least one worker"
        )


class Command(BaseCommand):
    help = "Generate deployment files (nginx, procfile, compose, k8s) from the topology."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--target", required=True, choices=[*DEPLOY_TARGETS, "all"])
        parser.add_argument("--out", required=True, help="Folder to write the files to.")
        parser.add_argument("--topology", help=f"Topology file (default: {DEFAULT_PATH}).")
        parser.add_argument("--gateway-port", type=int, help="Override [gateway] port.")
        parser.add_argument(
            "--run-dir", help="nginx, procfile: folder of pids, logs, env files (default: --out)."
        )
        parser.add_argument(
            "--static-root", help="nginx, procfile: serve /static/ from this folder."
        )
        parser.add_argument(
            "--nginx-user",
            help="nginx, procfile: run nginx's workers as this user (a `user` directive; "
            "only useful when nginx starts as root). Default: no directive.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        topology = self._topology(options["topology"], options["gateway_port"])
        out = Path(options["out"]).resolve()
        targets = list(DEPLOY_TARGETS) if options["target"] == "all" else [options["target"]]
        for target in targets:
            # "all" puts each target in a folder of its own.
            folder = out / target if options["target"] == "all" else out
            run_dir = options["run_dir"] if options["target"] != "all" else None
            local = self._local_run(Path(run_dir).resolve() if run_dir else folder, options)
            try:
                files = generate(target, topology, local, out_dir=str(folder))
            except TopologyError as exc:
                raise CommandError(str(exc)) from None
            written = write_files(files, folder)
            self.stdout.write(f"{target}: wrote {len(written)} file(s) to {folder}")

    def _topology(self, path: str | None, gateway_port: int | None) -> Topology:
        source = Path(path) if path else default_topology_path()
        try:
            topology = load_topology(source)
            check_services(topology, set(registry.services()))
            check_workers(topology, set(services_with_event_tables()))
            if gateway_port is not None:
                topology = topology.with_ports({}, gateway_port=gateway_port)
        except TopologyError as exc:
            raise CommandError(str(exc)) from None
        # Generated files name their source without this machine's folders.
        topology = dataclasses.replace(topology, source=shown_path(source))
        return topology.with_namespaces(service_namespaces())

    def _local_run(self, run_dir: Path, options: dict[str, Any]) -> LocalRun:
        base = {name: os.environ[name] for name in BASE_VARIABLES if os.environ.get(name)}
        # Without a database server, each unit gets a SQLite file in the run folder.
        base.setdefault("DATABASE_URL", f"sqlite:///{run_dir}/db.sqlite3")
        static_root = options["static_root"]
        return LocalRun(
            run_dir=str(run_dir),
            repo_dir=str(project_dir()),
            base=base,
            python=sys.executable,
            nginx=find_nginx(),
            static_root=str(Path(static_root).resolve()) if static_root else None,
            nginx_user=options["nginx_user"] or None,
        )


def shown_path(path: Path) -> str:
    """``path`` relative to the repository when inside it, else its name."""
    resolved = path.resolve()
    if resolved.is_relative_to(project_dir()):
        return str(resolved.relative_to(project_dir()))
    return resolved.name
