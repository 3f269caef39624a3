"""Stop every process ``manage.py ucloud_up`` started (``make down``)::

    python manage.py ucloud_down                   # the run folder .run/ of the project
    python manage.py ucloud_down --run-dir /tmp/run

honcho gets SIGTERM (it passes it on to each process group), then whatever
is left carrying ``UCLOUD_RUN_DIR=<run dir>`` in its environment is killed.
Running it again says that nothing was running.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ucloud.deploy.local import RUN_DIR, down, run_dir_or_default


class Command(BaseCommand):
    help = "Stop every process that ucloud_up started."
    # Stopping must work whatever state the project is in.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--run-dir", type=Path, help=f"the folder ucloud_up ran in (default: {RUN_DIR}/)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        run_dir = run_dir_or_default(options["run_dir"])
        down(run_dir, say=lambda message: self.stdout.write(f"[ucloud] {message}"))
