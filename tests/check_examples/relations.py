"""Example models whose relations cross services (ucloud.E004) or databases
(ucloud.E009).

They live in a private app registry, so the project never installs them and
Django's own model checks never see them; ``shop`` and ``billing`` play two
services, ``files`` plays the real files service::

    check_cross_service_relations(model_classes=SHOP_AND_BILLING, services={"shop", "billing"})
"""

from __future__ import annotations

from django.apps.registry import Apps
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import models

examples = Apps()


class Customer(models.Model):
    name = models.CharField(max_length=100)

    class Meta:
        apps = examples
        app_label = "billing"

    def __str__(self) -> str:
        return self.name


class Order(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE)  # E004
    billing_contact = models.OneToOneField(  # E004, by name
        "billing.Customer", on_delete=models.CASCADE, related_name="+"
    )
    watchers = models.ManyToManyField(Customer, related_name="watched")  # E004
    # Fine: the own service (by "self") and an app that is not a service.
    previous = models.ForeignKey("self", null=True, on_delete=models.SET_NULL)
    group = models.ForeignKey(Group, on_delete=models.PROTECT)

    class Meta:
        apps = examples
        app_label = "shop"

    def __str__(self) -> str:
        return f"order {self.pk}"


class Parcel(models.Model):
    order = models.ForeignKey("shop.Order", on_delete=models.CASCADE)  # fine: own service

    class Meta:
        apps = examples
        app_label = "shop"

    def __str__(self) -> str:
        return f"parcel {self.pk}"


class VipCustomer(Customer):
    """Multi-table inheritance: the parent link is a one-to-one to billing (E004)."""

    class Meta:
        apps = examples
        app_label = "shop"


class Document(models.Model):
    """As if in the real files service: the user model belongs to accounts (E004)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)

    class Meta:
        apps = examples
        app_label = "files"

    def __str__(self) -> str:
        return f"document {self.pk}"


SHOP_AND_BILLING: list[type[models.Model]] = [Customer, Order, Parcel, VipCustomer]


class Attachment(models.Model):
    """As if in the real files service: content types live with accounts (E009)."""

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)  # E009
    object_id = models.PositiveIntegerField()

    class Meta:
        apps = examples
        app_label = "files"

    def __str__(self) -> str:
        return f"attachment {self.pk}"


class Membership(models.Model):
    """As if in accounts, the user model's service: auth's tables are its own (fine)."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE)

    class Meta:
        apps = examples
        app_label = "accounts"

    def __str__(self) -> str:
        return f"membership {self.pk}"
