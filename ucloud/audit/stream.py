"""The audit stream: the kit's own event stream of audit records.

Every unit produces records of the calls it serves into its own outbox
(the serving service's database, where the relay of that unit picks them
up); the ``audit`` service is the consumer group that stores them. The
payload is flat text and numbers, so producing a batch validates fast::

    audit_records.produce_many(records, using=alias_for("files"))

    @processor(audit_records, batched=True)          # apps/audit/processors.py
    def store(events: list[Event]) -> None: ...
"""

from __future__ import annotations

from rest_framework import serializers

from ucloud.events.streams import EventStream

ROLES = ("GUEST", "USER", "ADMIN", "SERVICE")


class AuditRecordPayload(serializers.Serializer):
    """One audited call: who, what, when, how it ended. Never a token."""

    # ISO 8601, UTC, when the call ended.
    time = serializers.CharField(max_length=40)
    # "files.create"; refusals outside any call: "HTTP POST /admin/login/".
    call = serializers.CharField(max_length=300)
    username = serializers.CharField(max_length=200, allow_blank=True)
    role = serializers.ChoiceField(choices=ROLES)
    # The calling service of a SERVICE principal, and the services that
    # forwarded it, comma-separated.
    service = serializers.CharField(max_length=200, allow_blank=True)
    via = serializers.CharField(max_length=1000, allow_blank=True)
    job_id = serializers.CharField(max_length=200, allow_blank=True)
    caused_by = serializers.CharField(max_length=200, allow_blank=True)
    status = serializers.IntegerField(min_value=100, max_value=599)
    duration_us = serializers.IntegerField(min_value=0)
    remote_address = serializers.CharField(max_length=100, allow_blank=True)
    user_agent = serializers.CharField(max_length=500, allow_blank=True)
    # The request with its secrets masked, as JSON text ("" for none).
    request = serializers.CharField(allow_blank=True, trim_whitespace=False)


audit_records = EventStream("ucloud.audit", payload=AuditRecordPayload, key="job_id", ordered=False)
