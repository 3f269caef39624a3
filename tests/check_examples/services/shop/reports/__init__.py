"""A sub-package: relative imports resolve from the package itself."""

from __future__ import annotations

from ...billing import invoices  # E003: tests.check_examples.services.billing.invoices


def report_invoices() -> str:
    return invoices.__name__
