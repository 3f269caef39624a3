"""WSGI entry point: ``UCLOUD_SERVICES=files gunicorn config.wsgi``.

Servers run no system checks, so the secrets are checked here: with DEBUG
off and no real DJANGO_SECRET_KEY, gunicorn's workers fail to boot and
gunicorn exits, naming the variable (see ``ucloud.secret_settings``).
"""

import os

from django.core.wsgi import get_wsgi_application

from ucloud.secret_settings import require_real_secrets

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
require_real_secrets()
