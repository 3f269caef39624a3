"""ASGI entry point: ``uvicorn config.asgi:application``.

Like ``config.wsgi``, it refuses to start without real secrets (DEBUG off).
"""

import os

from django.core.asgi import get_asgi_application

from ucloud.secret_settings import require_real_secrets

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_asgi_application()
require_real_secrets()
