"""Settings of the benchmark process and servers: the project's, plus baseline routes.

``bench/run.py`` sets these for itself and for the gunicorn it starts::

    DJANGO_SETTINGS_MODULE=bench.settings DATABASE_URL=sqlite:////tmp/b.sqlite3 \\
        gunicorn config.wsgi:application
"""

import os

from config.settings import *  # noqa: F403
from config.settings import DATABASES, SECRET_KEY
from ucloud.secret_settings import DEVELOPMENT_SECRET_KEY

# The project's routes plus the plain-DRF baseline views under /bench/plain/.
ROOT_URLCONF = "bench.baseline_urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
DEBUG = False
# With DEBUG off no process starts on the development key; the benchmark's
# processes share this one unless DJANGO_SECRET_KEY gives one.
if SECRET_KEY == DEVELOPMENT_SECRET_KEY:
    SECRET_KEY = "bench-only-secret-key-never-deployed-5b81e07c93d4a2f6"

# Kit and baseline alike keep their database connection between requests, so
# that connection setup (milliseconds for PostgreSQL) does not drown out the
# difference being measured.
DATABASES["default"]["CONN_MAX_AGE"] = 60
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Two gunicorn workers write to one SQLite file under load: WAL lets
    # readers and the writer overlap, IMMEDIATE avoids lock-upgrade deadlocks,
    # and the timeout makes a busy writer wait instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )

if os.environ.get("BENCH_OBSERVATION_SWITCH"):
    # bench.observability's server: observation on or off per request.
    MIDDLEWARE = ["bench.observation_switch.ObservationSwitch", *MIDDLEWARE]  # noqa: F405
