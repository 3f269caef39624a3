"""The contracts lockfile as a deployment check (E011, W011).

``manage.py check --deploy`` fails while the code breaks a contract that
``contracts.lock`` records and nobody accepted, the same verdict as
``manage.py ucloud_contracts --check``; it is a deployment check so that
editing an ``api.py`` never stops ``runserver``::

    python manage.py check --deploy --tag ucloud
    check_contracts_lock(lockfile=Path("contracts.lock"))   # [Error(... ucloud.E011)]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from ucloud.checks.base import TAG
from ucloud.lockfile import LOCKFILE_NAME, Lockfile, LockfileError, compare, describe_contracts


def _default_lockfile() -> Path:
    return Path(getattr(settings, "BASE_DIR", Path.cwd())) / LOCKFILE_NAME


@register(TAG, deploy=True)
def check_contracts_lock(
    app_configs: Sequence[AppConfig] | None = None,
    *,
    lockfile: Path | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """E011: a breaking change not accepted; W011: no readable lockfile."""
    path = _default_lockfile() if lockfile is None else lockfile
    try:
        lock = Lockfile.read(path)
    except LockfileError as exc:
        return [
            Warning(
                f"{exc}; breaking changes to the contracts cannot be detected.",
                hint="Write it with manage.py ucloud_contracts --write and commit it.",
                id="ucloud.W011",
            )
        ]
    return [
        Error(
            f"{change}",
            hint=(
                f"Revert the change, or accept it: manage.py ucloud_contracts --accept "
                f"{change.subject} --reason '...'"
            ),
            id="ucloud.E011",
        )
        for change in compare(lock.contracts, describe_contracts())
        if change.breaking
    ]
