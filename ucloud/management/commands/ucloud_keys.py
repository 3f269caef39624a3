"""Generate the per-service Ed25519 key pairs that sign service identities.

Creates ``<service>.pem`` (private, mode 0600) and ``<service>.pub`` for every
installed service (or those named) that has none; existing keys are never
overwritten, so running it again is harmless::

    python manage.py ucloud_keys --out /run/ucloud/keys
    python manage.py ucloud_keys --out keys/ --services accounts,files

Point ``UCLOUD_KEYS_DIR`` at the directory. Give each deployment unit the
private keys of the services it serves only, and the public keys of all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ucloud import registry
from ucloud.auth import keys
from ucloud.serving import parse_services


class Command(BaseCommand):
    help = "Generate missing Ed25519 key pairs of services in --out (never overwrites)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--out", help="Directory of the keys (default: UCLOUD KEYS_DIR, created if missing)"
        )
        parser.add_argument(
            "--services", help="Comma list of services (default: every installed service)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        directory = self._directory(options["out"])
        for service in self._services(options["services"]):
            outcome = keys.generate_key_pair(directory, service)
            self.stdout.write(f"{service}: {outcome}")
        keys.reset()  # this process may have read older files of the same names

    def _directory(self, out: str | None) -> Path:
        directory = Path(out) if out else keys.keys_dir()
        if directory is None:
            raise CommandError("Give --out DIR (or set UCLOUD_KEYS_DIR)")
        if directory.exists() and not directory.is_dir():
            raise CommandError(f"{directory} exists and is not a directory")
        return directory

    def _services(self, value: str | None) -> list[str]:
        installed = sorted(registry.services())
        wanted = parse_services(value)
        if wanted is None:
            return installed
        unknown = sorted(set(wanted) - set(installed))
        if unknown:
            raise CommandError(
                f"Unknown service(s) {', '.join(unknown)}; installed: {', '.join(installed)}"
            )
        return wanted
