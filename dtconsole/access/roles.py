"""Roles and the permissions they are made of: the one table of who may do what.

A role is a Django group of the same name, created by migration and never edited by hand;
superusers hold every permission. ``dtconsole.access.services.require`` is how code asks.
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

VIEW = "access.view_console"
RUN_SYNC = "access.run_sync"
DECIDE_SYNC = "access.decide_sync"
CHANGE_DIRECTORY = "access.change_directory"
MANAGE_PROVIDERS = "access.manage_providers"
MANAGE_USERS = "access.manage_users"


@dataclass(frozen=True)
class Role:
    """A named set of permissions; ``key`` is also the Django group's name."""

    key: str
    label: Promise
    permissions: tuple[str, ...]
    summary: Promise


VIEWER = Role(
    "viewer",
    _("Viewer"),
    (VIEW,),
    _("Reads every page and the API; never sees a secret."),
)
OPERATOR = Role(
    "operator",
    _("Operator"),
    (VIEW, RUN_SYNC, DECIDE_SYNC),
    _("A viewer who also starts syncs, re-pushes objects and approves, rejects or cancels jobs."),
)
ADMINISTRATOR = Role(
    "administrator",
    _("Administrator"),
    (VIEW, RUN_SYNC, DECIDE_SYNC, CHANGE_DIRECTORY, MANAGE_PROVIDERS, MANAGE_USERS),
    _("Everything: the directory, providers, field mappings, settings and users' roles."),
)

# Lowest first: the role a permission "needs" is the first that holds it.
ROLES: tuple[Role, ...] = (VIEWER, OPERATOR, ADMINISTRATOR)
BY_KEY = {role.key: role for role in ROLES}


def role_needed(permission: str) -> Role:
    """The lowest role that holds ``permission``."""
    return next(role for role in ROLES if permission in role.permissions)


def role_of(user) -> Role | None:
    """The highest role a user holds (superusers are administrators), None without one."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return held_role(user)


def held_role(user) -> Role | None:
    """The role a user's groups give, active or not (a deactivated user keeps it)."""
    if user.is_superuser:
        return ADMINISTRATOR
    names = {group.name for group in user.groups.all()}
    return next((role for role in reversed(ROLES) if role.key in names), None)
