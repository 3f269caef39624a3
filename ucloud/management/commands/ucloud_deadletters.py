"""List the unresolved dead letters, or retry them once their processor is fixed.

A retry runs the event through its processor once more; the processor's
inbox makes sure an event that was handled before takes no second effect::

    python manage.py ucloud_deadletters                 # list unresolved
    python manage.py ucloud_deadletters --retry         # retry every unresolved one
    python manage.py ucloud_deadletters --retry 12 15   # retry these

Dead letters live in the consumer's database; without ``--database`` the
command covers ``default`` and the aliases of the services served here
(ids are per database: retrying ids needs ``--database`` when there are
several).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet

from ucloud.events.delivery import first_line, retry_or_reason
from ucloud.events.relay import swept_aliases
from ucloud.models import DeadLetter


class Command(BaseCommand):
    help = "List unresolved dead letters; --retry [ID ...] runs them through their processor again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--retry",
            nargs="*",
            type=int,
            metavar="ID",
            help="Retry these dead letters, or every unresolved one when no id is given.",
        )
        parser.add_argument(
            "--database",
            help=(
                "Database holding the consumer's dead letters (default: default and the "
                "aliases of the services served here)."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        aliases = [options["database"]] if options["database"] else swept_aliases()
        ids: list[int] | None = options["retry"]
        if ids and len(aliases) > 1:
            raise CommandError(
                f"Dead letter ids are per database; name one with --database "
                f"({', '.join(aliases)})."
            )
        for alias in aliases:
            if len(aliases) > 1:
                self.stdout.write(f"[{alias}]")
            letters = DeadLetter.objects.using(alias).order_by("id")
            if ids is None:
                self.show(letters.filter(resolved_at__isnull=True))
            elif ids:
                self.retry_each(self.with_ids(letters, ids))
            else:
                self.retry_each(list(letters.filter(resolved_at__isnull=True)))

    def with_ids(self, letters: QuerySet[DeadLetter], ids: list[int]) -> list[DeadLetter]:
        found = {letter.id: letter for letter in letters.filter(id__in=ids)}
        unknown = sorted(set(ids) - set(found))
        if unknown:
            # Nothing is retried: a typo must not half-run a replay.
            raise CommandError(f"No dead letter with id {', '.join(map(str, unknown))}.")
        return [found[letter_id] for letter_id in dict.fromkeys(ids)]

    def show(self, letters: QuerySet[DeadLetter]) -> None:
        rows = list(letters)
        if not rows:
            self.stdout.write("No unresolved dead letters.")
            return
        for letter in rows:
            self.stdout.write(
                f"#{letter.id}  {letter.consumer}  {letter.stream} key={letter.key}  "
                f"attempts={letter.attempts}  failed_at={letter.failed_at:%Y-%m-%d %H:%M:%S}"
            )
            self.stdout.write(f"    {first_line(letter.error)}")
        self.stdout.write(f"{len(rows)} unresolved dead letter(s).")

    def retry_each(self, letters: list[DeadLetter]) -> None:
        handled = failing = 0
        for letter in letters:
            if letter.resolved_at is not None:
                self.stdout.write(f"#{letter.id}: already resolved, skipped")
                continue
            error = retry_or_reason(letter)
            if error is None:
                handled += 1
                self.stdout.write(self.style.SUCCESS(f"#{letter.id}: handled, resolved"))
            else:
                failing += 1
                self.stderr.write(f"#{letter.id}: still failing: {error}")
        self.stdout.write(
            f"Retried {handled + failing}: {handled} handled, {failing} still failing."
        )
