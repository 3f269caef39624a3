"""Admin pages of files."""

from django.contrib import admin

from apps.files.models import File, Share


class ShareInline(admin.TabularInline):
    model = Share
    extra = 0


@admin.register(File)
class FileAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "path", "size", "created_at")
    list_filter = ("owner",)
    search_fields = ("path", "owner")
    inlines = [ShareInline]


@admin.register(Share)
class ShareAdmin(admin.ModelAdmin):
    list_display = ("id", "file", "username", "created_at")
    search_fields = ("username", "file__path")
