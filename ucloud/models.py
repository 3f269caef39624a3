"""Tables of the kit: the outbox of produced events, the inbox of handled
events and the dead letters of events that kept failing.

They live in the database of the service that owns them: a producer's
outbox, a consumer's inbox and dead letters::

    OutboxEvent.objects.filter(relayed_at__isnull=True).count()   # waiting to be relayed
"""

from __future__ import annotations

import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from ucloud.db.indexes import TimeOrderedIndex

# The fence table of distributed locks lives with the locks; the app is this one.
from ucloud.locks.models import LockFence  # noqa: F401

# So are the tables of the database search backends.
from ucloud.search.models import SearchAlias, SearchEntry  # noqa: F401


class OutboxEvent(models.Model):
    """An event produced in the same transaction as the state change it tells of."""

    # A random version-4 UUID, unique by construction (122 random bits),
    # and not indexed: a unique index made relaying a row (an UPDATE that
    # PostgreSQL cannot do in place) check it against its own old version,
    # a third of the relay's time, and every produce pay a random insert
    # into a large index. Consumers dedupe in their inbox; nothing looks an
    # outbox row up by it (the admin's search scans the text).
    event_id = models.UUIDField(default=uuid.uuid4, editable=False)
    stream = models.CharField(max_length=200)
    key = models.CharField(max_length=200)
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    # Fingerprint of the payload serializer the producer validated with;
    # consumers with the same one need not validate the payload again.
    contract = models.CharField(max_length=32, blank=True, default="", db_default="")
    # The W3C traceparent of the producing call ("" when not traced): the
    # processors' spans link to it (ucloud.observe).
    trace = models.CharField(max_length=64, blank=True, default="", db_default="")
    # Indexed as BRIN on PostgreSQL (Meta): see TimeOrderedIndex.
    created_at = models.DateTimeField(auto_now_add=True)
    # Set once the event is on its Redis stream (or, in eager mode, handled
    # by every consumer group of the stream); rows are kept for the
    # retention period so that events can be replayed.
    relayed_at = models.DateTimeField(null=True, blank=True)
    # Eager mode (no broker): the process delivers the event to the groups
    # it serves. Failed attempts so far, when the next one is due, and when
    # those groups were done with it (other groups may still wait for a
    # broker, with relayed_at unset).
    eager_attempts = models.PositiveSmallIntegerField(default=0, db_default=0)
    eager_retry_at = models.DateTimeField(null=True, blank=True)
    eager_done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["id"],
                condition=models.Q(relayed_at__isnull=True),
                name="ucloud_outbox_pending",
            ),
            models.Index(
                fields=["id"],
                condition=models.Q(relayed_at__isnull=True, eager_done_at__isnull=True),
                name="ucloud_outbox_eager_pending",
            ),
            TimeOrderedIndex(fields=["created_at"], name="ucloud_outbox_created"),
        ]

    def __str__(self) -> str:
        return f"{self.stream} {self.key} ({self.event_id})"


class InboxEntry(models.Model):
    """An event a consumer has handled; written with the consumer's effect."""

    consumer = models.CharField(max_length=300)
    event_id = models.UUIDField()
    # Indexed as BRIN on PostgreSQL (Meta): see TimeOrderedIndex.
    handled_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "inbox entries"
        indexes = [TimeOrderedIndex(fields=["handled_at"], name="ucloud_inbox_handled")]
        constraints = [
            models.UniqueConstraint(fields=["consumer", "event_id"], name="ucloud_inbox_once"),
        ]

    def __str__(self) -> str:
        return f"{self.consumer} handled {self.event_id}"


class DeadLetter(models.Model):
    """An event a consumer failed to handle after every attempt."""

    consumer = models.CharField(max_length=300, db_index=True)
    event_id = models.UUIDField()
    stream = models.CharField(max_length=200)
    key = models.CharField(max_length=200)
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    produced_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField()
    attempts = models.PositiveIntegerField()
    failed_at = models.DateTimeField(auto_now_add=True)
    # Set when a retry handled the event.
    resolved_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["consumer", "event_id"], name="ucloud_dead_once"),
        ]

    def __str__(self) -> str:
        return f"{self.consumer}: {self.stream} {self.key}"
