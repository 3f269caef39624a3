"""Settings of the benchmark process and servers: the project's, plus baseline routes.

``bench/run.py`` sets these for itself and for the gunicorn it starts::

    DJANGO_SETTINGS_MODULE=bench.settings DATABASE_URL=sqlite:////tmp/b.sqlite3 \\
        gunicorn config.wsgi:application
"""

from config.settings import *  # noqa: F403
from config.settings import DATABASES

# The project's routes plus the plain-DRF baseline views under /bench/plain/.
ROOT_URLCONF = "bench.baseline_urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
DEBUG = False

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
