"""Settings of the example project, read from the environment (django-environ).

Every variable has a development default except where production needs a
real value; see README.md, "Configuration"::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ucloud \
        UCLOUD_SERVICES=files ./manage.py runserver 8002
"""

from __future__ import annotations

import os
from pathlib import Path

import environ

from ucloud.databases import database_settings
from ucloud.secret_settings import DEVELOPMENT_SECRET_KEY
from ucloud.serving import parse_service_urls, parse_services

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Set DJANGO_SECRET_KEY (and UCLOUD_SIGNING_KEY, if used) to the same value in
# every process of a deployment; `make run` writes a random one to .env. The
# fallback is good with DJANGO_DEBUG on only: with DEBUG off no process starts
# on it (system check ucloud.E010, see ucloud/secret_settings.py).
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or DEVELOPMENT_SECRET_KEY
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

# The services of this project; each gets a database alias named after its
# label (the package's last name), see DATABASES.
SERVICE_APPS = ["apps.accounts", "apps.files", "apps.notifications", "apps.audit"]

INSTALLED_APPS = [
    # django.contrib.admin with the kit's site: this unit's models, and the
    # inspection pages of every unit (catalog, picture, calls, traces, live state).
    "ucloud.observe.admin_app.InspectingAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "ucloud",
    *SERVICE_APPS,
]

MIDDLEWARE = [
    # First: it sees every answer, and audits the 401s and 403s that no
    # call's pipeline audited (README, "Audit trail").
    "ucloud.audit.middleware.RefusalAuditMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Job-Id and Trace-Id on every response; continues an incoming traceparent.
    "ucloud.observe.middleware.ObservationMiddleware",
]

