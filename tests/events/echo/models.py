"""The echo's state: one ``Echo`` per probe event number, at most."""

from __future__ import annotations

from typing import ClassVar

from django.db import models


class Echo(models.Model):
    number = models.IntegerField(unique=True)
    event_id = models.UUIDField()

    objects: ClassVar[models.Manager[Echo]] = models.Manager()

    def __str__(self) -> str:
        return f"echo #{self.number}"
