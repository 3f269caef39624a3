"""Settings of the events benchmark: the project's, plus the bench service,
with events relayed through the broker (never eagerly).

``bench/events.py`` sets these for its producer and its Celery worker::

    DJANGO_SETTINGS_MODULE=bench.events_settings CELERY_BROKER_URL=redis://127.0.0.1:6379/9 \\
        .venv/bin/celery -A config worker -Q ucloud.eventsbench
"""

from config.settings import *  # noqa: F403
from config.settings import CELERY_BROKER_URL, DATABASES, INSTALLED_APPS, SECRET_KEY, UCLOUD
from ucloud.secret_settings import DEVELOPMENT_SECRET_KEY

if not CELERY_BROKER_URL:
    raise RuntimeError("The events benchmark needs CELERY_BROKER_URL (a Redis URL)")

INSTALLED_APPS = [*INSTALLED_APPS, "bench.events_app"]
UCLOUD = {**UCLOUD, "EVENTS_EAGER": False}
# With DEBUG off no process starts on the development key (ucloud.E010); the
# benchmark's processes share this one unless DJANGO_SECRET_KEY gives one.
if SECRET_KEY == DEVELOPMENT_SECRET_KEY:
    SECRET_KEY = "bench-only-secret-key-never-deployed-5b81e07c93d4a2f6"

# Keep the connection between tasks and between produced transactions, as
# bench.settings does for the HTTP benchmarks: connection setup is not what
# is measured.
DATABASES["default"]["CONN_MAX_AGE"] = 60
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Producer and workers write to one file: WAL lets readers and the writer
    # overlap, IMMEDIATE avoids lock-upgrade deadlocks, the timeout waits.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
    )
