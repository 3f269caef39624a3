"""Run every unit of the topology on this machine, behind nginx (``make up``).

Generates the Procfile, env files and nginx.conf into the run folder, creates
each unit's database when missing, writes the service keys, migrates, creates
the administrator named by ``DJANGO_SUPERUSER_*``, starts everything under
honcho in the background and returns once the gateway answers::

    python manage.py ucloud_up                     # DATABASE_URL, REDIS_URL, GATEWAY_PORT apply
    python manage.py ucloud_up --run-dir /tmp/run  # default: .run/ in the project
    python manage.py ucloud_down                   # stops it all again
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ucloud.deploy.local import RUN_DIR, LocalDeployment, LocalRunError, run_dir_or_default, up
from ucloud.deploy.processes import ManageFailed, project_dir
from ucloud.deploy.topology import TopologyError


class Command(BaseCommand):
    help = "Start every unit of the topology on this machine behind nginx (honcho)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--run-dir", type=Path, help=f"pids, logs, env files, keys (default: {RUN_DIR}/)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        run_dir = run_dir_or_default(options["run_dir"])
        deployment = LocalDeployment(project=project_dir(), run_dir=run_dir)
        try:
            up(deployment, say=self.say)
        except (LocalRunError, ManageFailed, TopologyError) as exc:
            raise CommandError(str(exc)) from None

    def say(self, message: str) -> None:
        self.stdout.write(f"[ucloud] {message}")
        self.stdout.flush()
