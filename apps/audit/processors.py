"""Processors of audit: every unit's audit records land in the store, and a
daily job prunes those past ``AUDIT_RETENTION`` on one instance at a time.

    celery -A config worker -Q ucloud.audit      # what make worker runs
"""

from __future__ import annotations

import datetime

from celery import shared_task

from apps.audit import services
from ucloud.audit.stream import audit_records
from ucloud.events.processors import TransientError, processor
from ucloud.events.streams import Event
from ucloud.locks import run_exclusively
from ucloud.search.query import SearchUnavailable
from ucloud.settings import ucloud_settings


@processor(audit_records, batched=True)
def store_audit_records(events: list[Event]) -> None:
    try:
        services.audit_store_records([{**event.payload, "id": event.event_id} for event in events])
    except SearchUnavailable as exc:
        # Elasticsearch down: the records wait in the stream, no attempt counted.
        raise TransientError(str(exc)) from exc


@shared_task(name="audit.prune")
@run_exclusively("audit.prune", ttl=3600)
def prune_audit_records() -> int:
    retention = datetime.timedelta(days=int(ucloud_settings.AUDIT_RETENTION))
    return services.audit_prune(older_than=retention)
