"""Call statistics from the Prometheus metrics: counts, error rates, percentiles.

``current_totals()`` reads this unit's cumulative values (every process's,
in multiprocess mode); subtracting an earlier snapshot gives a window
(``ucloud.observe.window``). Percentiles are estimated from the histogram
buckets the way Prometheus' ``histogram_quantile`` does (linear within a
bucket)::

    now = current_totals()
    rows = call_rows(now, base, 300.0)   # [{"side": "server", "call": "files.share", ...}]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

from ucloud.observe import metrics

# (side, caller, service, call, transport); caller is "" on the server side.
CallKey = tuple[str, str, str, str, str]


@dataclass
class CallTotals:
    """Cumulative figures of one call on one side."""

    statuses: dict[str, float] = field(default_factory=dict)
    # upper bound ("+Inf" included) -> cumulative count, as Prometheus keeps them
    buckets: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def count(self) -> float:
        return sum(self.statuses.values())

    def minus(self, earlier: CallTotals | None) -> CallTotals:
        if earlier is None:
            return self
        return CallTotals(
            statuses=_difference(self.statuses, earlier.statuses),
            buckets=_difference(self.buckets, earlier.buckets),
            seconds=max(self.seconds - earlier.seconds, 0.0),
        )

    def as_json(self) -> dict[str, Any]:
        return {"statuses": self.statuses, "buckets": self.buckets, "seconds": self.seconds}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CallTotals:
        return cls(dict(data["statuses"]), dict(data["buckets"]), float(data["seconds"]))


def _difference(now: Mapping[str, float], before: Mapping[str, float]) -> dict[str, float]:
    # A counter that went down belongs to a restarted process: count it anew.
    return {key: value - before.get(key, 0.0) if value >= before.get(key, 0.0) else value
            for key, value in now.items()}  # fmt: skip


def _families() -> Iterable[Metric]:
    directory = metrics.multiprocess_dir()
    if directory is None:
        return [family for metric in metrics.CALL_METRICS for family in metric.collect()]
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    return registry.collect()


def current_totals() -> dict[CallKey, CallTotals]:
    """Every observed call of this unit, by side, caller, service, call, transport."""
    totals: dict[CallKey, CallTotals] = {}
    for family in _families():
        side = _side(family.name)
        if side is None:
            continue
        for sample in family.samples:
            labels = sample.labels
            key: CallKey = (
                side,
                labels.get("caller", ""),
                labels.get("service", ""),
                labels.get("call", ""),
                labels.get("transport", ""),
            )
            found = totals.setdefault(key, CallTotals())
            if sample.name.endswith("_requests_total"):
                status = labels.get("status", "")
                found.statuses[status] = found.statuses.get(status, 0.0) + sample.value
            elif sample.name.endswith("_bucket"):
                bound = labels.get("le", "+Inf")
                found.buckets[bound] = found.buckets.get(bound, 0.0) + sample.value
            elif sample.name.endswith("_seconds_sum"):
                found.seconds += sample.value
    return totals


def _side(family: str) -> str | None:
    if family.startswith("ucloud_rpc_server_request"):
        return "server"
    if family.startswith("ucloud_rpc_client_request"):
        return "client"
    return None


def quantile(q: float, buckets: Mapping[str, float]) -> float | None:
    """The ``q`` quantile (seconds) of cumulative ``buckets``; None when empty."""
    bounds = sorted(
        ((math.inf if le == "+Inf" else float(le)), count) for le, count in buckets.items()
    )
    if not bounds or bounds[-1][1] <= 0:
        return None
    rank = q * bounds[-1][1]
    lower, below = 0.0, 0.0
    for upper, count in bounds:
        if count >= rank:
            if math.isinf(upper):
                return lower  # beyond the last finite bucket: its bound is all we know
            inside = count - below
            return lower + (upper - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = upper, count
    return lower


def figures(totals: CallTotals) -> dict[str, Any]:
    """Count, error rates and p50/p95/p99 (ms) of one call's totals."""
    count = totals.count
    by_status = [(int(status) if status.isdigit() else 0, value)
                 for status, value in totals.statuses.items()]  # fmt: skip
    errors = sum(value for status, value in by_status if status >= 500)
    refused = sum(value for status, value in by_status if 400 <= status < 500)

    def ms(q: float) -> float | None:
        found = quantile(q, totals.buckets)
        return None if found is None else round(found * 1000, 3)

    return {
        "count": int(count),
        "error_rate": round(errors / count, 4) if count else 0.0,
        "client_error_rate": round(refused / count, 4) if count else 0.0,
        "p50_ms": ms(0.5),
        "p95_ms": ms(0.95),
        "p99_ms": ms(0.99),
        "mean_ms": round(totals.seconds / count * 1000, 3) if count else None,
    }


def call_rows(
    now: Mapping[CallKey, CallTotals], base: Mapping[CallKey, CallTotals], window_s: float
) -> list[dict[str, Any]]:
    """One row per call and side: since start, and over the window."""
    rows = []
    for key in sorted(now):
        side, caller, service, call, transport = key
        recent = now[key].minus(base.get(key))
        rows.append(
            {
                "side": side,
                "caller": caller,
                "service": service,
                "call": call,
                "transport": transport,
                "since_start": figures(now[key]),
                "recent": figures(recent),
                "recent_per_s": round(recent.count / window_s, 3) if window_s > 0 else 0.0,
            }
        )
    return rows
