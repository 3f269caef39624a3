"""The shop's contract: the only module other services may import."""

from __future__ import annotations


def order_total(*, amount: int, quantity: int) -> int:
    return amount * quantity
