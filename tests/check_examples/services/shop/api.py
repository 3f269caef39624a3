"""The shop's contract: the only module other services may import."""

from __future__ import annotations

from rest_framework import serializers

from ucloud.contracts.bindings import http_update
from ucloud.contracts.calls import Empty, call
from ucloud.contracts.roles import Roles


def order_total(*, amount: int, quantity: int) -> int:
    return amount * quantity


class Address(serializers.Serializer):
    street = serializers.CharField()


class OrderFilter(serializers.Serializer):
    """A request the split check reports when bound to a query string."""

    status = serializers.CharField(required=False)
    ids = serializers.ListField(child=serializers.IntegerField(), required=False)  # SPLIT
    ship_to = Address(required=False)  # SPLIT


class ShopDescriptions:
    """The shop's calls (a plain class: importing it registers nothing)."""

    recount = call(request=Empty, response=Empty, http=http_update("recount"))
    refund = call(request=Empty, response=Empty, roles=Roles.PRIVILEGED, http=http_update("refund"))
