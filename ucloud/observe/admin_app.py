"""``django.contrib.admin`` with the kit's admin site (``ucloud.observe.site``).

Kept apart from the site itself: Django imports an app config while it loads
the apps, before any model may be imported, and builds ``admin.site`` later::

    INSTALLED_APPS = ["ucloud.observe.admin_app.InspectingAdminConfig", ...]
"""

from __future__ import annotations

from django.contrib.admin.apps import AdminConfig


class InspectingAdminConfig(AdminConfig):
    """The admin app, with ``InspectingAdminSite`` as ``admin.site``."""

    default_site = "ucloud.observe.site.InspectingAdminSite"
