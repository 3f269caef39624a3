"""The audit contract: administrators browse and search the audit trail.

from apps.audit.api import AuditDescriptions
AuditDescriptions.browse.call({"username": "alice", "status": 401}, admin_client)
"""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from rest_framework import serializers

from ucloud.contracts.bindings import http_browse, http_search
from ucloud.contracts.calls import CallDescriptionContainer, call
from ucloud.contracts.pages import MAX_ITEMS_PER_PAGE, page_of
from ucloud.contracts.roles import Access, Roles

# "<microseconds since the epoch>_<record id>": the last record seen.
AUDIT_TOKEN_PATTERN = r"^[0-9]{1,20}_[0-9a-f-]{36}\Z"
MAX_FILTER_VALUES = 50


class AuditRecord(serializers.Serializer):
    id = serializers.UUIDField(help_text="The record's event id")
    time = serializers.DateTimeField()
    call = serializers.CharField()
    username = serializers.CharField(allow_blank=True)
    role = serializers.CharField()
    service = serializers.CharField(allow_blank=True, help_text="Calling service, if a service")
    via = serializers.CharField(allow_blank=True, help_text="Services that forwarded the call")
    job_id = serializers.CharField(allow_blank=True)
    caused_by = serializers.CharField(allow_blank=True)
    status = serializers.IntegerField()
    duration_ms = serializers.FloatField()
    remote_address = serializers.CharField(allow_blank=True)
    user_agent = serializers.CharField(allow_blank=True)
    request = serializers.JSONField(allow_null=True, help_text="The request, secrets masked")


class _Page(serializers.Serializer):
    items_per_page = serializers.IntegerField(min_value=1, max_value=MAX_ITEMS_PER_PAGE, default=50)
    next = serializers.CharField(
        required=False,
        allow_null=True,
        validators=[RegexValidator(AUDIT_TOKEN_PATTERN, message="Not a valid page token.")],
    )


class _TimeRange(serializers.Serializer):
    since = serializers.DateTimeField(required=False, help_text="From this time (included)")
    until = serializers.DateTimeField(required=False, help_text="Before this time")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since is not None and until is not None and since >= until:
            raise serializers.ValidationError({"until": ["Must be after since."]})
        return attrs


class BrowseAuditRequest(_Page, _TimeRange):
    """Newest first; each given filter must hold."""

    username = serializers.CharField(required=False, max_length=200)
    call = serializers.CharField(required=False, max_length=300, help_text="An exact call name")
    status = serializers.IntegerField(required=False, min_value=100, max_value=599)
    job_id = serializers.CharField(required=False, max_length=200)


class SearchAuditRequest(_Page, _TimeRange):
    """Newest first; each list matches any of its values, all lists must hold."""

    usernames = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, max_length=MAX_FILTER_VALUES
    )
    calls = serializers.ListField(
        child=serializers.CharField(max_length=300),
        required=False,
        max_length=MAX_FILTER_VALUES,
        help_text='Call names; "files.*" is every call of a namespace',
    )
    statuses = serializers.ListField(
        child=serializers.IntegerField(min_value=100, max_value=599),
        required=False,
        max_length=MAX_FILTER_VALUES,
    )
    job_id = serializers.CharField(required=False, max_length=200)
    caused_by = serializers.CharField(required=False, max_length=200)


class AuditDescriptions(CallDescriptionContainer):
    namespace = "audit"

    browse = call(
        request=BrowseAuditRequest,
        response=page_of(AuditRecord),
        roles=Roles.ADMIN,
        access=Access.READ,
        http=http_browse(),
        audit=True,
        summary="Browse the audit trail, newest first, by user, call, status, time and job",
    )
    search = call(
        request=SearchAuditRequest,
        response=page_of(AuditRecord),
        roles=Roles.ADMIN,
        access=Access.READ,
        http=http_search(),
        audit=True,
        summary="Search the audit trail: several users, calls (or namespaces), statuses, "
        "a time range, a job or what caused it",
    )
