"""The notifications service: tells users what happened to their files."""

from ucloud.service import DATABASE, Service


class NotificationsService(Service):
    name = "apps.notifications"
    label = "notifications"
    verbose_name = "Notifications"
    features = (DATABASE,)
