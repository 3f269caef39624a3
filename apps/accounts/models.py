"""Users of the system. Django superusers always act as ADMIN."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models


class Role(models.TextChoices):
    USER = "USER", "User"
    ADMIN = "ADMIN", "Admin"


class AccountManager(UserManager["User"]):
    def create_superuser(
        self, username: str, email: str | None = None, password: str | None = None, **extra: Any
    ) -> User:
        extra.setdefault("role", Role.ADMIN)
        return super().create_superuser(username, email, password, **extra)


class User(AbstractUser):
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.USER)

    objects = AccountManager()  # type: ignore[misc]

    @property
    def effective_role(self) -> str:
        """ADMIN for superusers whatever ``role`` says, else ``role``."""
        return Role.ADMIN if self.is_superuser else self.role


class RefreshToken(models.Model):
    """A refresh token handed out: rotated on use, revoked with its family.

    One login starts a family; each refresh marks its token used and issues
    the next of the family. A used token presented again means it leaked:
    the whole family is revoked.
    """

    jti = models.CharField(max_length=64, unique=True)
    family = models.CharField(max_length=64, db_index=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="refresh_tokens")
    # The user's password, condensed, when it was issued: a new password
    # (from any place, the admin included) makes the token worthless.
    password_fingerprint = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "revoked_at"], name="accounts_refresh_user_live")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.jti} ({self.family})"
