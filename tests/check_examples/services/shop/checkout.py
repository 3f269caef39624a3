"""Shop code calling billing inside its transactions (split check:
``atomic-call``). Each line marked SPLIT breaks when shop and billing run in
different units; the module is only parsed, never run."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from tests.check_examples.services.billing import api as billing_api
from tests.check_examples.services.billing.api import BillingDescriptions
from tests.check_examples.services.shop.api import ShopDescriptions
from ucloud.databases import atomic
from ucloud.rpc.client import RPCClient


def checkout_charge(*, order: Any, client: RPCClient) -> None:
    with atomic("shop"):
        order.save()
        BillingDescriptions.charge.call({"order": order.number}, client)  # SPLIT
    BillingDescriptions.receipt.call({}, client)  # fine: after the commit


@transaction.atomic
def checkout_refund(*, order: Any, client: RPCClient) -> None:
    billing_api.BillingDescriptions.charge.call({"order": -order.number}, client)  # SPLIT


def checkout_later(*, client: RPCClient) -> None:
    with transaction.atomic(using="shop"):

        def receipt() -> None:
            BillingDescriptions.receipt.call({}, client)  # fine: runs on commit

        transaction.on_commit(receipt)
        ShopDescriptions.recount.call({}, client)  # fine: the shop's own call
