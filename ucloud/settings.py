"""The kit's settings: one namespaced ``UCLOUD`` dict read lazily with defaults.

Modelled on DRF's ``api_settings``: unknown keys are an error, values are read
on first access, and ``override_settings(UCLOUD=...)`` reloads them::

    from ucloud.settings import ucloud_settings
    ucloud_settings.HTTP_READ_TIMEOUT   # 30.0 unless UCLOUD says otherwise
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

DEFAULTS: dict[str, Any] = {
    # Services this process serves; None means every installed service.
    "SERVICES": None,
    # Where services that are not served here live: {"accounts": "http://..."}.
    "SERVICE_URLS": {},
    # One URL in front of every service, used when SERVICE_URLS has no entry.
    "GATEWAY_URL": None,
    # Send every call over HTTP, even to services served here (tests, debugging).
    "FORCE_HTTP": False,
    # A directory of per-service Ed25519 key pairs (<service>.pem private,
    # <service>.pub public): tokens are signed by the service they come from.
    # None: every process shares the HMAC key below instead.
    "KEYS_DIR": None,
    # The service that mints user tokens (signs them with its key).
    "AUTH_SERVICE": "accounts",
    # HMAC key for JWTs when KEYS_DIR is not set; None means settings.SECRET_KEY.
    "SIGNING_KEY": None,
    "JWT_ALGORITHM": "HS256",
    "ACCESS_TOKEN_LIFETIME": 600,
    "REFRESH_TOKEN_LIFETIME": 60 * 60 * 24 * 14,
    "SERVICE_TOKEN_LIFETIME": 600,
    # Failed logins allowed per username and per client address within the
    # window (seconds) before accounts.login answers 429.
    "LOGIN_FAILURES_PER_USERNAME": 10,
    "LOGIN_FAILURES_PER_ADDRESS": 50,
    "LOGIN_THROTTLE_WINDOW": 600,
    # Proxies (addresses or networks) whose X-Forwarded-For names the client.
    "TRUSTED_PROXIES": (),
    # Request bodies nesting arrays or objects deeper than this are a 400.
    "MAX_JSON_DEPTH": 64,
    # Seconds; a connect failure maps to 502, a timeout to 504.
    "HTTP_CONNECT_TIMEOUT": 5.0,
    "HTTP_READ_TIMEOUT": 30.0,
    "HTTP_MAX_CONNECTIONS": 100,
    # Keep below the servers' keep-alive timeout so that idle pooled
    # connections are dropped by us before the server closes them.
    "HTTP_KEEPALIVE_EXPIRY": 1.5,
    # Redis used by health checks (and later by streams and locks).
    "REDIS_URL": None,
    # Distributed locks: "redis", "postgresql" or "local"; None picks Redis
    # when REDIS_URL is set, else PostgreSQL when that is the default
    # database, else a process-local lock.
    "LOCK_BACKEND": None,
    # The Redis holding the event streams; None means CELERY_BROKER_URL when
    # that is a Redis URL. Without either, events are delivered eagerly.
    "EVENTS_URL": None,
    # Events: None derives eager mode from the absence of an events Redis.
    "EVENTS_EAGER": None,
    # Most events read per partition at once (and one batched processor call).
    "STREAM_BATCH_SIZE": 500,
    # Redis streams per event stream; the events of one key share one, and
    # each is consumed by one consumer of a group at a time. Changing it
    # moves keys between partitions: drain the streams first.
    "STREAM_PARTITIONS": 16,
    # Entries kept per partition (XADD MAXLEN ~): more than any group lags.
    "STREAM_RETENTION": 20_000,
    # Seconds a consumer's lease on a partition lasts without renewal: how
    # long the partitions of a killed consumer wait before another takes them.
    "STREAM_LEASE_TTL": 10.0,
    # Longest wait of one blocking read (seconds).
    "STREAM_BLOCK": 1.0,
    # Attempts per event before it becomes a dead letter.
    "STREAM_MAX_ATTEMPTS": 5,
    # Seconds before the 2nd attempt, doubling per attempt up to the max.
    "STREAM_RETRY_BACKOFF": 1.0,
    "STREAM_RETRY_BACKOFF_MAX": 300.0,
    # The sweep relays outbox rows older than this (newer ones are being
    # relayed right after their commit).
    "RELAY_SWEEP_MIN_AGE": 2.0,
    # Seconds between two sweeps of each service's outbox (Celery beat).
    "RELAY_SWEEP_INTERVAL": 5.0,
    # With a broker, publish on a background thread after commit, so that a
    # request never waits for the broker (False: publish in the commit hook).
    "RELAY_IN_BACKGROUND": True,
    # Relayed outbox rows and inbox entries are kept this long (seconds).
    "OUTBOX_RETENTION": 7 * 24 * 3600,
    "INBOX_RETENTION": 14 * 24 * 3600,
    # Observation (ucloud.observe): Prometheus metrics per call, event, lock;
    # OpenTelemetry spans per call and processor. Off: the hooks cost nothing.
    "METRICS": True,
    "TRACING": True,
    # Spans the admin keeps (in Redis when REDIS_URL or an events Redis is
    # set, else in this process) when no OTLP endpoint takes them.
    "TRACE_STORE_SIZE": 5000,
    # OpenTelemetry instrumentations of libraries to switch on (their spans
    # nest under the kit's call spans): any of "psycopg", "redis", "celery".
    "TRACE_INSTRUMENTATIONS": (),
    # Seconds between two snapshots of the call statistics (the admin's
    # "last 5 minutes"), and the window itself.
    "METRICS_SNAPSHOT_INTERVAL": 10.0,
    "METRICS_WINDOW": 300.0,
    # Port on which ``ucloud_worker`` serves its processes' metrics (0: not
    # served; under ``make up`` a unit's web processes serve them already,
    # from the unit's shared metrics folder).
    "WORKER_METRICS_PORT": 0,
    # Text search (ucloud.search): "elasticsearch", "postgresql" or
    # "database"; None picks Elasticsearch when ELASTICSEARCH_URL is set, else
    # PostgreSQL full text when the service's database is PostgreSQL, else a
    # plain filter (SQLite).
    "SEARCH_BACKEND": None,
    "ELASTICSEARCH_URL": None,
    # Send plain application/json instead of the elasticsearch 9 client's
    # compatibility media type (OpenSearch and other compatible servers).
    "ELASTICSEARCH_PLAIN_JSON": False,
    # Seconds before an Elasticsearch request gives up.
    "ELASTICSEARCH_TIMEOUT": 10.0,
    # Prepended to every index and alias name (one cluster, several projects).
    "SEARCH_INDEX_PREFIX": "",
    # A rebuild also re-indexes the objects of events produced this many
    # seconds before it started (transactions still open when it began).
    "SEARCH_REBUILD_MARGIN": 60.0,
    # Audit trail (ucloud.audit): records of audited and refused calls.
    "AUDIT": True,
    # Days an audit record is kept (pruned daily).
    "AUDIT_RETENTION": 180,
    # Where the audit service stores records: "database" or "elasticsearch";
    # None: Elasticsearch when ELASTICSEARCH_URL is set, else the database.
    "AUDIT_STORE": None,
    # Records are produced by a background thread in batches; False produces
    # each one in the audited request (tests).
    "AUDIT_IN_BACKGROUND": True,
    # Seconds between two flushes of the records buffered in a process.
    "AUDIT_FLUSH_INTERVAL": 0.5,
    # Records a process keeps while its database is unreachable; past it the
    # oldest are dropped (and counted in the log).
    "AUDIT_BUFFER_LIMIT": 10_000,
    # A request body larger than this (bytes of JSON) is recorded as its size.
    "AUDIT_MAX_REQUEST_BYTES": 16_384,
}


class UcloudSettings:
    """Attribute access to ``settings.UCLOUD`` merged over ``DEFAULTS``."""

    def __init__(self, defaults: dict[str, Any] | None = None) -> None:
        self.defaults = defaults or DEFAULTS
        self._cached: set[str] = set()
        self._user: dict[str, Any] | None = None

    @property
    def user_settings(self) -> dict[str, Any]:
        if self._user is None:
            user = getattr(settings, "UCLOUD", {}) or {}
            unknown = sorted(set(user) - set(self.defaults))
            if unknown:
                raise ImproperlyConfigured(
                    f"Unknown UCLOUD setting(s): {', '.join(unknown)}. "
                    f"Known: {', '.join(sorted(self.defaults))}."
                )
            self._user = dict(user)
        return self._user

    def __getattr__(self, name: str) -> Any:
        if name not in self.defaults:
            raise AttributeError(f"Invalid UCLOUD setting: {name!r}")
        value = self.user_settings.get(name, self.defaults[name])
        self._cached.add(name)
        setattr(self, name, value)
        return value

    def reload(self) -> None:
        for name in self._cached:
            delattr(self, name)
        self._cached.clear()
        self._user = None


ucloud_settings = UcloudSettings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting in ("UCLOUD", "SECRET_KEY"):
        # Caches derived from these settings (serving, transports, keys,
        # tokens, ...) subscribe to setting_changed themselves: this module
        # is the bottom layer and imports none of them.
        ucloud_settings.reload()


setting_changed.connect(_reload)
