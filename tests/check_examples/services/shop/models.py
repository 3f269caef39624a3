"""State of the shop (plain classes: these examples are never installed)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Order:
    number: int
    amount: int
