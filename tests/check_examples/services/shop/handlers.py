"""A shop handler that other services may call (``shop.refund``, open to
SERVICE principals) and passes its caller's principal on (split check:
``forwarded-principal``). Imported by the split check's tests, never
registered as a controller."""

from __future__ import annotations

from typing import Any

from tests.check_examples.services.billing.api import BillingDescriptions
from ucloud.rpc.context import CallContext


def refund(ctx: CallContext) -> dict[str, Any]:
    BillingDescriptions.refund.call({"order": 1}, ctx.client)  # SPLIT: error
    _ledger_entry(client=ctx.client)  # SPLIT: a warning, it may go onward
    BillingDescriptions.receipt.call({}, ctx.service_client)  # fine: as the shop itself
    return {}


def _ledger_entry(*, client: Any) -> None:
    """Where the client goes next is beyond the check."""
