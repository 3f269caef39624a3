"""Business logic of files. Users are resolved through the accounts ``api``.

Only the owner and the users a file is shared with can see it; anyone else
gets 404, so that existence does not leak. Only the owner changes a file::

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
from ucloud.client import RPCClient
from ucloud.databases import atomic
from ucloud.exceptions import BadRequest, Conflict, Forbidden, NotFound
from ucloud.pages import keyset_page
from ucloud.search.searching import search
from ucloud.search.text import highlight, query_words


def file_data(file: File) -> dict[str, Any]:
    return {
        "id": file.id,
        "path": file.path,
        "size": file.size,
        "owner": file.owner,
        "shared_with": sorted(share.username for share in file.shares.all()),
        "created_at": file.created_at,
    }


def _visible_to(username: str) -> QuerySet[File]:
    return File.objects.filter(Q(owner=username) | Q(shares__username=username)).distinct()


def _may_see(file: File, username: str) -> bool:
    """``_visible_to`` for one file whose shares are prefetched."""
    return file.owner == username or any(s.username == username for s in file.shares.all())


def _get_visible(*, username: str, id: int) -> File:
    file = _visible_to(username).prefetch_related("shares").filter(id=id).first()
    if file is None:
        raise NotFound(f"No file with id {id}", error_code="unknown_file")
    return file


def _get_owned(*, username: str, id: int, for_update: bool = False) -> File:
    file = _get_visible(username=username, id=id)
    if file.owner != username:
        raise Forbidden("Only the owner can change this file", error_code="not_owner")
    if for_update:
        return File.objects.select_for_update().get(id=file.id)
    return file


def _event(kind: str, file: File, **extra: str | None) -> dict[str, Any]:
    return {"type": kind, "file_id": file.id, "owner": file.owner, "path": file.path, **extra}


def file_create(*, owner: str, path: str, size: int) -> dict[str, Any]:
    try:
        with atomic("files"):
            file = File.objects.create(owner=owner, path=path, size=size)
            files_events.produce(_event("file_created", file))
    except IntegrityError as exc:
        raise Conflict(f"A file already exists at {path}", error_code="path_exists") from exc
    return file_data(file)


def file_browse(*, username: str, items_per_page: int, next: str | None = None) -> dict[str, Any]:
    files = _visible_to(username).prefetch_related("shares")
    return keyset_page(files, items_per_page=items_per_page, next=next, render=file_data)


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
        {"file": file_data(file), "score": hit.score, "highlight": highlight(file.path, words)}
        for hit in found.hits
        if (file := files.get(int(hit.id))) is not None
    ]
    return {"items": items, "next": str(offset + items_per_page) if found.more else None}


def _offset(token: str | None) -> int:
    # BrowseRequest admits digits only; a page token here is an offset.
    return int(token) if token else 0


def file_retrieve(*, username: str, id: int) -> dict[str, Any]:
    return file_data(_get_visible(username=username, id=id))


def file_move(*, username: str, id: int, new_path: str) -> dict[str, Any]:
    try:
        with atomic("files"):
            file = _get_owned(username=username, id=id, for_update=True)
            old_path, file.path = file.path, new_path
            file.save(update_fields=["path"])
            files_events.produce(_event("file_moved", file, old_path=old_path))
    except IntegrityError as exc:
        raise Conflict(f"A file already exists at {new_path}", error_code="path_exists") from exc
    return file_data(file)


def file_delete(*, username: str, id: int) -> None:
    with atomic("files"):
        file = _get_owned(username=username, id=id, for_update=True)
        files_events.produce(_event("file_deleted", file))
        file.delete()


def file_share(*, username: str, id: int, target: str, accounts: RPCClient) -> dict[str, Any]:
    """Share with ``target``, who must exist in accounts (asked as this service)."""
    file = _get_owned(username=username, id=id)
    if target == username:
        raise BadRequest(
            "A file cannot be shared with its owner",
            error_code="invalid_request",
            errors={"username": ["This is the file's owner."]},
        )
    # Raises RPCException(404) for an unknown user, on either transport.
    AccountDescriptions.retrieve_user.call({"username": target}, accounts)
    with atomic("files"):
        _, created = Share.objects.get_or_create(file=file, username=target)
        if created:
            files_events.produce(_event("file_shared", file, shared_with=target))
    return file_retrieve(username=username, id=id)
