"""Notifications of users. ``username`` and ``file_id`` are plain values:
users and files belong to other services."""

from __future__ import annotations

from django.db import models


class NotificationType(models.TextChoices):
    FILE_CREATED = "file_created", "File created"
    FILE_MOVED = "file_moved", "File moved"
    FILE_DELETED = "file_deleted", "File deleted"
    FILE_SHARED = "file_shared", "File shared"


class Notification(models.Model):
    username = models.CharField(max_length=150)
    type = models.CharField(max_length=32, choices=NotificationType.choices)
    message = models.CharField(max_length=8192)
    file_id = models.BigIntegerField()
    read = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["username", "-id"], name="notifications_user_newest")]

    def __str__(self) -> str:
        return f"{self.username}: {self.message}"
