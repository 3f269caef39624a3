"""Inspecting the living system: metrics, traces, and what the admin shows.

- ``metrics``, ``calls``, ``events``: Prometheus metrics and OpenTelemetry
  spans of every call (both sides, both transports), event and lock, fed by
  the hooks of ``ucloud.observers``; ``install`` switches them on.
- ``tracing``, ``spanstore``, ``traces``: where spans go (an OTLP collector,
  or the recent spans the admin shows as waterfalls).
- ``stats``, ``window``, ``exposition``: call statistics for the admin and
  ``/metrics`` for Prometheus.
- ``catalog``, ``diagram``, ``live``: the services, the architecture picture
  and the live state, generated from the registry and the topology.
- ``api``, ``units``: the kit's own calls (namespace ``ucloud``) through which
  the admin asks every unit for its figures and state.
"""
