"""Shop logic that reaches into billing; each import marked E003 breaks the rule."""

from __future__ import annotations

import json

# The standard library, the kit, own modules and billing's api are allowed;
# every other module of billing is not.
import tests.check_examples.services.billing.api
import tests.check_examples.services.billing.models  # E003: billing's models
from tests.check_examples.services.billing import invoices  # E003: billing's services
from tests.check_examples.services.billing.api import invoice_number
from tests.check_examples.services.billing.models import Invoice  # E003
from ucloud.contracts.roles import Role

from ..billing import api as billing_api  # allowed: relative import of billing's api
from ..billing.models import Payment  # E003: relative, resolved to billing.models
from . import models


def order_checkout(*, order: models.Order) -> str:
    invoice = Invoice(number=order.number)
    tests.check_examples.services.billing.models.Payment(amount=order.amount)
    invoices.invoice_send(invoice=invoice)
    payment = Payment(amount=order.amount)
    number = invoice_number(number=order.number) + billing_api.invoice_number(number=1)
    assert tests.check_examples.services.billing.api.invoice_number(number=2)
    return json.dumps({"number": number, "paid": payment.amount, "role": Role.USER})
