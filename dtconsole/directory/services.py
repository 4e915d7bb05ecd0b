"""Named services: the only code that writes the directory.

Views, the CSV import and the API call these with the acting user; each checks that the
actor may change the directory, validates with the model's own rules (``full_clean``), raises
``ValidationError`` or ``DirectoryError`` with a message an admin can act on, and writes the
audit entry (one per call; a CSV import or bulk call records one entry with its counts, see
``audit_batch``). Tree paths and the one-primary rule are kept here and nowhere else.
"""

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dtconsole.access import roles
from dtconsole.access.services import require
from dtconsole.audit.services import audit_record
from dtconsole.sync.changes import ACCOUNT, ORGANIZATION, record_changes

from .models import Account, Membership, Organization


class DirectoryError(Exception):
    """A refused directory change, with a message that says what to do instead."""


# Django reports a conditional unique constraint only as "Constraint “x” is violated." (a
# non-field error): name the field at fault and say why, so forms and the import can show it.
_CONSTRAINT_ERRORS = {
    "account_unique_mobile": ("mobile", gettext_lazy("Another account already uses this mobile.")),
    "account_unique_email": ("email", gettext_lazy("Another account already uses this email.")),
    "org_unique_name_under_parent": (
        "name",
        gettext_lazy("Another organisation under the same parent already has this name."),
    ),
    "org_unique_root_name": (
        "name",
        gettext_lazy("Another top-level organisation already has this name."),
    ),
}


def _validate_constraints(instance: models.Model, exclude: Iterable[str] = ()) -> None:
    """``validate_constraints`` whose errors name the field at fault.

    The unique constraints we know are checked with one indexed ``exists()`` each: Django's
    generic check of a conditional constraint costs several queries and was most of the time
    of a large CSV import.
    """
    errors: dict[str, list[ValidationError]] = {}
    for constraint in instance._meta.constraints:
        field, message = _CONSTRAINT_ERRORS.get(constraint.name, (NON_FIELD_ERRORS, None))
        if field in exclude:
            continue
        if message is not None and isinstance(constraint, models.UniqueConstraint):
            violated = _unique_taken(instance, constraint)
            error = ValidationError(message, code="unique") if violated else None
        else:
            error = _django_check(instance, constraint, exclude)
        if error is not None:
            errors.setdefault(field, []).append(error)
    if errors:
        raise ValidationError(errors)


def _unique_taken(instance: models.Model, constraint: models.UniqueConstraint) -> bool:
    """Whether another row already holds the values of ``constraint`` (its condition applied)."""
    values = {
        name: getattr(instance, instance._meta.get_field(name).attname)
        for name in constraint.fields
    }
    if constraint.condition is not None and not _condition_holds(instance, constraint):
        return False
    if None in values.values():
        return False  # SQL unique constraints treat NULLs as distinct
    lookup = {instance._meta.get_field(name).attname: value for name, value in values.items()}
    others = type(instance)._default_manager.filter(**lookup)
    if constraint.condition is not None:
        others = others.filter(constraint.condition)
    return others.exclude(pk=instance.pk).exists() if instance.pk else others.exists()


def _condition_holds(instance: models.Model, constraint: models.UniqueConstraint) -> bool:
    # Our conditions are "field is not empty" and "parent is null": check them in Python.
    name = constraint.name
    if name in ("account_unique_mobile", "account_unique_email"):
        return bool(getattr(instance, constraint.fields[0]))
    if name == "org_unique_root_name":
        return instance.parent_id is None
    return True


def _django_check(instance, constraint, exclude) -> ValidationError | None:
    try:
        constraint.validate(type(instance), instance, exclude=set(exclude))
    except ValidationError as exc:
        return exc
    return None


def _full_clean(instance: models.Model, exclude: Iterable[str] = ()) -> None:
    """``full_clean`` with readable constraint errors; fields in error are not re-checked."""
    errors: dict = {}
    try:
        instance.full_clean(exclude=list(exclude), validate_constraints=False)
    except ValidationError as exc:
        errors = exc.update_error_dict(errors)
    try:
        _validate_constraints(instance, exclude=[*exclude, *errors])
    except ValidationError as exc:
        errors = exc.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)


# --- organisations ---------------------------------------------------------------------------


def _path_for(org_id: int, parent: Organization | None) -> str:
    return f"{parent.path if parent else '/'}{org_id}/"


def _org_audit(org: Organization) -> dict[str, Any]:
    return {
        "name": org.name,
        "code": org.code or "",
        "order": org.order,
        "parent": org.parent.name if org.parent_id else "",
    }


@transaction.atomic
def organization_create(
    actor,
    *,
    name: str,
    parent: Organization | None = None,
    code: str | None = None,
    order: int = 0,
) -> Organization:
    """Create an organisation under ``parent`` (a root when None)."""
    require(actor, roles.CHANGE_DIRECTORY)
    org = Organization(name=name, parent=parent, code=code or None, order=order)
    _full_clean(org, exclude=["path"])
    org.save()
    org.path = _path_for(org.pk, parent)
    org.depth = parent.depth + 1 if parent else 0
    org.save(update_fields=["path", "depth"])
    record_changes(ORGANIZATION, [org.pk])
    audit_record(actor, "organization.create", org, after=_org_audit(org))
    return org


