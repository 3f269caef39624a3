"""The accounts service: users, roles, login and tokens."""

from ucloud.service import DATABASE, Service


class AccountsService(Service):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts"
    features = (DATABASE,)
