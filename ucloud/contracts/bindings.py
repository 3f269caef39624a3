"""HTTP bindings of calls: method, path under ``/api/<namespace>``, and where
the request comes from (JSON body or query string).

The helpers follow UCloud's conventions so most calls need no path at all::

    create = call(..., http=http_create())          # POST   /api/files
    browse = call(..., http=http_browse())          # GET    /api/files/browse
    move = call(..., http=http_update("move"))      # POST   /api/files/move
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class RequestSource(enum.StrEnum):
    BODY = "body"
    QUERY = "query"


@dataclass(frozen=True)
class HttpBinding:
    method: str
    # Below the namespace root; "" is the root itself (/api/files).
    subpath: str = ""
    source: RequestSource = RequestSource.BODY
    success_status: int = 200

    def path(self, namespace: str) -> str:
        """The URL path without a leading slash, e.g. ``api/files/browse``."""
        root = "api/" + namespace.replace(".", "/")
        return f"{root}/{self.subpath}" if self.subpath else root


def http_create(subpath: str = "") -> HttpBinding:
    return HttpBinding("POST", subpath, RequestSource.BODY)


def http_browse(subpath: str = "browse") -> HttpBinding:
    return HttpBinding("GET", subpath, RequestSource.QUERY)


def http_retrieve(subpath: str = "retrieve") -> HttpBinding:
    return HttpBinding("GET", subpath, RequestSource.QUERY)


def http_search(subpath: str = "search") -> HttpBinding:
    return HttpBinding("POST", subpath, RequestSource.BODY)


def http_update(operation: str) -> HttpBinding:
    return HttpBinding("POST", operation, RequestSource.BODY)


def http_delete(subpath: str = "") -> HttpBinding:
    return HttpBinding("DELETE", subpath, RequestSource.BODY)
