"""Switch observation on as the settings say (``METRICS``, ``TRACING``).

The kit's app config calls ``install()`` when Django starts; a change of
``UCLOUD`` (``override_settings`` in tests) installs again::

    UCLOUD = {"METRICS": True, "TRACING": False}     # metrics only
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from ucloud import observers
from ucloud.observe.calls import CallObservation
from ucloud.observe.events import EventObservation, LockObservation
from ucloud.settings import ucloud_settings


def install() -> None:
    """Install the observers the settings ask for; none when both are off."""
    metrics, tracing = bool(ucloud_settings.METRICS), bool(ucloud_settings.TRACING)
    on = metrics or tracing
    observers.install(
        calls=CallObservation(metrics=metrics, tracing=tracing) if on else None,
        events=EventObservation(metrics=metrics, tracing=tracing) if on else None,
        locks=LockObservation() if metrics else None,
    )


def _reinstall(*, setting: str, **kwargs: Any) -> None:
    if setting != "UCLOUD":
        return
    try:
        install()
    except ImproperlyConfigured:
        # Bad settings are reported where they are used; observe nothing meanwhile.
        observers.install()


setting_changed.connect(_reinstall)
