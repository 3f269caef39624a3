"""``manage.py ucloud_diagram``: the architecture picture of a topology, for docs.

Units, their services and databases, call edges (from the source), event
edges (stream -> consumer group), Redis and the search engine; as SVG or as
a Mermaid flowchart. No network, nothing to install::

    python manage.py ucloud_diagram --format svg --out docs/architecture.svg
    python manage.py ucloud_diagram --format mermaid --topology other.toml
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ucloud.deploy.topology import TopologyError, load_topology
from ucloud.observe.diagram import topology_picture
from ucloud.observe.mermaid import render_mermaid
from ucloud.observe.svg import render_svg
from ucloud.observe.units import topology_path

RENDERERS = {"svg": render_svg, "mermaid": render_mermaid}


class Command(BaseCommand):
    help = "Draw the architecture (units, services, calls, events, stores) as SVG or Mermaid."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=sorted(RENDERERS), default="svg")
        parser.add_argument("--out", type=Path, help="file to write (default: standard output)")
        parser.add_argument(
            "--topology",
            type=Path,
            help="topology file (default: UCLOUD_TOPOLOGY or config/topology.toml)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["topology"] or topology_path()
        try:
            topology = load_topology(path)
        except TopologyError as exc:
            raise CommandError(str(exc)) from exc
        text = RENDERERS[options["format"]](topology_picture(topology))
        out: Path | None = options["out"]
        if out is None:
            self.stdout.write(text, ending="")
            return
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot write {out}: {exc}") from exc
        self.stdout.write(f"wrote {out} ({options['format']})")
