"""Observation on or off per request, in one server process (benchmark only).

Two server processes of the same code differ in speed by as much as
observation costs over HTTP (hash seeds, memory layout, which core a worker
lands on), so ``bench.observability`` compares the two within one gunicorn:
each request's ``X-Bench-Observation`` header (``on`` or ``off``) installs
the observers the process started with, or none, as the benchmark's client
does on its own side. ``bench/settings.py`` adds this middleware first when
``BENCH_OBSERVATION_SWITCH`` is set (never in the project's own settings)::

    BENCH_OBSERVATION_SWITCH=1 DJANGO_SETTINGS_MODULE=bench.settings gunicorn config.wsgi
    curl -H 'X-Bench-Observation: off' .../api/files/retrieve?id=1
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from ucloud import observers

# The variable that adds the middleware (bench/settings.py), the header a
# request asks with, and that header as WSGI names it.
SWITCH_VARIABLE = "BENCH_OBSERVATION_SWITCH"
SWITCH_HEADER = "X-Bench-Observation"
_META_KEY = "HTTP_X_BENCH_OBSERVATION"


class ObservationSwitch:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        # What the settings installed when Django started (METRICS, TRACING).
        self.observing = (observers.calls, observers.events, observers.locks)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        calls, events, locks = self.observing
        if request.META.get(_META_KEY) == "off":
            observers.install()
        else:
            observers.install(calls=calls, events=events, locks=locks)
        return self.get_response(request)
