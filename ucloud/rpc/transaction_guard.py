"""A call to another service inside a transaction: a warning in one process.

In one process such a call joins the caller's transaction: its writes roll
back with the caller's, and it sees rows the caller has not committed.
When the callee runs apart it commits on its own. The pipeline makes a
``CallInProgress(call)`` before the call and runs the handler inside it;
making it warns with ``CrossServiceTransactionWarning`` when the callee's
database has a transaction open that code (not the test case) opened and
the call comes from another service or from outside any call. The test
settings make the warning an error::

    with transaction.atomic():
        FileDescriptions.retrieve.call({"id": 1}, client)   # warns

``manage.py ucloud_split_check`` finds the same mistake in the source
where the call is written inside the ``atomic`` block itself. This module
imports nothing of the kit's pipeline, so that pytest can resolve the
warning category early.
"""

from __future__ import annotations

import warnings
from contextvars import ContextVar, Token
from types import TracebackType
from typing import TYPE_CHECKING

from django.db import connections

from ucloud import registry
from ucloud.databases import alias_for

if TYPE_CHECKING:
    from ucloud.contracts.calls import CallDescription


class CrossServiceTransactionWarning(UserWarning):
    """A call to another service was made inside an open transaction."""


# The service whose handler is running in this thread (or task), if any.
_serving: ContextVar[str | None] = ContextVar("ucloud_serving", default=None)


def _service_of(call: CallDescription) -> str | None:
    try:
        return registry.service_of(call)
    except LookupError:
        return None  # a call declared outside the services (kit tests, scripts)


def _in_code_transaction(alias: str) -> bool:
    connection = connections[alias]
    if not connection.in_atomic_block:
        return False
    # Django's TestCase (and pytest-django) wrap each test in atomic blocks of
    # their own; only blocks the code opened count.
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


class CallInProgress:
    """Marks ``call``'s service as serving while its handler runs (``with``).
    Made before the call runs, it warns when the call joins a transaction
    another service (or no service) opened."""

    __slots__ = ("call", "service", "token")

    def __init__(self, call: CallDescription) -> None:
        self.call = call
        self.service = _service_of(call)
        self.token: Token[str | None] | None = None
        caller = _serving.get()
        if self.service is None or caller == self.service:
            return
        if _in_code_transaction(alias_for(self.service)):
            warnings.warn(
                f"{caller or 'Code outside any call'} calls {call.full_name} inside "
                f"transaction.atomic: in one process {self.service} joins that transaction "
                "(its writes roll back with it, it sees uncommitted rows); run apart, it "
                "commits on its own. Call it before the transaction or on commit.",
                CrossServiceTransactionWarning,
                stacklevel=3,
            )

    def __enter__(self) -> None:
        self.token = _serving.set(self.service)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.token is not None:
            _serving.reset(self.token)
