"""Observation points: where the kit's machinery tells observers what happens.

The RPC pipeline and client, the event machinery and the locks call these
hooks; ``ucloud.observe`` installs the observers that turn them into
Prometheus metrics and OpenTelemetry spans. The hooks sit below every
subsystem (they import none), so that the RPC core, the events and the
locks never import ``ucloud.observe``. Without an observer a hook costs one
module attribute lookup::

    observers.install(calls=my_calls, events=my_events, locks=my_locks)
    observer = observers.calls
    if observer is not None:
        with observer.serving(call, "local", job_id):
            ...

``transport`` is ``"local"`` for an in-process call and ``"remote"`` for
one over HTTP (Service Weaver's labels).
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ucloud.auth.principal import Principal
    from ucloud.contracts.calls import CallDescription
    from ucloud.events.streams import Event


class CallObserver(Protocol):
    """Both sides of every call, on both transports.

    The context managers see the call's exception, if any, on exit (an
    ``RPCException`` with its ``status``).
    """

    def serving(
        self, call: CallDescription, transport: str, job_id: str
    ) -> AbstractContextManager[object]:
        """Around the pipeline run of ``call`` on the callee's side."""

    def calling(
        self, call: CallDescription, transport: str, caller: str | None
    ) -> AbstractContextManager[object]:
        """Around the client's call; ``caller`` is the calling service, if any."""

    def inject(self, headers: MutableMapping[str, str]) -> None:
        """Add what the callee needs to continue the trace to an HTTP request."""

    def refused(self, call: CallDescription, transport: str, status: int) -> None:
        """A call answered before its pipeline ran (a token or a query string
        refused on the way in)."""


class EventObserver(Protocol):
    """Events produced, processed, retried and dead-lettered."""

    def trace_context(self) -> str:
        """The current trace context, stored with a produced event ("" for none)."""

    def produced(self, stream: str, count: int) -> None: ...

    def processing(
        self, group: str, stream: str, events: Sequence[Event]
    ) -> AbstractContextManager[object]:
        """Around one processor run (its transaction) on ``events``; an
        exception on exit means the run failed."""

    def retried(self, group: str, stream: str) -> None:
        """A failed attempt that will be tried again."""

    def dead_lettered(self, group: str, stream: str) -> None: ...


class LockObserver(Protocol):
    """Acquisitions (with the time waited) and losses of distributed locks."""

    def acquisition(self, name: str, backend: str, outcome: str, waited: float) -> None:
        """``outcome``: ``acquired``, ``busy`` (not blocking) or ``timeout``."""

    def lost(self, name: str, backend: str) -> None:
        """A holder found its lock gone when renewing or releasing it."""


class AuditTrail(Protocol):
    """Where the pipeline reports audited and refused calls (``ucloud.audit``)."""

    def is_audited(self, call: CallDescription, status: int) -> bool: ...

    def record_call(
        self,
        call: CallDescription,
        principal: Principal,
        *,
        status: int,
        duration_ms: float,
        job_id: str,
        caused_by: str | None,
        request: Any,
        client_address: str | None = None,
        user_agent: str | None = None,
    ) -> None: ...


calls: CallObserver | None = None
events: EventObserver | None = None
locks: LockObserver | None = None
# Installed by ucloud.audit (in the kit's ready()); the pipeline records
# through it, so that the RPC core does not import the audit machinery.
audit: AuditTrail | None = None


def install(
    *,
    calls: CallObserver | None = None,
    events: EventObserver | None = None,
    locks: LockObserver | None = None,
) -> None:
    """Replace the observers (None switches one off)."""
    globals().update(calls=calls, events=events, locks=locks)


def install_audit(trail: AuditTrail | None) -> None:
    """Set the audit trail the pipeline records to (None: no trail)."""
    globals().update(audit=trail)
