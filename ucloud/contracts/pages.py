"""Pages for browse calls: ``{items, next}`` responses and their requests.

``next`` is an opaque token; pass it back to get the following page.
``keyset_page`` builds such a page from a queryset, by id::

    browse = call(request=BrowseRequest, response=page_of(File), ...)
    return keyset_page(files, items_per_page=50, next=None, render=file_data)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.validators import RegexValidator
from django.db.models import Model, QuerySet
from rest_framework import serializers

from ucloud.contracts.errors import BadRequest

M = TypeVar("M", bound=Model)

MAX_ITEMS_PER_PAGE = 250


# Tokens are the last id seen, as digits; the pattern is in the contract (and
# the OpenAPI document) so that a malformed token is a field error.
TOKEN_PATTERN = r"^[0-9]{1,19}\Z"


class BrowseRequest(serializers.Serializer):
    items_per_page = serializers.IntegerField(min_value=1, max_value=MAX_ITEMS_PER_PAGE, default=50)
    next = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=False,
        validators=[RegexValidator(TOKEN_PATTERN, message="Not a valid page token.")],
    )


_pages: dict[type[serializers.Serializer], type[serializers.Serializer]] = {}


def page_of(item: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """A serializer class for a page of ``item``; one class per item type."""
    if item not in _pages:
        name = "PageOf" + item.__name__
        attrs: dict[str, Any] = {
            "items": item(many=True),
            "next": serializers.CharField(allow_null=True),
            "__module__": item.__module__,
        }
        _pages[item] = type(name, (serializers.Serializer,), attrs)
    return _pages[item]


def _after_id(token: str) -> int:
    try:
        value = int(token)
    except ValueError:
        value = -1
    if value < 0:
        raise BadRequest(
            "Invalid page token",
            error_code="invalid_request",
            errors={"next": ["Not a valid page token."]},
        )
    # Django answers a value past the id column's range (e.g. 19 nines) without
    # sending it to the database: nothing follows it (all precede it).
    return value


def keyset_page(
    queryset: QuerySet[M],
    *,
    items_per_page: int,
    next: str | None,
    render: Callable[[M], Any],
    newest_first: bool = False,
) -> dict[str, Any]:
    """One page of ``queryset`` in id order; ``next`` is the last id seen.

    Keyset rather than offset paging: a page stays correct while rows are
    added or deleted, and costs the same however deep the caller goes.
    """
    ordered = queryset.order_by("-id" if newest_first else "id")
    if next:
        seen = _after_id(next)
        ordered = ordered.filter(id__lt=seen) if newest_first else ordered.filter(id__gt=seen)
    page = list(ordered[: items_per_page + 1])
    has_more = len(page) > items_per_page
    page = page[:items_per_page]
    return {
        "items": [render(item) for item in page],
        "next": str(page[-1].pk) if has_more else None,
    }
