"""Billing logic; it imports the shop package itself, which is not its api."""

from __future__ import annotations

from typing import Any

from tests.check_examples.services import shop  # E003: the shop package, not shop.api
from tests.check_examples.services.billing.models import Invoice


def invoice_send(*, invoice: Invoice) -> Any:
    return shop.__name__, invoice.number


def invoice_for_order(*, number: int) -> Invoice:
    # A local import (the usual way around an import cycle) couples services too.
    from tests.check_examples.services.shop.models import Order  # E003

    return Invoice(number=Order(number=number, amount=0).number)
