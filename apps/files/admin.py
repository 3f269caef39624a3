"""Admin pages of files: changes go through the service, as a call would.

Adding, moving (a new path) and deleting a file run ``services`` so that
their events are produced like any other change; owner and size are fixed
once a file exists, and shares are made with ``files.share`` (which asks
accounts whether the user exists), so the inline only lists them. The kit's
admin site shows these pages only in the unit serving files
(``ucloud.observe.site``)::

    /admin/files/file/add/   -> file_create(owner=..., path=..., size=...)
"""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from apps.files import services
from apps.files.models import File, Share


class ShareInline(admin.TabularInline):
    model = Share
    extra = 0
    readonly_fields = ("username", "created_at")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(File)
class FileAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "path", "size", "created_at")
    list_filter = ("owner",)
    search_fields = ("path", "owner")
    inlines = [ShareInline]

    def get_readonly_fields(self, request: HttpRequest, obj: File | None = None) -> list[str]:
        return ["owner", "size", "created_at"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: File, form: ModelForm, change: bool) -> None:
        if not change:
            created = services.file_create(owner=obj.owner, path=obj.path, size=obj.size)
            obj.pk, obj.created_at = created["id"], created["created_at"]
        elif "path" in form.changed_data:
            services.file_move(username=obj.owner, id=obj.pk, new_path=obj.path)

    def delete_model(self, request: HttpRequest, obj: File) -> None:
        services.file_delete(username=obj.owner, id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[File]) -> None:
        for file in queryset:
            services.file_delete(username=file.owner, id=file.pk)


@admin.register(Share)
class ShareAdmin(admin.ModelAdmin):
    """Read only: a share is made with files.share, which checks the user exists."""

    list_display = ("id", "file", "username", "created_at")
    search_fields = ("username", "file__path")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