@transaction.atomic
def organization_update(
    actor, org: Organization, *, name: str, code: str | None, order: int
) -> Organization:
    """Rename an organisation or change its code or order (moving is ``organization_move``)."""
    require(actor, roles.CHANGE_DIRECTORY)
    before = _org_audit(org)
    org.name, org.code, org.order = name, code or None, order
    _full_clean(org, exclude=["path"])
    org.save(update_fields=["name", "code", "order", "updated_at"])
    record_changes(ORGANIZATION, [org.pk])
    audit_record(actor, "organization.update", org, before=before, after=_org_audit(org))
    return org


@transaction.atomic
def organization_move(actor, org: Organization, new_parent: Organization | None) -> Organization:
    """Move ``org`` and its subtree under ``new_parent``; refuses a move into its own subtree."""
    require(actor, roles.CHANGE_DIRECTORY)
    org = (
        Organization.objects.select_for_update(of=("self",)).select_related("parent").get(pk=org.pk)
    )
    if new_parent is not None:
        new_parent = Organization.objects.get(pk=new_parent.pk)
        if new_parent.pk == org.pk or new_parent.path.startswith(org.path):
            raise DirectoryError(
                _("“%(org)s” cannot move under “%(target)s”: that is inside its own subtree.")
                % {"org": org.name, "target": new_parent.name}
            )
    if (new_parent.pk if new_parent else None) == org.parent_id:
        return org
    before = _org_audit(org)
    org.parent = new_parent
    _validate_constraints(org)
    old_path, new_path = org.path, _path_for(org.pk, new_parent)
    delta = (new_parent.depth + 1 if new_parent else 0) - org.depth
    # The subtree is taken by id before its paths change: read afterwards by the old path
    # prefix, it would be empty and the move would never reach DingTalk.
    moved = list(subtree(org).values_list("pk", flat=True))
    # One UPDATE rewrites the prefix of every path in the subtree, the org's own included.
    Organization.objects.filter(path__startswith=old_path).update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
        depth=F("depth") + delta,
    )
    Organization.objects.filter(pk=org.pk).update(parent=new_parent)
    # The subtree may enter or leave a provider's scope: its organisations and members changed.
    record_changes(ORGANIZATION, moved)
    record_changes(
        ACCOUNT,
        Membership.objects.filter(organization_id__in=moved).values_list("account_id", flat=True),
    )
    org.refresh_from_db()
    audit_record(actor, "organization.move", org, before=before, after=_org_audit(org))
    return org


@transaction.atomic
def organization_delete(actor, org: Organization) -> int:
    """Delete an organisation without sub-organisations; returns how many members it had.

    Its memberships go with it; an account whose primary membership was here gets its next
    membership promoted. Accounts themselves are never deleted by this.
    """
    require(actor, roles.CHANGE_DIRECTORY)
    children = org.children.count()
    if children:
        raise DirectoryError(
            _("“%(org)s” still has %(n)d sub-organisation(s). Move or delete them first.")
            % {"org": org.name, "n": children}
        )
    affected = list(
        Membership.objects.filter(organization=org, is_primary=True).values_list(
            "account_id", flat=True
        )
    )
    members = Membership.objects.filter(organization=org).count()
    member_ids = list(
        Membership.objects.filter(organization=org).values_list("account_id", flat=True)
    )
    record_changes(ORGANIZATION, [org.pk])
    record_changes(ACCOUNT, member_ids)
    audit_record(actor, "organization.delete", org, before={**_org_audit(org), "members": members})
    org.delete()
    for account_id in affected:
        _promote_next_primary(account_id)
    return members


def subtree(org: Organization):
    """The organisation and all its descendants, as a queryset."""
    return Organization.objects.filter(path__startswith=org.path)


# --- accounts --------------------------------------------------------------------------------

ACCOUNT_FIELDS = (
    "username",
    "display_name",
    "mobile",
    "email",
    "job_number",
    "title",
    "work_place",
    "hired_date",
    "status",
    "extra",
)


def _account_audit(account: Account, names: Iterable[str] = ACCOUNT_FIELDS) -> dict[str, Any]:
    values = {name: getattr(account, name) for name in names}
    if "hired_date" in values and values["hired_date"] is not None:
        values["hired_date"] = values["hired_date"].isoformat()
    return values


@transaction.atomic
def account_create(
    actor,
    *,
    organizations: Iterable[Organization] = (),
    primary: Organization | None = None,
    **fields: Any,
) -> Account:
    """Create an account and its memberships; the first organisation is primary by default."""
    require(actor, roles.CHANGE_DIRECTORY)
    account = Account(**_only_account_fields(fields))
    _full_clean(account)
    account.save()
    orgs = list(organizations)
    if primary is not None and primary not in orgs:
        orgs.insert(0, primary)
    primary = primary or (orgs[0] if orgs else None)
    for position, org in enumerate(orgs):
        Membership.objects.create(
            account=account, organization=org, is_primary=(org == primary), order=position
        )
    record_changes(ACCOUNT, [account.pk])
    after = {**_account_audit(account), "organizations": [o.name for o in orgs]}
    audit_record(actor, "account.create", account, after=after)
    return account


