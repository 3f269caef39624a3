"""The audit trail in the admin: read-only, filtered by user, call, status,
time and job (the database store's records).

    /admin/audit/auditrecord/?status__exact=401&time__gte=2026-11-01
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.audit.models import AuditRecord


@admin.register(AuditRecord)
class AuditRecordAdmin(admin.ModelAdmin):
    list_display = ("time", "call", "username", "role", "status", "duration_us",
                    "remote_address", "job_id")  # fmt: skip
    list_filter = ("status", "role", "time", "call")
    search_fields = ("=username", "=job_id", "=caused_by", "call", "remote_address")
    date_hierarchy = "time"
    ordering = ("-time", "-event_id")
    show_full_result_count = False

    # A trail nobody edits: no adding, changing or deleting, superusers included.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
