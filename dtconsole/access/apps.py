from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccessConfig(AppConfig):
    name = "dtconsole.access"
    label = "access"
    verbose_name = _("Access")

    def ready(self) -> None:
        # Migration 0002 creates the roles; this keeps them after a database flush (which
        # emits post_migrate) and after a change to roles.ROLES.
        post_migrate.connect(ensure_roles, sender=self)


def ensure_roles(sender=None, using: str = "default", **kwargs) -> None:
    """Every role of ``roles.ROLES`` as a group with exactly its permissions."""
    from django.contrib.auth.models import Group, Permission

    from .roles import ROLES

    for role in ROLES:
        codenames = [p.split(".", 1)[1] for p in role.permissions]
        group, _created = Group.objects.using(using).get_or_create(name=role.key)
        wanted = Permission.objects.using(using).filter(
            content_type__app_label="access", codename__in=codenames
        )
        group.permissions.set(wanted)
