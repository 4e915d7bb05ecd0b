from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The REST API: DRF viewsets over the directory, provider, mapping and sync services."""

    name = "dtconsole.api"
    label = "api"
    verbose_name = "REST API"
