"""Compare the code's contracts with ``contracts.lock``, record them, accept a break.

Every difference is classified by the rules of ``ucloud.lockfile.rules``;
a breaking one fails ``--check`` (and ``make lint``) until it is reverted or
accepted with a reason, which the lockfile keeps::

    python manage.py ucloud_contracts --check
    python manage.py ucloud_contracts --write          # record compatible changes
    python manage.py ucloud_contracts --accept files.retrieve --reason "size moved to files.stat"
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ucloud.lockfile import (
    LOCKFILE_NAME,
    Change,
    Lockfile,
    LockfileError,
    compare,
    describe_contracts,
)


def default_lockfile() -> Path:
    return Path(getattr(settings, "BASE_DIR", Path.cwd())) / LOCKFILE_NAME


class Command(BaseCommand):
    help = "Check the contracts of every call and stream against contracts.lock, or update it."

    def add_arguments(self, parser: CommandParser) -> None:
        action = parser.add_mutually_exclusive_group()
        action.add_argument(
            "--check", action="store_true", help="Fail on a breaking change (the default)."
        )
        action.add_argument(
            "--write", action="store_true", help="Record the code's contracts (no breaking change)."
        )
        action.add_argument(
            "--accept",
            action="append",
            metavar="NAME",
            help="Accept the breaking changes of this call or stream (repeatable).",
        )
        parser.add_argument("--reason", help="Why the breaking changes are accepted.")
        parser.add_argument("--lockfile", help=f"Default: {LOCKFILE_NAME} in BASE_DIR.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["lockfile"]) if options["lockfile"] else default_lockfile()
        current = describe_contracts()
        if options["write"]:
            self._write(path, current)
        elif options["accept"]:
            self._accept(path, current, options["accept"], options["reason"])
        else:
            self._check(path, current)

    def _read(self, path: Path) -> Lockfile:
        try:
            return Lockfile.read(path)
        except LockfileError as exc:
            raise CommandError(str(exc)) from None

    def _check(self, path: Path, current: dict[str, Any]) -> None:
        changes = compare(self._read(path).contracts, current)
        breaking = [change for change in changes if change.breaking]
        for change in changes:
            if not change.breaking:
                self.stderr.write(f"warning: {change}")
        if breaking:
            raise CommandError(_refusal(path, breaking))
        if changes:
            self.stdout.write(
                f"{path.name}: {len(changes)} compatible change(s); record them with --write"
            )
        else:
            self.stdout.write(f"{path.name}: the code matches every recorded contract")

    def _write(self, path: Path, current: dict[str, Any]) -> None:
        lock = self._read(path) if path.exists() else Lockfile()
        breaking = [change for change in compare(lock.contracts, current) if change.breaking]
        if path.exists() and breaking:
            raise CommandError(_refusal(path, breaking))
        lock.record(current)
        lock.write(path)
        self.stdout.write(
            f"{path.name}: {len(lock.calls)} call(s) and {len(lock.streams)} stream(s) recorded"
        )

    def _accept(
        self, path: Path, current: dict[str, Any], names: list[str], reason: str | None
    ) -> None:
        if not reason or not reason.strip():
            raise CommandError("--accept needs --reason: say why callers may break")
        lock = self._read(path)
        changes = compare(lock.contracts, current)
        breaking = {
            name: [c for c in changes if c.subject == name and c.breaking] for name in names
        }
        if nothing := [name for name, found in breaking.items() if not found]:
            raise CommandError(f"No breaking change to accept for {', '.join(nothing)}")
        for name, found in breaking.items():
            lock.accept(name, reason=reason.strip(), changes=found, current=current)
            for change in found:
                self.stdout.write(f"accepted: {change}")
        lock.write(path)


def _refusal(path: Path, breaking: list[Change]) -> str:
    names = sorted({change.subject for change in breaking})
    lines = [f"{path.name}: {len(breaking)} breaking change(s) not accepted:"]
    lines += [f"  {change}" for change in breaking]
    accept = " ".join(f"--accept {name}" for name in names)
    lines.append(f"Revert them, or accept them: manage.py ucloud_contracts {accept} --reason '...'")
    return "\n".join(lines)