ROOT_URLCONF = "config.urls"
# A refused CSRF check answers the kit's JSON 403 (the admin keeps its page).
CSRF_FAILURE_VIEW = "ucloud.rpc.error_mapping.csrf_failure"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# "default" from DATABASE_URL, plus one alias per service: its own database
# when DATABASE_URL_<SERVICE> is set, else a mirror of default (see README,
# "Each service owns its data").
DATABASES = database_settings(
    [app.rpartition(".")[2] for app in SERVICE_APPS],
    environ=os.environ,
    default_url=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
)
for _database in DATABASES.values():
    # Keep connections between requests (a new PostgreSQL connection costs
    # milliseconds); check them before reuse so a restarted server is fine.
    # The check is one round trip per request that touches the database
    # (README, "Performance"); turn it off to trade that for one failed
    # request per stale connection after a database restart.
    _database["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    _database["CONN_HEALTH_CHECKS"] = env.bool("DATABASE_CONN_HEALTH_CHECKS", default=True)
    if _database["ENGINE"] == "django.db.backends.sqlite3":
        # Web, worker and beat processes may write one SQLite file at once:
        # take the write lock when a transaction begins (a deferred
        # transaction cannot wait for it later) and wait for it instead of
        # failing.
        _database["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL;",
            **_database.get("OPTIONS", {}),
        }
DATABASE_ROUTERS = ["ucloud.database_router.ServiceRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "ucloud.rpc.error_mapping.exception_handler",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "ucloud-kit services",
    "DESCRIPTION": "Calls of every service, generated from their descriptions.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

REDIS_URL = env.str("REDIS_URL", default="") or None
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or None
ELASTICSEARCH_URL = env.str("ELASTICSEARCH_URL", default="") or None
# django-elasticsearch-dsl is used for its Document classes only: indexing
# follows each service's events, never model signals (ucloud.search).
ELASTICSEARCH_DSL_AUTOSYNC = False

UCLOUD = {
    "SERVICES": parse_services(env.str("UCLOUD_SERVICES", default="")),
    "SERVICE_URLS": parse_service_urls(env.str("UCLOUD_SERVICE_URLS", default="")),
    "GATEWAY_URL": env.str("UCLOUD_GATEWAY_URL", default="") or None,
    "FORCE_HTTP": env.bool("UCLOUD_FORCE_HTTP", default=False),
    "SIGNING_KEY": env.str("UCLOUD_SIGNING_KEY", default="") or None,
    # Proxies whose X-Forwarded-For names the client (the nginx gateway).
    "TRUSTED_PROXIES": env.list("UCLOUD_TRUSTED_PROXIES", default=[]),
    # Per-service key pairs (manage.py ucloud_keys); unset: HMAC with SIGNING_KEY.
    "KEYS_DIR": env.str("UCLOUD_KEYS_DIR", default="") or None,
    "HTTP_CONNECT_TIMEOUT": env.float("UCLOUD_HTTP_CONNECT_TIMEOUT", default=5.0),
    "HTTP_READ_TIMEOUT": env.float("UCLOUD_HTTP_READ_TIMEOUT", default=30.0),
    "REDIS_URL": REDIS_URL,
    # The Redis of the event streams; unset: CELERY_BROKER_URL's.
    "EVENTS_URL": env.str("UCLOUD_EVENTS_URL", default="") or None,
    "RELAY_SWEEP_INTERVAL": env.float("UCLOUD_RELAY_SWEEP_INTERVAL", default=5.0),
    # Prometheus metrics and OpenTelemetry spans (see README, "Inspecting").
    "METRICS": env.bool("UCLOUD_METRICS", default=True),
    "TRACING": env.bool("UCLOUD_TRACING", default=True),
    "WORKER_METRICS_PORT": env.int("UCLOUD_WORKER_METRICS_PORT", default=0),
    # Text search: Elasticsearch when set, else the database (README, "Search").
    "ELASTICSEARCH_URL": ELASTICSEARCH_URL,
    # OpenSearch and other compatible servers want plain application/json.
    "ELASTICSEARCH_PLAIN_JSON": env.bool("ELASTICSEARCH_PLAIN_JSON", default=False),
    "SEARCH_INDEX_PREFIX": env.str("UCLOUD_SEARCH_INDEX_PREFIX", default=""),
    # Days audit records are kept (README, "Audit trail").
    "AUDIT_RETENTION": env.int("UCLOUD_AUDIT_RETENTION_DAYS", default=180),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "ucloud": {
            "handlers": ["console"],
            "level": env.str("UCLOUD_LOG_LEVEL", default="WARNING"),
        },
        "ucloud.audit": {
            "handlers": ["console"],
            "level": env.str("UCLOUD_AUDIT_LEVEL", default="WARNING"),
            "propagate": False,
        },
    },
}

# Celery. Events do not travel as Celery messages (they are Redis Streams
# entries, read by the consumers in each worker process); Celery runs the
# periodic tasks: outbox sweeps, pruning, a service's own jobs. Without a
# broker, tasks run eagerly in process (the embedded default).
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
# A worker killed mid-task leaves its message unacknowledged; the broker
# gives it to another worker after the visibility timeout (seconds). A task
# that raised is acknowledged: the periodic ones run again on schedule.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=360),
    # A broker that stops answering must not hang a worker.
    "socket_timeout": 5,
    "socket_connect_timeout": 5,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery 5.7's own consumer stops the worker when Redis restarts while a
# task runs; the kit's reconnects instead (ucloud/events/celery_consumer.py).
CELERY_WORKER_CONSUMER = "ucloud.events.celery_consumer:BrokerRestartSafeConsumer"
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_TASK_DEFAULT_QUEUE = "ucloud.relay"
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=4)
# The kit adds one outbox sweep and one pruning per service to this
# (ucloud.events.tasks.schedule_periodic_tasks, called from config/celery.py).
CELERY_BEAT_SCHEDULE = {
    "notifications.prune_read": {
        "task": "notifications.prune_read",
        "schedule": 3600.0,
        "options": {"queue": "ucloud.notifications"},
    },
    # Audit records past UCLOUD_AUDIT_RETENTION_DAYS, once a day.
    "audit.prune": {
        "task": "audit.prune",
        "schedule": 86400.0,
        "options": {"queue": "ucloud.audit"},
    },
}
