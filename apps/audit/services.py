"""Business logic of the audit service: store, query and prune records.

audit_store_records(records)                       # the processor, a batch
page = audit_query(query=AuditQuery(usernames=["alice"]))
audit_prune(older_than=datetime.timedelta(days=180))
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from django.utils import timezone

from apps.audit.filters import AuditQuery, token
from apps.audit.stores import Record, audit_store


def audit_store_records(records: Sequence[Record]) -> None:
    audit_store().write(records)


def audit_query(*, query: AuditQuery) -> dict[str, Any]:
    """A page of records, newest first, with the token of the next page."""
    records, more = audit_store().query(query)
    last = records[-1] if records else None
    return {
        "items": records,
        "next": token(last["time"], last["id"]) if more and last is not None else None,
    }


def audit_prune(*, older_than: datetime.timedelta) -> int:
    return audit_store().prune(before=timezone.now() - older_than)
