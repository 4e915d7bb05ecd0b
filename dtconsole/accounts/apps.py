from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "dtconsole.accounts"
    label = "accounts"
