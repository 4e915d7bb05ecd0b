from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "dtconsole.accounts"
    label = "accounts"

    def ready(self) -> None:
        # Connects the login receiver that reads a user's saved interface language.
        from . import language  # noqa: F401
