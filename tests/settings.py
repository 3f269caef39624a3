"""Settings for the test suite: the project's, with fast password hashing."""

from config.settings import *  # noqa: F403

# PBKDF2 at Django's default cost makes every login in a test take ~0.3 s.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["*"]

# The event proofs (tests/events) start Celery workers beside their producer
# on SQLite without Redis: process-local locks would fail the check that
# guards real deployments, yet no proof takes a lock. tests/ucloud/test_locks
# calls the check itself.
SILENCED_SYSTEM_CHECKS = ["ucloud.E020"]
