"""Billing naming its own database: allowed (ucloud.E008 only concerns other services')."""

from __future__ import annotations

from typing import Any

from django.db import transaction


def ledger_open(*, rows: Any) -> None:
    with transaction.atomic(using="billing"):
        rows.using("billing").all()
