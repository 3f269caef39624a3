"""What the audit trail costs an audited call: ``audit_overhead_ratio``.

Calls per second of ``files.create`` (audited) in process with the audit
trail on, divided by the same calls with it off (``UCLOUD["AUDIT"]``). The
two alternate call by call, in rounds: this machine's speed drifts by a
fifth within a second, and neighbouring calls see the same machine where
neighbouring blocks of calls did not. The trail's background flush is held
during a round; each round ends with the flush of every record it buffered
(the audit service storing them, eagerly, in this process), counted on the
audited side, so the audited calls carry all of the trail's work::

    measure(world)["audit_overhead_ratio"]
"""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Any

from bench.environment import World

# Each round: this many calls of each kind, alternating, then the flush. At
# about 10 ms a call a round lasts about as long as the trail's production
# flush interval (0.5 s), so a flush holds as many records as it would there.
CALLS_PER_ROUND = 50
ROUNDS = 42
# The background flush waits this long during the measurement.
HELD_FLUSH_INTERVAL = 3600.0


def measure(world: World) -> dict[str, Any]:
    from django.conf import settings
    from django.test import override_settings

    from apps.audit.models import AuditRecord
    from apps.files.api import FileDescriptions
    from apps.files.models import File
    from ucloud.audit.producer import buffer
    from ucloud.rpc.client import RPCClient
    from ucloud.settings import ucloud_settings

    client = RPCClient.for_token(world.token)
    run = uuid.uuid4().hex[:6]
    counter = iter(range(10**9))
    held = {**settings.UCLOUD, "AUDIT_IN_BACKGROUND": True}
    held["AUDIT_FLUSH_INTERVAL"] = HELD_FLUSH_INTERVAL
    variants = {audit: {**held, "AUDIT": audit} for audit in (True, False)}

    def timed_call(audit: bool) -> float:
        path = f"/audit-bench/{run}/{next(counter)}.txt"
        with override_settings(UCLOUD=variants[audit]):
            started = time.perf_counter()
            FileDescriptions.create.call({"path": path, "size": 1}, client)
            return time.perf_counter() - started

    def timed_flush() -> float:
        started = time.perf_counter()
        buffer.flush()
        return time.perf_counter() - started

    def one_round(first: bool) -> tuple[float, float]:
        spent = {True: 0.0, False: 0.0}
        for _ in range(CALLS_PER_ROUND):
            for audit in (first, not first):
                spent[audit] += timed_call(audit)
        spent[True] += timed_flush()
        return spent[True], spent[False]

    interval = float(ucloud_settings.AUDIT_FLUSH_INTERVAL)
    with override_settings(UCLOUD=held):
        # The flush thread may be in a wait begun under the usual interval:
        # flush, and let that wait end before timing.
        buffer.flush()
        time.sleep(interval + 0.1)
        one_round(True)  # warm both
        stored_before = AuditRecord.objects.count()
        rounds = [one_round(first=repeat % 2 == 0) for repeat in range(ROUNDS)]
        stored = AuditRecord.objects.count() - stored_before
    File.objects.filter(path__startswith=f"/audit-bench/{run}/").delete()
    if stored != CALLS_PER_ROUND * ROUNDS:
        raise RuntimeError(f"{stored} audit records stored for {CALLS_PER_ROUND * ROUNDS} calls")
    on_s = [on for on, _ in rounds]
    off_s = [off for _, off in rounds]
    return {
        "audit_overhead_ratio": round(statistics.median(off / on for on, off in rounds), 3),
        "audited_calls_per_s": round(CALLS_PER_ROUND / statistics.median(on_s)),
        "unaudited_calls_per_s": round(CALLS_PER_ROUND / statistics.median(off_s)),
        "records_stored": stored,
        "calls_per_round": CALLS_PER_ROUND,
        "rounds": ROUNDS,
        "call": "files.create, in process, events eager (the embedded mode)",
    }
