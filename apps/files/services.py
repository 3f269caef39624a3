"""Business logic of files. Users are resolved through the accounts ``api``.

Only the owner and the users a file is shared with can see it; anyone else
gets 404, so that existence does not leak. Only the owner changes a file.
One file is read with its shares in one query by primary key; its writers
(move, delete, share) check and act under the file's row lock, in one
transaction, so that concurrent calls end in 404 or 409, never in 500::

    file = file_create(owner="alice", path="/a.txt", size=3)
    page = file_browse(username="alice", items_per_page=50, next=None)
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError
from django.db.models import Q, QuerySet

from apps.accounts.api import AccountDescriptions
from apps.files.api import files_events
from apps.files.documents import FileDocument
from apps.files.models import File, Share
from ucloud.contracts.errors import BadRequest, Conflict, Forbidden, NotFound
from ucloud.contracts.pages import keyset_page
from ucloud.databases import atomic
from ucloud.rpc.client import RPCClient
from ucloud.search.searching import search
from ucloud.search.text import highlight, query_words


def file_data(file: File, shared_with: list[str]) -> dict[str, Any]:
    return {
        "id": file.id,
        "path": file.path,
        "size": file.size,
        "owner": file.owner,
        "shared_with": shared_with,
        "created_at": file.created_at,
    }


def _page_item(file: File) -> dict[str, Any]:
    """``file_data`` of a file fetched with ``prefetch_related("shares")``."""
    return file_data(file, sorted(share.username for share in file.shares.all()))


def _visible_to(username: str) -> QuerySet[File]:
    # A subquery rather than an OR across a join: no DISTINCT, and the
    # database can walk the primary key in order for a keyset page.
    shared = Share.objects.filter(username=username).values("file_id")
    return File.objects.filter(Q(owner=username) | Q(id__in=shared))


_COLUMNS = ("id", "path", "size", "owner", "created_at")


def _may_see(file: File, username: str) -> bool:
    """``_visible_to`` for one file whose shares are prefetched."""
    return file.owner == username or any(s.username == username for s in file.shares.all())


def _file_and_shares(id: int) -> tuple[File, list[str]] | None:
    """File ``id`` and the users it is shared with, in one query (a join)."""
    rows = File.objects.filter(id=id).order_by().values_list(*_COLUMNS, "shares__username")
    found = list(rows)
    if not found:
        return None
    file = File.from_db(rows.db, _COLUMNS, found[0][: len(_COLUMNS)])
    return file, sorted(row[-1] for row in found if row[-1] is not None)


def _not_found(id: int) -> NotFound:
    return NotFound(f"No file with id {id}", error_code="unknown_file")


def _not_owner() -> Forbidden:
    return Forbidden("Only the owner can change this file", error_code="not_owner")


def _get_visible(*, username: str, id: int) -> tuple[File, list[str]]:
    found = _file_and_shares(id)
    # Visibility is checked here rather than in SQL: one query by primary
    # key, and the same 404 whether the file is missing or not visible.
    if found is None or (found[0].owner != username and username not in found[1]):
        raise _not_found(id)
    return found


def _get_owned(*, username: str, id: int) -> tuple[File, list[str]]:
    file, shared_with = _get_visible(username=username, id=id)
    if file.owner != username:
        raise _not_owner()
    return file, shared_with


def _lock_owned(*, username: str, id: int) -> File:
    """File ``id`` of ``username``, its row locked until the transaction ends.

    The writers of one file (move, delete, share) take turns on this lock.
    It is taken by a query of its own, without the shares: under READ
    COMMITTED a statement that waited for a lock still sees other tables as
    they were when it started, so what the previous holder committed is
    read by the statements after it.
    """
    file = File.objects.select_for_update().filter(id=id).first()
    if file is not None and file.owner == username:
        return file
    # Only who can see the file learns that it is someone else's.
    if file is not None and Share.objects.filter(file=file, username=username).exists():
        raise _not_owner()
    raise _not_found(id)


def _shared_with(file: File) -> list[str]:
    return sorted(Share.objects.filter(file=file).values_list("username", flat=True))


def _event(kind: str, file: File, **extra: str | None) -> dict[str, Any]:
    return {"type": kind, "file_id": file.id, "owner": file.owner, "path": file.path, **extra}


def file_create(*, owner: str, path: str, size: int) -> dict[str, Any]:
    try:
        with atomic("files"):
            file = File.objects.create(owner=owner, path=path, size=size)
            files_events.produce(_event("file_created", file))
    except IntegrityError as exc:
        raise Conflict(f"A file already exists at {path}", error_code="path_exists") from exc
    return file_data(file, [])


def file_browse(*, username: str, items_per_page: int, next: str | None = None) -> dict[str, Any]:
    files = _visible_to(username).prefetch_related("shares")
    return keyset_page(files, items_per_page=items_per_page, next=next, render=_page_item)


def file_search(
    *, username: str, query: str, items_per_page: int, next: str | None = None
) -> dict[str, Any]:
    """A ranked page of the files ``username`` may see whose path has the
    words of ``query``. The index filters on readers; the page is then read
    from the database with the same visibility rule, so an index that lags
    behind (a file just deleted) never shows what the caller may not see."""
    offset = _offset(next)
    found = search(
        FileDocument, query, filters={"readers": username}, size=items_per_page, offset=offset
    )
    ids = [int(hit.id) for hit in found.hits]
    rows = File.objects.prefetch_related("shares").filter(id__in=ids)
    # _visible_to's rule, checked on the page's rows (cheaper than its join).
    files = {file.id: file for file in rows if _may_see(file, username)}
    words = query_words(query)
    items = [
        {
            "file": file_data(file, sorted(s.username for s in file.shares.all())),
            "score": hit.score,
            "highlight": highlight(file.path, words),
        }
        for hit in found.hits
        if (file := files.get(int(hit.id))) is not None
    ]
    return {"items": items, "next": str(offset + items_per_page) if found.more else None}


def _offset(token: str | None) -> int:
    # BrowseRequest admits digits only; a page token here is an offset.
    return int(token) if token else 0


def file_retrieve(*, username: str, id: int) -> dict[str, Any]:
    return file_data(*_get_visible(username=username, id=id))


def file_move(*, username: str, id: int, new_path: str) -> dict[str, Any]:
    try:
        with atomic("files"):
            file = _lock_owned(username=username, id=id)
            old_path, file.path = file.path, new_path
            file.save(update_fields=["path"])
            files_events.produce(_event("file_moved", file, old_path=old_path))
            shared_with = _shared_with(file)
    except IntegrityError as exc:
        raise Conflict(f"A file already exists at {new_path}", error_code="path_exists") from exc
    return file_data(file, shared_with)


def file_delete(*, username: str, id: int) -> None:
    with atomic("files"):
        file = _lock_owned(username=username, id=id)
        files_events.produce(_event("file_deleted", file))
        file.delete()


def file_share(*, username: str, id: int, target: str, accounts: RPCClient) -> dict[str, Any]:
    """Share with ``target``, who must exist in accounts (asked as this service).

    Checked twice: before asking accounts, so that a call bound to fail asks
    no one, and again under the file's row lock in the transaction that adds
    the share, since the file may have been deleted during the remote call
    (which holds no lock: a transaction must not span a call to another
    service). Sharing again with the same user changes nothing and asks no one.
    """
    file, shared_with = _get_owned(username=username, id=id)
    if target == username:
        raise BadRequest(
            "A file cannot be shared with its owner",
            error_code="invalid_request",
            errors={"username": ["This is the file's owner."]},
        )
    if target in shared_with:
        return file_data(file, shared_with)
    # Raises RPCException(404) for an unknown user, on either transport.
    AccountDescriptions.retrieve_user.call({"username": target}, accounts)
    with atomic("files"):
        file = _lock_owned(username=username, id=id)
        shared_with = _shared_with(file)
        if target not in shared_with:
            Share.objects.create(file=file, username=target)
            files_events.produce(_event("file_shared", file, shared_with=target))
            shared_with = sorted([*shared_with, target])
    return file_data(file, shared_with)
