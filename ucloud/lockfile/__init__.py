"""Contracts that cannot break silently: the lockfile of every call and stream.

``describe`` turns the code's calls and streams into plain data, ``rules``
compares two such documents and says which differences break callers,
``store`` reads and writes ``contracts.lock``; ``manage.py ucloud_contracts``
ties them together (``make lint`` runs ``--check``)::

    lock = Lockfile.read(Path("contracts.lock"))
    for change in compare(lock.contracts, describe_contracts()):
        print(change)   # files.retrieve: response field `size`: removed [...]
"""

from __future__ import annotations

from ucloud.lockfile.describe import describe_contracts
from ucloud.lockfile.rules import RULES, Change, compare
from ucloud.lockfile.store import LOCKFILE_NAME, Lockfile, LockfileError

__all__ = [
    "LOCKFILE_NAME",
    "RULES",
    "Change",
    "Lockfile",
    "LockfileError",
    "compare",
    "describe_contracts",
]
