from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    name = "dtconsole.providers"
    label = "providers"
