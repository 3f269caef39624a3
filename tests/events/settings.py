"""Settings of the event-delivery proofs: the test settings plus the probe service.

Worker, beat and producer processes of ``tests/events`` run with them; every
knob the proofs turn comes from the environment::

    DJANGO_SETTINGS_MODULE=tests.events.settings CELERY_BROKER_URL=redis://127.0.0.1:7001/0 \\
        PROBE_DIR=/tmp/probe python manage.py ucloud_worker --beat
"""

import environ

from tests.settings import *  # noqa: F403
from tests.settings import CELERY_BROKER_TRANSPORT_OPTIONS, DATABASES, INSTALLED_APPS, UCLOUD

_env = environ.Env()

INSTALLED_APPS = [*INSTALLED_APPS, "tests.events.probe", "tests.events.echo"]

# Where the probe logs executions and finds its hold / cured switches.
PROBE_DIR = _env.str("PROBE_DIR", default="")

UCLOUD = {
    **UCLOUD,
    "STREAM_MAX_ATTEMPTS": _env.int("UCLOUD_STREAM_MAX_ATTEMPTS", default=5),
    "STREAM_RETRY_BACKOFF": _env.float("UCLOUD_STREAM_RETRY_BACKOFF", default=1.0),
    "RELAY_SWEEP_MIN_AGE": _env.float("UCLOUD_RELAY_SWEEP_MIN_AGE", default=2.0),
    # A killed consumer's partitions wait this long for another consumer.
    "STREAM_LEASE_TTL": _env.float("UCLOUD_STREAM_LEASE_TTL", default=2.0),
    "STREAM_BLOCK": 0.5,
    "STREAM_PARTITIONS": _env.int("UCLOUD_STREAM_PARTITIONS", default=8),
}

CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    # kombu scans for messages of dead workers every 10 s x 10 calls by
    # default; a proof that waits for redelivery wants every second.
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
    # A worker killed inside that scan keeps its mutex for 300 s by default.
    "unacked_mutex_expire": 10,
}
# Beat keeps its schedule in the working directory unless told otherwise.
CELERY_BEAT_SCHEDULE_FILENAME = _env.str(
    "CELERY_BEAT_SCHEDULE_FILENAME", default="celerybeat-schedule"
)

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Workers, beat and the producer write one SQLite file at the same time:
    # take the write lock when a transaction begins (a deferred one cannot
    # wait for it later) and wait for it rather than fail. WAL lets readers
    # run beside the writer; synchronous=NORMAL survives killed processes
    # (not power loss), which is all these proofs kill.
    DATABASES["default"]["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
