"""Billing's contract."""

from __future__ import annotations


def invoice_number(*, number: int) -> str:
    return f"INV-{number:06d}"
