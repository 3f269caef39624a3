"""Two fake services, ``shop`` and ``billing``, for the import rule (ucloud.E003).

Only parsed by the check, never installed. Every import the check must
report is marked ``# E003`` in the source::

    check_service_imports(sources=example_sources())
"""

from __future__ import annotations

from pathlib import Path

from ucloud.checks import ServiceSource

HERE = Path(__file__).resolve().parent


def example_sources() -> list[ServiceSource]:
    """The two fake services as the import check sees them."""
    return [
        ServiceSource(label=name, package=f"{__name__}.{name}", path=HERE / name)
        for name in ("shop", "billing")
    ]
