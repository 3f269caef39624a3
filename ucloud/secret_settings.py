"""Real secrets or no start: with ``DEBUG`` off, the keys a process signs with
must not be a development default, a placeholder or too short to be a key.

``SECRET_KEY`` (``DJANGO_SECRET_KEY``) signs sessions and, without
``UCLOUD_KEYS_DIR``, every JWT; ``UCLOUD["SIGNING_KEY"]``
(``UCLOUD_SIGNING_KEY``), when set, signs JWTs instead. Anyone who has read
the repository knows the development default, so a deployment that forgot
the variable would accept tokens minted by anyone. The system check
``ucloud.E010`` names the variable; entry points that run no system checks
(WSGI, ASGI, Celery) call ``require_real_secrets()``::

    application = get_wsgi_application()
    require_real_secrets()      # ImproperlyConfigured: gunicorn's workers do not boot

``DEBUG`` on (development) accepts anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured

from ucloud.settings import ucloud_settings

# The project's fallback when DJANGO_SECRET_KEY is unset: good for DEBUG only.
# Django's own "insecure" prefix, which its deploy checks flag too.
DEVELOPMENT_SECRET_KEY = "django-insecure-ucloud-kit-development-only-key"
INSECURE_PREFIX = "django-insecure-"
# HS256 wants a key at least as long as its 256-bit hash (RFC 7518, 3.2).
MIN_LENGTH = 32
# Words of placeholders that documentation and generators tend to carry.
PLACEHOLDER_WORDS = ("change-me", "changeme", "change_me", "replace-me", "placeholder")
ERROR_ID = "ucloud.E010"


def weakness(value: str) -> str | None:
    """Why ``value`` is no real secret, or None when it may be one."""
    if not value:
        return "is empty"
    if value == DEVELOPMENT_SECRET_KEY or value.startswith(INSECURE_PREFIX):
        return "is the development default"
    lowered = value.lower()
    if any(word in lowered for word in PLACEHOLDER_WORDS):
        return "is a placeholder"
    if len(value) < MIN_LENGTH:
        return f"is shorter than {MIN_LENGTH} characters"
    if len(set(value)) < 5:
        return "repeats too few characters"
    return None


def _secret_key() -> str:
    try:
        return str(settings.SECRET_KEY)
    except ImproperlyConfigured:  # Django refuses to hand out an empty one
        return ""


def secret_errors() -> list[CheckMessage]:
    """``ucloud.E010`` for each weak secret; none while ``DEBUG`` is on."""
    if settings.DEBUG:
        return []
    found = [("SECRET_KEY", "DJANGO_SECRET_KEY", weakness(_secret_key()))]
    signing_key = ucloud_settings.SIGNING_KEY
    if signing_key is not None:
        found.append(('UCLOUD["SIGNING_KEY"]', "UCLOUD_SIGNING_KEY", weakness(str(signing_key))))
    return [
        Error(
            f"{variable} {reason}: with DEBUG off a process needs a real secret ({setting}).",
            hint=(
                f"Set {variable} to a long random string, the same in every process "
                "of the deployment: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
            ),
            id=ERROR_ID,
        )
        for setting, variable, reason in found
        if reason is not None
    ]


@register("ucloud")
def check_secrets(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """E010: a secret is empty, a development default, a placeholder or too short."""
    return secret_errors()


def require_real_secrets() -> None:
    """Raise ``ImproperlyConfigured`` with the E010 messages, if any."""
    errors = secret_errors()
    if errors:
        lines = [f"{error.id}: {error.msg} HINT: {error.hint}" for error in errors]
        raise ImproperlyConfigured("\n".join(lines))
