"""What one call's observation costs with cold caches, and with warm ones.

Inside a request, the kit's observation code runs once between a
millisecond or more of other work (Django, DRF, the database driver, other
processes on the same cores), which has pushed its code and objects out of
the CPU's caches. Timed in a loop, the same code finds them all cached and
looks ten times cheaper than it is. Here each side of a ``files.retrieve``
is timed right after copying a buffer larger than the last-level cache,
and then once more at once (warm), a median over many rounds; with
observation's objects but nothing observed ("neither"), metrics alone,
tracing alone, and both:

* the caller: ``CallObservation.calling`` around ``inject`` (the client
  span and its ``traceparent``, the client's counter and histogram);
* the callee: ``ObservationMiddleware`` with a caller's ``traceparent``
  (parsed and made current, the ``Job-Id`` and ``Trace-Id`` of the answer)
  around ``CallObservation.serving`` (the server span, the server's counter
  and histogram).

Spans go to the store ``make bench`` would use (Redis with ``REDIS_URL``)
and metrics to multiprocess files, as under gunicorn::

    .venv/bin/python bench/observation_cold.py                 # µs per side
    .venv/bin/python bench/observation_cold.py --rounds 3000   # steadier
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from bench.environment import multiprocess_world  # noqa: E402
from bench.measure import collector_paused  # noqa: E402

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
# Larger than this kind of machine's last-level cache (32 MiB, shared).
EVICTION_BYTES = 64 * 1024 * 1024
VARIANTS = {
    "neither": (False, False),
    "metrics": (True, False),
    "tracing": (False, True),
    "both": (True, True),
}


def _sides(metrics: bool, tracing: bool) -> dict[str, Callable[[], object]]:
    from django.http import HttpResponse
    from django.test import RequestFactory

    from apps.files.api import FileDescriptions
    from ucloud import observers
    from ucloud.observe.calls import CallObservation
    from ucloud.observe.middleware import ObservationMiddleware

    observation = CallObservation(metrics=metrics, tracing=tracing)
    # The middleware asks the installed observer whether it traces.
    observers.install(calls=observation)
    call = FileDescriptions.retrieve

    def caller() -> object:
        headers: dict[str, str] = {}
        with observation.calling(call, "remote", None):
            observation.inject(headers)
        return headers

    # One request and one answer, made before timing and used again: the
    # middleware and the callee's side are timed, not Django building them.
    request = RequestFactory().get("/api/files/retrieve", HTTP_TRACEPARENT=TRACEPARENT)
    answer = HttpResponse()

    def serve(request: object) -> HttpResponse:
        with observation.serving(call, "remote", "job"):
            return answer

    middleware = ObservationMiddleware(serve)

    def callee() -> object:
        return middleware(request)

    return {"caller": caller, "callee": callee}


def _evict(buffer: bytearray, copy: bytearray) -> None:
    # Copying the buffer reads and writes every line of it, at memory speed.
    copy[:] = buffer


def measure(rounds: int) -> dict[str, dict[str, tuple[float, float]]]:
    """Per variant and side: (cold, warm) medians in microseconds."""
    buffer, copy = bytearray(EVICTION_BYTES), bytearray(EVICTION_BYTES)
    clock = time.perf_counter
    figures: dict[str, dict[str, tuple[float, float]]] = {}
    for variant, (metrics, tracing) in VARIANTS.items():
        sides = _sides(metrics, tracing)
        figures[variant] = {}
        for side, observe in sides.items():
            for _ in range(200):
                observe()
            cold, warm = [], []
            with collector_paused():
                for _ in range(rounds):
                    _evict(buffer, copy)
                    started = clock()
                    observe()
                    middle = clock()
                    observe()
                    cold.append(middle - started)
                    warm.append(clock() - middle)
            figures[variant][side] = (
                round(statistics.median(cold) * 1e6, 1),
                round(statistics.median(warm) * 1e6, 1),
            )
    return figures


def render(figures: dict[str, dict[str, tuple[float, float]]]) -> str:
    lines = [f"{'µs per side (median)':<22}{'cold':>10}{'warm':>10}"]
    for variant, sides in figures.items():
        for side, (cold, warm) in sides.items():
            lines.append(f"{variant + ', ' + side:<22}{cold:>10.1f}{warm:>10.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1000, help="timings per side and variant")
    args = parser.parse_args(argv)
    with multiprocess_world():
        print(render(measure(args.rounds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
