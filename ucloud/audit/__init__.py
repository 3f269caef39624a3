"""The audit trail: records of audited and refused calls, produced as events.

``records`` builds them (``redaction`` masks secrets), ``producer`` sends
them from a background thread onto the kit's ``ucloud.audit`` stream
(``stream``), ``middleware`` covers refusals outside the call pipeline; the
``audit`` service (``apps/audit``) stores and serves them::

    from ucloud import audit
    audit.record_call(call, principal, status=403, duration_ms=0.4, job_id=..., ...)
"""

from __future__ import annotations

import sys

from ucloud import observers
from ucloud.audit.records import REFUSALS, is_audited, record, record_call
from ucloud.audit.redaction import redact

__all__ = ["REFUSALS", "install", "is_audited", "record", "record_call", "redact"]


def install() -> None:
    """Make the call pipeline record to this trail (the kit's ready() does)."""
    # The module itself has the two functions the pipeline's hook asks for.
    observers.install_audit(sys.modules["ucloud.audit.records"])
