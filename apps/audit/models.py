"""Audit records as the database store keeps them (the default store).

One row per audited or refused call, written by the audit service's
processor from the ``ucloud.audit`` stream; never changed, pruned after
``AUDIT_RETENTION`` days::

    AuditRecord.objects.filter(username="alice", status__in=[401, 403]).order_by("-time")
"""

from __future__ import annotations

from django.db import models


class AuditRecord(models.Model):
    # The event's id: a record stored twice is one row.
    event_id = models.UUIDField(unique=True)
    time = models.DateTimeField()
    call = models.CharField(max_length=300)
    username = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=16)
    service = models.CharField(max_length=200, blank=True)
    via = models.CharField(max_length=1000, blank=True)
    job_id = models.CharField(max_length=200, blank=True)
    caused_by = models.CharField(max_length=200, blank=True)
    status = models.PositiveSmallIntegerField()
    duration_us = models.BigIntegerField()
    remote_address = models.CharField(max_length=100, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    request = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-time", "-event_id"]
        indexes = [
            models.Index(fields=["-time", "-event_id"], name="audit_newest"),
            models.Index(fields=["username", "-time"], name="audit_by_user"),
            models.Index(fields=["call", "-time"], name="audit_by_call"),
            models.Index(fields=["job_id"], name="audit_by_job"),
            models.Index(fields=["status", "-time"], name="audit_by_status"),
        ]

    def __str__(self) -> str:
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.call} {self.username or '-'} {self.status}"
