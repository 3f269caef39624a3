"""``ServiceRouter``: each service's models go to its own database alias.

Reads and writes of a service's models use ``alias_for(<service>)``;
Django's user-related apps (auth, contenttypes, admin, sessions) follow the
service owning ``AUTH_USER_MODEL``. Migrations create on each alias exactly
the tables it needs::

    DATABASE_ROUTERS = ["ucloud.database_router.ServiceRouter"]

| app | migrated on |
|---|---|
| a service | its alias; on ``default`` only when this process serves it |
| auth, contenttypes, admin, sessions | the alias of the user model's service, same rule |
| the kit (``ucloud``) | ``default`` and every service alias of its own |
| any other app | ``default`` |

Content types go with auth and admin, the only apps pointing at them.
The "served" rule keeps a unit's database (``DATABASE_URL`` of a process
serving ``files`` only) free of empty copies of other services' tables.
"""

from __future__ import annotations

from typing import Any

from django.db import DEFAULT_DB_ALIAS, models

from ucloud import registry, serving
from ucloud.databases import KIT_APP, alias_for, has_own_database, home_app


class ServiceRouter:
    """Routes by the app label of the model; kit models go where the caller says."""

    def _alias(self, app_label: str) -> str | None:
        home = home_app(app_label)
        if home in registry.services():
            return alias_for(home)
        # Kit models (outbox, inbox, dead letters) exist in every alias: the
        # kit names the alias, or the instance's own database applies.
        return None

    def db_for_read(self, model: type[models.Model], **hints: Any) -> str | None:
        return self._alias(model._meta.app_label)

    def db_for_write(self, model: type[models.Model], **hints: Any) -> str | None:
        return self._alias(model._meta.app_label)

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool:
        services = registry.services()
        if app_label == KIT_APP:
            return db == DEFAULT_DB_ALIAS or (db in services and has_own_database(db))
        home = home_app(app_label)
        if home not in services:
            return db == DEFAULT_DB_ALIAS
        if alias_for(home) != db:
            return False
        return db != DEFAULT_DB_ALIAS or serving.is_served(home)
