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
