"""Migrate every database alias this process uses, ``default`` first.

``ServiceRouter`` decides which tables go to which alias, so each alias gets
its services' tables, the kit's tables and (with the user model's service)
Django's auth, contenttypes, admin and sessions::

    DATABASE_URL_FILES=postgres://.../files python manage.py ucloud_migrate
    python manage.py ucloud_migrate --all      # also aliases of services served elsewhere

By default the aliases are ``default`` and those of the services served
here (``UCLOUD_SERVICES``); ``--all`` adds every service alias with a
database of its own, for an operator migrating a whole deployment from one
place.

On PostgreSQL it holds an advisory lock on each database while it migrates,
so that processes started together (every pod of a unit runs it before it
starts) take turns: the first migrates, the others find nothing to do.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections

from ucloud import registry, serving
from ucloud.databases import aliases_for

# pg_advisory_lock key of migrations: "ucloud" in ASCII.
MIGRATION_LOCK = 0x75636C6F7564


@contextlib.contextmanager
def migration_lock(aliases: list[str]) -> Iterator[None]:
    """Hold the migration lock on every PostgreSQL database of ``aliases``.

    Each lock lives on a connection of its own (not the one ``migrate``
    uses), taken in a fixed order so that two processes never wait on each
    other crosswise; it goes when the block ends or the process dies.
    """
    with contextlib.ExitStack() as stack:
        seen = set()
        for alias in sorted(aliases):
            connection = connections[alias]
            database = (connection.settings_dict["HOST"], connection.settings_dict["PORT"],
                        connection.settings_dict["NAME"])  # fmt: skip
            if connection.vendor != "postgresql" or database in seen:
                continue
            seen.add(database)
            holder = connections.create_connection(alias)
            stack.callback(holder.close)
            with holder.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
        yield


def aliases_to_migrate(*, every: bool = False) -> list[str]:
    """``default``, then the aliases of the served (or, ``every``, all) services."""
    services = registry.services() if every else serving.served_services()
    aliases = aliases_for(services)
    return aliases if DEFAULT_DB_ALIAS in aliases else [DEFAULT_DB_ALIAS, *aliases]


class Command(BaseCommand):
    help = "Run migrate on every database alias of the services served here (see --all)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--all",
            action="store_true",
            help="Also migrate the databases of services this process does not serve.",
        )
        parser.add_argument(
            "--print-aliases", action="store_true", help="Print the aliases and exit."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        aliases = aliases_to_migrate(every=options["all"])
        if options["print_aliases"]:
            self.stdout.write(",".join(aliases))
            return
        verbosity = int(options["verbosity"])
        with migration_lock(aliases):
            self._migrate(aliases, verbosity)

    def _migrate(self, aliases: list[str], verbosity: int) -> None:
        for alias in aliases:
            if verbosity:
                self.stdout.write(f"Migrating database alias {alias!r}")
            # Aliases are migrated one after the other: a failure stops here,
            # and a rerun skips what is already applied.
            call_command(
                "migrate",
                database=alias,
                interactive=False,
                verbosity=verbosity,
                stdout=self.stdout,
                stderr=self.stderr,
            )
