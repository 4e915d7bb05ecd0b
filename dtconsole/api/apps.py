from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    """The REST API: DRF viewsets over the directory, provider, mapping and sync services."""

    name = "dtconsole.api"
    label = "api"
    verbose_name = _("REST API")
