"""Admin pages of notifications."""

from django.contrib import admin

from apps.notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("id", "username", "type", "message", "file_id", "read", "created_at")
    list_filter = ("type", "read")
    search_fields = ("username", "message")