@transaction.atomic
def account_update(actor, account: Account, **fields: Any) -> Account:
    """Change an account's attributes. The username cannot change once created."""
    require(actor, roles.CHANGE_DIRECTORY)
    fields = _only_account_fields(fields)
    before = _account_audit(account, fields)
    if "username" in fields and fields["username"] != account.username:
        raise DirectoryError(
            _("A username cannot change: DingTalk userids are immutable. Create a new account.")
        )
    for name, value in fields.items():
        setattr(account, name, value)
    _full_clean(account)
    account.save()
    record_changes(ACCOUNT, [account.pk])
    after = _account_audit(account, fields)
    audit_record(actor, "account.update", account, before=before, after=after)
    return account


@transaction.atomic
def account_set_status(actor, account: Account, status: str) -> Account:
    """Enable or disable an account (a disabled account leaves DingTalk on the next sync)."""
    require(actor, roles.CHANGE_DIRECTORY)
    if status not in Account.Status.values:
        raise DirectoryError(_("Unknown status “%(s)s”.") % {"s": status})
    before = {"status": account.status}
    account.status = status
    account.save(update_fields=["status", "updated_at"])
    record_changes(ACCOUNT, [account.pk])
    audit_record(actor, "account.set_status", account, before=before, after={"status": status})
    return account


@transaction.atomic
def account_delete(actor, account: Account) -> None:
    """Delete an account and its memberships."""
    require(actor, roles.CHANGE_DIRECTORY)
    record_changes(ACCOUNT, [account.pk])
    before = _account_audit(account, ("username", "display_name", "mobile", "email", "status"))
    audit_record(actor, "account.delete", account, before=before)
    account.delete()


def _only_account_fields(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(ACCOUNT_FIELDS)
    if unknown:
        raise TypeError(f"unknown account fields: {sorted(unknown)}")
    return fields


# --- memberships -----------------------------------------------------------------------------


@transaction.atomic
def membership_add(
    actor, account: Account, organization: Organization, *, primary: bool = False, order: int = 0
) -> Membership:
    """Put ``account`` into ``organization``; the first membership is always primary."""
    require(actor, roles.CHANGE_DIRECTORY)
    if Membership.objects.filter(account=account, organization=organization).exists():
        raise DirectoryError(
            _("%(account)s is already a member of “%(org)s”.")
            % {"account": account.username, "org": organization.name}
        )
    has_any = Membership.objects.filter(account=account).exists()
    if primary and has_any:
        Membership.objects.filter(account=account, is_primary=True).update(is_primary=False)
    record_changes(ACCOUNT, [account.pk])
    membership = Membership.objects.create(
        account=account, organization=organization, is_primary=primary or not has_any, order=order
    )
    after = {"organization": organization.name, "primary": membership.is_primary}
    audit_record(actor, "membership.add", account, after=after)
    return membership


@transaction.atomic
def membership_remove(actor, membership: Membership) -> None:
    """Remove a membership; if it was primary, the next one becomes primary."""
    require(actor, roles.CHANGE_DIRECTORY)
    was_primary, account_id = membership.is_primary, membership.account_id
    record_changes(ACCOUNT, [account_id])
    before = {"organization": membership.organization.name, "primary": was_primary}
    audit_record(actor, "membership.remove", membership.account, before=before)
    membership.delete()
    if was_primary:
        _promote_next_primary(account_id)


@transaction.atomic
def membership_set_primary(actor, membership: Membership) -> Membership:
    """Make ``membership`` the account's primary one."""
    require(actor, roles.CHANGE_DIRECTORY)
    previous = (
        Membership.objects.filter(account_id=membership.account_id, is_primary=True)
        .exclude(pk=membership.pk)
        .select_related("organization")
        .first()
    )
    Membership.objects.filter(account_id=membership.account_id, is_primary=True).exclude(
        pk=membership.pk
    ).update(is_primary=False)
    membership.is_primary = True
    membership.save(update_fields=["is_primary"])
    record_changes(ACCOUNT, [membership.account_id])
    before = {"primary": previous.organization.name if previous else ""}
    after = {"primary": membership.organization.name}
    audit_record(actor, "membership.set_primary", membership.account, before=before, after=after)
    return membership


def _promote_next_primary(account_id: int) -> None:
    if Membership.objects.filter(account_id=account_id, is_primary=True).exists():
        return
    nxt = Membership.objects.filter(account_id=account_id).order_by("order", "id").first()
    if nxt is not None:
        nxt.is_primary = True
        nxt.save(update_fields=["is_primary"])


__all__ = [
    "DirectoryError",
    "ValidationError",
    "account_create",
    "account_delete",
    "account_set_status",
    "account_update",
    "membership_add",
    "membership_remove",
    "membership_set_primary",
    "organization_create",
    "organization_delete",
    "organization_move",
    "organization_update",
    "subtree",
]
