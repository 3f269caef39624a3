"""Shop code that reaches into billing's database; each line marked E008
breaks the rule (the module is only parsed, never run)."""

from __future__ import annotations

from typing import Any

from django.db import connections, transaction

from ucloud.databases import alias_for, atomic

from . import models


def ledger_close(*, order: models.Order, rows: Any) -> str:
    with transaction.atomic(using="billing"):  # E008
        rows.using("billing").filter(number=order.number).delete()  # E008
    with transaction.atomic("billing"):  # E008
        rows.db_manager("billing").all()  # E008
    with atomic("billing"):  # E008: the kit's helper, on billing's database
        pass
    with connections["billing"].cursor() as cursor:  # E008
        cursor.execute("SELECT 1")
    return alias_for("billing")  # E008


def ledger_own(*, rows: Any, alias: str) -> None:
    # The shop's own alias, the default one and computed names are fine.
    with transaction.atomic(using="shop"), atomic("shop"):
        rows.using(alias_for("shop")).all()
        rows.using("default").all()
        rows.using(alias).all()
        connections[alias].close()
