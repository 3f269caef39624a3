"""Pages for browse calls: ``{items, next}`` responses and their requests.

``next`` is an opaque token; pass it back to get the following page::

    browse = call(request=BrowseRequest, response=page_of(File), ...)
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

MAX_ITEMS_PER_PAGE = 250


class BrowseRequest(serializers.Serializer):
    items_per_page = serializers.IntegerField(min_value=1, max_value=MAX_ITEMS_PER_PAGE, default=50)
    next = serializers.CharField(required=False, allow_null=True, allow_blank=False)


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
