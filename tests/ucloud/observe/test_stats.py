"""Call statistics: percentiles from histogram buckets, error rates, and the
recent window from snapshots of the totals."""

from __future__ import annotations

import pytest

from ucloud.observe import window
from ucloud.observe.stats import CallTotals, call_rows, figures, quantile

KEY = ("server", "", "files", "files.share", "local")


def totals(statuses: dict[str, float], buckets: dict[str, float], seconds: float) -> CallTotals:
    return CallTotals(statuses=statuses, buckets=buckets, seconds=seconds)


def test_quantiles_interpolate_within_the_bucket_like_prometheus():
    buckets = {"0.001": 50.0, "0.01": 90.0, "0.1": 100.0, "+Inf": 100.0}

    assert quantile(0.5, buckets) == pytest.approx(0.001)
    assert quantile(0.7, buckets) == pytest.approx(0.001 + 0.009 * 0.5)
    assert quantile(0.95, buckets) == pytest.approx(0.01 + 0.09 * 0.5)
    assert quantile(0.5, {"+Inf": 0.0}) is None


def test_a_quantile_past_the_last_finite_bucket_is_that_bound():
    assert quantile(0.99, {"0.1": 1.0, "+Inf": 10.0}) == 0.1


def test_errors_are_5xx_and_refusals_4xx():
    found = figures(totals({"200": 7.0, "404": 2.0, "502": 1.0}, {"+Inf": 10.0}, 0.5))

    assert (found["count"], found["error_rate"], found["client_error_rate"]) == (10, 0.1, 0.2)
    assert found["mean_ms"] == 50.0


def test_the_recent_window_subtracts_the_snapshot_of_a_window_ago():
    now = {KEY: totals({"200": 10.0}, {"0.01": 10.0, "+Inf": 10.0}, 0.05)}
    base = {KEY: totals({"200": 4.0}, {"0.01": 4.0, "+Inf": 4.0}, 0.02)}

    (row,) = call_rows(now, base, 300.0)

    assert (row["since_start"]["count"], row["recent"]["count"]) == (10, 6)
    assert row["recent_per_s"] == 0.02
    assert row["recent"]["mean_ms"] == 5.0


def test_a_restarted_process_counts_anew_instead_of_going_negative():
    recent = totals({"200": 3.0}, {"+Inf": 3.0}, 0.1).minus(totals({"200": 8.0}, {"+Inf": 8.0}, 1))

    assert recent.count == 3.0


def test_the_base_is_the_newest_snapshot_at_least_a_window_old(fresh_window, settings):
    settings.UCLOUD = {**settings.UCLOUD, "METRICS_WINDOW": 300.0, "METRICS_SNAPSHOT_INTERVAL": 10}
    snapshots = window.Snapshots()
    snapshots.started = 0.0
    for at in (1000.0, 1100.0, 1200.0, 1300.0):
        assert snapshots.take(now=at)
    assert not snapshots.take(now=1305.0)  # younger than the interval

    _, seconds = snapshots.base(now=1450.0)

    assert seconds == 350.0  # the snapshot at 1100
    assert snapshots.base(now=1450.0)[0] is not None


def test_a_unit_younger_than_the_window_counts_everything_as_recent(fresh_window, settings):
    settings.UCLOUD = {**settings.UCLOUD, "METRICS_WINDOW": 300.0}
    snapshots = window.Snapshots()
    snapshots.started = 1000.0
    snapshots.take(now=1010.0)

    base, seconds = snapshots.base(now=1100.0)

    assert base == {}
    assert seconds == 100.0


def test_snapshots_live_in_the_unit_folder_in_multiprocess_mode(tmp_path, monkeypatch, settings):
    settings.UCLOUD = {**settings.UCLOUD, "METRICS_WINDOW": 300.0}
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setattr(window, "current_totals", lambda: {KEY: totals({"200": 2.0}, {}, 0.1)})
    first = window.Snapshots()
    first.take(now=1000.0)

    # Another process of the unit reads what the first one wrote.
    base, seconds = window.Snapshots().base(now=1400.0)

    assert (tmp_path / window.FILE_NAME).exists()
    assert base[KEY].count == 2.0
    assert seconds == 400.0
