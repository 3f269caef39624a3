"""A shop processor (split check: ``idle-processor`` when the shop's unit has
no worker). A plain function: the tests hand it to the check."""

from __future__ import annotations

from typing import Any


def count_orders(event: Any) -> None:  # SPLIT when the shop's unit has workers = 0
    """Would count an order event."""
