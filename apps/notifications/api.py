"""The notifications contract: browse your notifications, mark them read.

from apps.notifications.api import NotificationDescriptions
NotificationDescriptions.browse.call({"unread_only": True}, client)
"""

from __future__ import annotations

from rest_framework import serializers

from ucloud.contracts.bindings import http_browse, http_update
from ucloud.contracts.calls import CallDescriptionContainer, call
from ucloud.contracts.pages import BrowseRequest, page_of
from ucloud.contracts.roles import Access, Roles

NOTIFICATION_TYPES = ("file_created", "file_moved", "file_deleted", "file_shared")
MAX_IDS = 1000


class Notification(serializers.Serializer):
    id = serializers.IntegerField()
    type = serializers.ChoiceField(choices=NOTIFICATION_TYPES)
    message = serializers.CharField()
    file_id = serializers.IntegerField()
    read = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class BrowseNotificationsRequest(BrowseRequest):
    unread_only = serializers.BooleanField(default=False)


class MarkReadRequest(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        allow_empty=False,
        max_length=MAX_IDS,
    )


class MarkReadResponse(serializers.Serializer):
    updated = serializers.IntegerField(help_text="How many of the ids were unread and now are read")


class NotificationDescriptions(CallDescriptionContainer):
    namespace = "notifications"

    browse = call(
        request=BrowseNotificationsRequest,
        response=page_of(Notification),
        roles=Roles.END_USER,
        access=Access.READ,
        http=http_browse(),
        summary="Browse the caller's notifications, newest first",
    )
    mark_read = call(
        request=MarkReadRequest,
        response=MarkReadResponse,
        roles=Roles.END_USER,
        access=Access.READ_WRITE,
        http=http_update("mark_read"),
        summary="Mark some of the caller's notifications as read",
        description="Ids of other users' notifications are ignored.",
    )
