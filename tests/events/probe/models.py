"""The probe's state: one ``Effect`` per processor and event key, at most, and
the sequenced events in the order they were applied."""

from __future__ import annotations

from typing import ClassVar

from django.db import models


class Effect(models.Model):
    """What one probe processor did for one event; a second one cannot commit."""

    processor = models.CharField(max_length=20)
    number = models.IntegerField()
    event_id = models.UUIDField()
    # The process that applied it: in the eager mode, the producer itself.
    pid = models.IntegerField()

    # Declared so that type checkers, which read settings without the probe
    # installed, still know the manager.
    objects: ClassVar[models.Manager[Effect]] = models.Manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["processor", "number"], name="probe_effect_once"),
        ]

    def __str__(self) -> str:
        return f"{self.processor} #{self.number}"


class Applied(models.Model):
    """A sequenced event, applied; ids grow in the order of application."""

    key = models.IntegerField()
    seq = models.IntegerField()
    pid = models.IntegerField()

    objects: ClassVar[models.Manager[Applied]] = models.Manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "seq"], name="probe_applied_once"),
        ]

    def __str__(self) -> str:
        return f"{self.key}/{self.seq}"
