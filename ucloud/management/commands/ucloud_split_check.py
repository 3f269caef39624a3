"""Report what behaves differently when the units of a topology run apart.

Run it before splitting services: it lists, with file and line, each place
that works in one process and will not, or not the same way, apart
(``ucloud.split_safety``), and exits non-zero when something will break::

    python manage.py ucloud_split_check
    python manage.py ucloud_split_check --topology deploy/two-units.toml
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ucloud import registry
from ucloud.deploy.topology import DEFAULT_PATH, TopologyError, load_topology
from ucloud.management.commands.ucloud_deploy import check_services, default_topology_path
from ucloud.split_safety import ERROR, split_check


class Command(BaseCommand):
    help = "List what behaves differently when the units of the topology run apart."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--topology", help=f"Topology file (default: {DEFAULT_PATH}).")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["topology"]) if options["topology"] else default_topology_path()
        try:
            topology = load_topology(path)
            check_services(topology, set(registry.services()))
        except TopologyError as exc:
            raise CommandError(str(exc)) from None
        findings = split_check(topology)
        for finding in findings:
            self.stdout.write(str(finding))
        errors = sum(finding.severity == ERROR for finding in findings)
        units = ", ".join(unit.name for unit in topology.units)
        if errors:
            raise CommandError(
                f"{errors} place(s) will break when the units of {path.name} ({units}) run apart"
            )
        warnings = len(findings) - errors
        if warnings:
            self.stdout.write(f"{warnings} place(s) behave differently apart; none will break.")
        else:
            self.stdout.write(f"Nothing changes when the units of {path.name} ({units}) run apart.")
