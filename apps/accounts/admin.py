"""Admin pages of accounts."""

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest

from apps.accounts.models import RefreshToken, User


@admin.register(User)
class AccountAdmin(UserAdmin):
    list_display = ("username", "role", "is_superuser", "is_active", "date_joined")
    list_filter = ("role", "is_superuser", "is_active")
    fieldsets = (*(UserAdmin.fieldsets or ()), ("Service role", {"fields": ("role",)}))


@admin.register(RefreshToken)
class RefreshTokenAdmin(admin.ModelAdmin):
    """Read only: tokens are revoked by logout, a password change or deactivating the user."""

    list_display = ("user", "family", "created_at", "expires_at", "used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("user__username", "family")
    exclude = ("password_fingerprint",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
