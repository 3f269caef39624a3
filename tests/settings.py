"""Settings for the test suite: the project's, with fast password hashing."""

from config.settings import *  # noqa: F403
from config.settings import SECRET_KEY
from ucloud.secret_settings import DEVELOPMENT_SECRET_KEY

# PBKDF2 at Django's default cost makes every login in a test take ~0.3 s.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["*"]
# The suite runs with DEBUG off, as production does, so the processes it
# starts (gunicorn, workers) refuse the development key: tests have their own
# unless DJANGO_SECRET_KEY gives one.
if SECRET_KEY == DEVELOPMENT_SECRET_KEY:
    SECRET_KEY = "tests-only-secret-key-never-deployed-7f3a9c41d2e8b065"

# The event proofs (tests/events) start Celery workers beside their producer
# on SQLite without Redis: process-local locks would fail the check that
# guards real deployments, yet no proof takes a lock. tests/ucloud/test_locks
# calls the check itself.
SILENCED_SYSTEM_CHECKS = ["ucloud.E020"]

# Audit records are produced in the audited call's thread, so that a test
# sees them at once (and in its transaction); the processes the end-to-end
# tests start produce them in the background, as deployments do.
UCLOUD = {
    **UCLOUD,  # noqa: F405
    "AUDIT_IN_BACKGROUND": env.bool("UCLOUD_AUDIT_IN_BACKGROUND", default=False),  # noqa: F405
}
