"""Admin pages of accounts."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from apps.accounts.models import User


@admin.register(User)
class AccountAdmin(UserAdmin):
    list_display = ("username", "role", "is_superuser", "is_active", "date_joined")
    list_filter = ("role", "is_superuser", "is_active")
    fieldsets = (*(UserAdmin.fieldsets or ()), ("Service role", {"fields": ("role",)}))
