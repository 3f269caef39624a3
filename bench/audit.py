"""What the audit trail costs an audited call: ``audit_overhead_ratio``.

Calls per second of ``files.create`` (audited) in process with the audit
trail on, divided by the same calls with it off (``UCLOUD["AUDIT"]``), in
interleaved blocks. A block with audit on includes, inside its time, the
flush of every record it buffered and the storing of those records by the
audit service's processor (eagerly, in this process), so nothing of the
trail's work spills into the block after it::

    measure(world)["audit_overhead_ratio"]
"""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Any

from bench.environment import World

CALLS_PER_BLOCK = 100
BLOCKS = 21


def measure(world: World) -> dict[str, Any]:
    from django.conf import settings
    from django.test import override_settings

    from apps.audit.models import AuditRecord
    from apps.files.api import FileDescriptions
    from apps.files.models import File
    from ucloud.audit.producer import buffer
    from ucloud.rpc.client import RPCClient

    client = RPCClient.for_token(world.token)
    run = uuid.uuid4().hex[:6]
    counter = iter(range(10**9))
    # Background production, as deployments do; flushed inside the block.
    on = {**settings.UCLOUD, "AUDIT": True, "AUDIT_IN_BACKGROUND": True}
    off = {**settings.UCLOUD, "AUDIT": False}

    def block(audit: bool) -> float:
        with override_settings(UCLOUD=on if audit else off):
            started = time.perf_counter()
            for _ in range(CALLS_PER_BLOCK):
                path = f"/audit-bench/{run}/{next(counter)}.txt"
                FileDescriptions.create.call({"path": path, "size": 1}, client)
            if audit:
                buffer.flush()
            return time.perf_counter() - started

    block(True)
    block(False)  # warm both
    stored_before = AuditRecord.objects.count()
    on_s: list[float] = []
    off_s: list[float] = []
    for repeat in range(BLOCKS):
        for audit in (True, False) if repeat % 2 == 0 else (False, True):
            (on_s if audit else off_s).append(block(audit))
    stored = AuditRecord.objects.count() - stored_before
    File.objects.filter(path__startswith=f"/audit-bench/{run}/").delete()
    ratios = [off / on_ for on_, off in zip(on_s, off_s, strict=True)]
    return {
        "audit_overhead_ratio": round(statistics.median(ratios), 3),
        "audited_calls_per_s": round(CALLS_PER_BLOCK / statistics.median(on_s)),
        "unaudited_calls_per_s": round(CALLS_PER_BLOCK / statistics.median(off_s)),
        "records_stored": stored,
        "calls_per_block": CALLS_PER_BLOCK,
        "blocks": BLOCKS,
        "call": "files.create, in process, events eager (the embedded mode)",
    }
