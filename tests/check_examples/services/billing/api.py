"""Billing's contract."""

from __future__ import annotations

from rest_framework import serializers

from ucloud.contracts.bindings import http_create, http_update
from ucloud.contracts.calls import Empty, call
from ucloud.contracts.roles import Roles


def invoice_number(*, number: int) -> str:
    return f"INV-{number:06d}"


class Charge(serializers.Serializer):
    order = serializers.IntegerField()


class BillingDescriptions:
    """Billing's calls, for the split check's examples to call. A plain class,
    not a container: importing it registers nothing with the kit."""

    charge = call(request=Charge, response=Empty, http=http_create("charges"))
    refund = call(
        request=Charge, response=Empty, roles=Roles.PRIVILEGED, http=http_update("refund")
    )
    receipt = call(request=Empty, response=Empty, http=http_update("receipt"))
