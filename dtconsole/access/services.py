"""The one place the console decides who may do what: ``require``, and the role services.

Every service that changes state calls ``require(actor, permission)`` first; pages, the API
and commands only turn the ``AccessDenied`` it raises into a 403. Management commands, the
scheduler and the sync engine act as ``SYSTEM``.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from dtconsole.audit.services import audit_record

from . import roles
from .roles import Role


class SystemActor:
    """The console itself, acting for a command, the scheduler or a background job."""

    pk = None
    username = "system"
    is_authenticated = True
    is_active = True
    is_system = True

    def __str__(self) -> str:
        return self.username


SYSTEM = SystemActor()


class AccessDenied(PermissionDenied):
    """The actor lacks a permission; the message names the role that has it."""

    def __init__(self, permission: str, actor: Any = None) -> None:
        self.permission = permission
        self.role = roles.role_needed(permission)
        self.actor_role = roles.role_of(actor)
        super().__init__(self.sentence())

    def sentence(self) -> str:
        admins = ", ".join(administrator_names()) or _("a superuser")
        if self.actor_role is None:
            current = _("You have no role in this console.")
        else:
            current = _("Your role is %(role)s.") % {"role": self.actor_role.label}
        return _(
            "This needs the %(role)s role. %(current)s Ask an administrator (%(admins)s) to "
            "change it on the Users page."
        ) % {"role": self.role.label, "current": current, "admins": admins}


def require(actor: Any, permission: str) -> None:
    """Refuse (``AccessDenied``) unless ``actor`` holds ``permission``. SYSTEM holds all."""
    if actor is SYSTEM:
        return
    allowed = (
        actor is not None
        and getattr(actor, "is_authenticated", False)
        and actor.is_active
        and actor.has_perm(permission)
    )
    if not allowed:
        raise AccessDenied(permission, actor)


def can(actor: Any, permission: str) -> bool:
    """Whether ``actor`` holds ``permission`` (for pages deciding what to show)."""
    try:
        require(actor, permission)
    except AccessDenied:
        return False
    return True


def administrator_names(limit: int = 3) -> list[str]:
    """Usernames of a few active administrators: whom to ask for a role."""
    users = get_user_model().objects.filter(is_active=True)
    admins = users.filter(is_superuser=True) | users.filter(groups__name=roles.ADMINISTRATOR.key)
    return list(admins.distinct().order_by("username").values_list("username", flat=True)[:limit])


# --- users and their roles -------------------------------------------------------------------


class RoleError(Exception):
    """A refused role change, with a sentence that says why."""


@transaction.atomic
def user_set_role(actor: Any, user, role: Role | None):
    """Give ``user`` exactly ``role`` (None: no role, no access). Superusers stay superusers."""
    require(actor, roles.MANAGE_USERS)
    if user.is_superuser:
        raise RoleError(
            _("%(user)s is a superuser, and superusers are always administrators.")
            % {"user": user.get_username()}
        )
    before = _role_key(user)
    if role is not roles.ADMINISTRATOR and before == roles.ADMINISTRATOR.key:
        _keep_an_administrator(user)
    user.groups.remove(*Group.objects.filter(name__in=roles.BY_KEY))
    if role is not None:
        user.groups.add(Group.objects.get(name=role.key))
    after = _role_key(user)
    audit_record(actor, "user.set_role", user, before={"role": before}, after={"role": after})
    return user


@transaction.atomic
def user_create(actor: Any, username: str, password: str, role: Role | None):
    """A new console user with a password and ``role`` (validated by ``UserCreateForm``)."""
    require(actor, roles.MANAGE_USERS)
    user = get_user_model().objects.create_user(username=username, password=password)
    if role is not None:
        user.groups.add(Group.objects.get(name=role.key))
    audit_record(actor, "user.create", user, after={"role": role.key if role else ""})
    return user


@transaction.atomic
def user_set_active(actor: Any, user, active: bool):
    """Let ``user`` log in again, or not (their role is kept for when they come back)."""
    require(actor, roles.MANAGE_USERS)
    if not active and getattr(actor, "pk", None) == user.pk:
        raise RoleError(_("You cannot deactivate yourself: ask another administrator."))
    if not active and _role_key(user) == roles.ADMINISTRATOR.key:
        _keep_an_administrator(user)
    before = {"active": user.is_active}
    user.is_active = active
    user.save(update_fields=["is_active"])
    audit_record(actor, "user.set_active", user, before=before, after={"active": active})
    return user


def _role_key(user) -> str:
    role = roles.held_role(_fresh(user))
    return role.key if role else ""


def _fresh(user):
    """The user as stored (group membership and flags re-read, permission caches dropped)."""
    return get_user_model().objects.get(pk=user.pk)


def _keep_an_administrator(user) -> None:
    others = [name for name in administrator_names(limit=2) if name != user.get_username()]
    if not others:
        raise RoleError(
            _("%(user)s is the last active administrator: make someone else one first.")
            % {"user": user.get_username()}
        )
