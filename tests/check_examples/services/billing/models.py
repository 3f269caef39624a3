"""State of billing (plain classes: these examples are never installed)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Invoice:
    number: int


@dataclass
class Payment:
    amount: int
