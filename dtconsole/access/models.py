"""The console's permissions, held by an unmanaged model so Django creates them.

No table: ``Console`` exists only to carry the permission rows the roles (Django groups,
created by migration 0002) are made of. Code names them through ``dtconsole.access.roles``.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Console(models.Model):
    """Anchor of the console's permissions (no table, no rows)."""

    class Meta:
        managed = False
        default_permissions = ()
        verbose_name = _("console")
        permissions = [
            ("view_console", _("Read every page and API answer (never a secret)")),
            ("run_sync", _("Start full, incremental and dry runs; re-push an object")),
            ("decide_sync", _("Approve, reject and cancel sync jobs")),
            ("change_directory", _("Change organisations, accounts and memberships; import CSV")),
            ("manage_providers", _("Bind and configure providers, field mappings and settings")),
            ("manage_users", _("Give console users their roles; deactivate them")),
        ]

    def __str__(self) -> str:
        return str(self._meta.verbose_name)
