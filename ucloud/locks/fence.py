"""Fencing in the writer's own database, in the transaction of the guarded write.

Each lock name has a fence row holding the highest fencing token that wrote;
a write moves it up (``UPDATE ... WHERE fence <= token``) in the same
transaction as the write itself. A holder that lost its lock during a pause
then finds a newer token there and is refused; if the newer holder's write
is still in flight, the fence row's lock makes the old one wait and fail
after it::

    with atomic("billing"):
        check_fencing_token("billing.invoice-run", lock.fencing_token, using="billing")
        Invoice.objects.using("billing").create(...)

It works whatever the lock backend (the token is all it needs) and in every
service database: the table is one of the kit's, migrated into each.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction

from ucloud.locks.base import LockError, StaleFencingToken

FENCE_TABLE = "ucloud_lock_fences"

_ADVANCE = f"UPDATE {FENCE_TABLE} SET fence = %s WHERE name = %s AND fence <= %s"
_CREATE = f"INSERT INTO {FENCE_TABLE} (name, fence) VALUES (%s, %s)"


def _advance(using: str, name: str, token: int) -> bool:
    with connections[using].cursor() as cursor:
        cursor.execute(_ADVANCE, [token, name, token])
        return bool(cursor.rowcount)


def check_fencing_token(name: str, token: int, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Accept ``token`` for a write guarded by lock ``name`` in database ``using``.

    Raises ``StaleFencingToken`` when a newer token already wrote there, and
    ``LockError`` outside a transaction: the check holds only until the
    transaction that contains it (and the guarded write) commits.
    """
    if not connections[using].in_atomic_block:
        raise LockError(
            f"check_fencing_token({name!r}) must run inside the transaction of the "
            f"guarded write: with transaction.atomic(using={using!r})"
        )
    if _advance(using, name, token):
        return
    try:
        # A savepoint: a concurrent first writer must not break our transaction.
        with transaction.atomic(using=using), connections[using].cursor() as cursor:
            cursor.execute(_CREATE, [name, token])
        return
    except IntegrityError:
        pass  # the row exists: a newer token wrote, or one just created it
    if not _advance(using, name, token):
        raise StaleFencingToken(name, token)
