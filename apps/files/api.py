"""The files contract: file metadata owned by users and shared between them.

from apps.files.api import FileDescriptions
FileDescriptions.create.call({"path": "/docs/a.txt", "size": 12}, client)
"""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from rest_framework import serializers

from ucloud.contracts.bindings import (
    http_browse,
    http_create,
    http_delete,
    http_retrieve,
    http_search,
    http_update,
)
from ucloud.contracts.calls import CallDescriptionContainer, Empty, call
from ucloud.contracts.errors import Conflict, Forbidden, NotFound
from ucloud.contracts.pages import BrowseRequest, page_of
from ucloud.contracts.roles import Access, Roles
from ucloud.events.streams import EventStream
from ucloud.search.text import query_words

MAX_PATH_LENGTH = 4096
# One or more "/segment"; a segment has no "/" or NUL and is not "." or "..".
PATH_PATTERN = r"^(?:/(?:[^/\x00.][^/\x00]*|\.[^/\x00.][^/\x00]*|\.\.[^/\x00]+))+\Z"


class PathValidator(RegexValidator):
    """Absolute, no empty, ``.`` or ``..`` segments, no NUL.

    ``regex`` states the rule (the OpenAPI document shows it as the field's
    pattern); the check itself says which part of the rule a path breaks.
    """

    regex = PATH_PATTERN

    def __call__(self, value: Any) -> None:
        if not value.startswith("/"):
            raise serializers.ValidationError("Path must be absolute (start with '/').")
        segments = value[1:].split("/")
        if any(segment in ("", ".", "..") for segment in segments):
            raise serializers.ValidationError("Path must not have empty, '.' or '..' segments.")
        if "\x00" in value:
            raise serializers.ValidationError("Path must not contain NUL characters.")


def path_field() -> serializers.CharField:
    """At most 4096 characters, kept as given (no trimming), see ``PathValidator``."""
    return serializers.CharField(
        max_length=MAX_PATH_LENGTH, trim_whitespace=False, validators=[PathValidator()]
    )


class File(serializers.Serializer):
    id = serializers.IntegerField()
    path = serializers.CharField()
    size = serializers.IntegerField()
    owner = serializers.CharField()
    shared_with = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()


class CreateFileRequest(serializers.Serializer):
    path = path_field()
    size = serializers.IntegerField(min_value=0, max_value=2**63 - 1)


class FileIdRequest(serializers.Serializer):
    id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


class MoveFileRequest(FileIdRequest):
    new_path = path_field()


class ShareFileRequest(FileIdRequest):
    username = serializers.CharField(max_length=150)


MAX_QUERY_LENGTH = 200


class SearchFilesRequest(BrowseRequest):
    query = serializers.CharField(max_length=MAX_QUERY_LENGTH)

    def validate_query(self, value: str) -> str:
        if not query_words(value):
            raise serializers.ValidationError("The query has no words (letters or digits).")
        return value


class FileSearchHit(serializers.Serializer):
    file = File()
    # Higher is better; comparable within one answer only.
    score = serializers.FloatField()
    # The path as HTML, the words the query matched in <em>.
    highlight = serializers.CharField()


UNKNOWN_FILE = NotFound.declare(
    "unknown_file", "No file with this id that the caller owns or that is shared with the caller."
)
NOT_OWNER = Forbidden.declare(
    "not_owner", "The file is shared with the caller, who does not own it."
)
PATH_EXISTS = Conflict.declare("path_exists", "The caller already has a file at that path.")


class FileDescriptions(CallDescriptionContainer):
    namespace = "files"

    create = call(
        request=CreateFileRequest,
        response=File,
        roles=Roles.END_USER,
        access=Access.READ_WRITE,
        http=http_create(),
        audit=True,
        summary="Create a file entry owned by the caller",
        errors=(PATH_EXISTS,),
    )
    browse = call(
        request=BrowseRequest,
        response=page_of(File),
        roles=Roles.END_USER,
        access=Access.READ,
        http=http_browse(),
        summary="Browse the caller's own files and files shared with the caller",
    )
    search = call(
        request=SearchFilesRequest,
        response=page_of(FileSearchHit),
        roles=Roles.END_USER,
        access=Access.READ,
        http=http_search(),
        summary="Search the caller's own files and files shared with the caller by the words "
        "of their paths, best match first",
    )
    retrieve = call(
        request=FileIdRequest,
        response=File,
        roles=Roles.END_USER,
        access=Access.READ,
        http=http_retrieve(),
        summary="Retrieve one file the caller owns or that is shared with the caller",
        errors=(UNKNOWN_FILE,),
    )
    move = call(
        request=MoveFileRequest,
        response=File,
        roles=Roles.END_USER,
        access=Access.READ_WRITE,
        http=http_update("move"),
        audit=True,
        summary="Move (rename) a file the caller owns",
        errors=(UNKNOWN_FILE, NOT_OWNER, PATH_EXISTS),
    )
    delete = call(
        request=FileIdRequest,
        response=Empty,
        roles=Roles.END_USER,
        access=Access.READ_WRITE,
        http=http_delete(),
        audit=True,
        summary="Delete a file the caller owns",
        errors=(UNKNOWN_FILE, NOT_OWNER),
    )
    share = call(
        request=ShareFileRequest,
        response=File,
        roles=Roles.END_USER,
        access=Access.READ_WRITE,
        http=http_update("share"),
        audit=True,
        summary="Share a file the caller owns with another user",
        errors=(
            UNKNOWN_FILE,
            NOT_OWNER,
            NotFound.declare(
                "unknown_user", "No active user with that username (asked of accounts)."
            ),
        ),
    )


FILE_EVENT_TYPES = ("file_created", "file_moved", "file_deleted", "file_shared")


class FileEvent(serializers.Serializer):
    """What happened to a file; ``shared_with`` is set for ``file_shared``."""

    type = serializers.ChoiceField(choices=FILE_EVENT_TYPES)
    file_id = serializers.IntegerField()
    owner = serializers.CharField()
    path = serializers.CharField()
    old_path = serializers.CharField(required=False, allow_null=True, default=None)
    shared_with = serializers.CharField(required=False, allow_null=True, default=None)


files_events = EventStream("files.events", payload=FileEvent, key="file_id")
