"""Timing helpers: interleaved repeats of several variants, and their summary.

Variants of one measurement take turns (kit, baseline, baseline, kit, ...)
so that drift on a shared machine hits them alike::

    samples = interleave({"kit": kit, "plain": plain}, repeats=15, sample_seconds=0.15)
    paired_ratio(samples["kit"], samples["plain"])   # kit time / plain time
"""

from __future__ import annotations

import contextlib
import gc
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

Call = Callable[[], Any]


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """As timeit does: no collector pauses inside a sample, a clean heap before."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def seconds_per_call(fn: Call, iterations: int) -> float:
    with collector_paused():
        started = time.perf_counter()
        for _ in range(iterations):
            fn()
        elapsed = time.perf_counter() - started
    return elapsed / iterations


def iterations_for(fn: Call, sample_seconds: float) -> int:
    """How many calls of ``fn`` take about ``sample_seconds``."""
    estimate = min(seconds_per_call(fn, 20) for _ in range(3))
    return max(20, int(sample_seconds / estimate))


def interleave(
    variants: dict[str, Call],
    *,
    repeats: int,
    sample_seconds: float,
    warmup: int = 50,
    each_call: bool = False,
) -> dict[str, list[float]]:
    """``repeats`` samples of seconds per call for each variant, taken in turns:
    a sample of each in turn, or with ``each_call`` the variants' calls
    alternating one by one within a sample of each."""
    for fn in variants.values():
        for _ in range(warmup):
            fn()
    # The same iteration count for every variant: that of the slowest.
    iterations = min(iterations_for(fn, sample_seconds) for fn in variants.values())
    samples: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for repeat in range(repeats):
        # Alternate who goes first, so that neither always runs on a warm cache.
        order = names if repeat % 2 == 0 else names[::-1]
        if each_call:
            spent = alternating_seconds({name: variants[name] for name in order}, iterations)
            for name in names:
                samples[name].append(spent[name])
            continue
        for name in order:
            samples[name].append(seconds_per_call(variants[name], iterations))
    return samples


def alternating_seconds(variants: dict[str, Call], iterations: int) -> dict[str, float]:
    """Seconds per call of each variant, their calls alternating one by one.

    For calls of milliseconds (over HTTP) on a machine whose speed drifts
    within a second: neighbouring calls see the same machine, where
    neighbouring samples of a few hundred milliseconds may not. (For calls
    of microseconds, alternating mixes the variants' caches: samples.)
    """
    spent = dict.fromkeys(variants, 0.0)
    clock = time.perf_counter
    with collector_paused():
        for _ in range(iterations):
            for name, fn in variants.items():
                started = clock()
                fn()
                spent[name] += clock() - started
    return {name: seconds / iterations for name, seconds in spent.items()}


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def paired_ratio(numerators: list[float], denominators: list[float]) -> float:
    """Median of the ratios of samples taken side by side.

    Load from other processes comes in bursts; a burst slows both samples of
    a pair alike, so the ratio of a pair is steadier than either sample.
    """
    return round(median([n / d for n, d in zip(numerators, denominators, strict=True)]), 3)


def summary(values: list[float], *, unit: str, scale: float) -> dict[str, Any]:
    """Median, best and all samples of ``values`` scaled into ``unit``."""
    return {
        "unit": unit,
        "median": round(median(values) * scale, 3),
        "best": round(min(values) * scale, 3),
        "samples": [round(value * scale, 3) for value in values],
    }
