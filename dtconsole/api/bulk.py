"""Bulk upsert of accounts (keyed by username) and organisations (keyed by code).

All or nothing: the request is checked as a whole first (duplicates, unknown organisation
codes, parent cycles), then every item is written through ``dtconsole.directory.services`` in
one transaction. Every refused item is reported with its index and field; if any item is
refused, the transaction rolls back and nothing is written (nor queued for sync: the services'
after-commit hooks never run).
"""

from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from dtconsole.access import roles
from dtconsole.access.services import require
from dtconsole.audit.services import audit_batch
from dtconsole.directory import services
from dtconsole.directory.models import Account, Membership, Organization
from dtconsole.directory.services import DirectoryError
from dtconsole.directory.validators import normalize_mobile

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
NON_FIELD = "non_field_errors"
_KEEP = object()  # "parent" absent from an organisation item: keep the current parent


@dataclass(frozen=True)
class ItemError:
    """One problem of one item: its index in the request, the field, the message."""

    index: int
    field: str
    message: str


class BulkError(Exception):
    """The bulk upsert was refused; nothing was written."""

    def __init__(self, errors: Sequence[ItemError]):
        self.errors = sorted(errors, key=lambda e: e.index)
        count = len({e.index for e in self.errors})
        super().__init__(_("%(n)d item(s) have errors; nothing was written.") % {"n": count})


@dataclass
class BulkResult:
    """What happened to each item, in request order."""

    items: list[dict[str, Any]] = field(default_factory=list)

    def add(self, index: int, key: str, pk: int, action: str) -> None:
        self.items.append({"index": index, "key": key, "id": pk, "action": action})

    def as_dict(self) -> dict[str, Any]:
        counts = {CREATED: 0, UPDATED: 0, UNCHANGED: 0}
        for item in self.items:
            counts[item["action"]] += 1
        return {**counts, "items": sorted(self.items, key=lambda i: i["index"])}


def errors_from_serializer(errors: Any) -> list[ItemError]:
    """ItemErrors from a ``many=True`` serializer's errors: per item (a list, or a dict keyed
    by index), or about the whole request (index -1: not a list, empty, too long)."""
    per_item = dict(enumerate(errors)) if isinstance(errors, list) else errors
    if not all(isinstance(index, int) for index in per_item):
        return [ItemError(-1, NON_FIELD, m) for m in _messages(errors)]
    return [
        ItemError(index, str(name), message)
        for index, item in per_item.items()
        for name, value in (item.items() if isinstance(item, dict) else [(NON_FIELD, item)])
        for message in _messages(value)
    ]


def _messages(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for inner in value.values():
            yield from _messages(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _messages(inner)
    else:
        yield str(value)


def _service_errors(index: int, exc: ValidationError | DirectoryError, field: str) -> list:
    """ItemErrors of a service's refusal; a DirectoryError is put on ``field``."""
    if isinstance(exc, DirectoryError):
        return [ItemError(index, field, str(exc))]
    if not hasattr(exc, "error_dict"):
        return [ItemError(index, NON_FIELD, m) for m in exc.messages]
    return [
        ItemError(index, NON_FIELD if name == NON_FIELD_ERRORS else name, m)
        for name, messages in exc.message_dict.items()
        for m in messages
    ]


def _duplicates(items: Sequence[dict[str, Any]], key: str) -> list[ItemError]:
    first: dict[str, int] = {}
    errors = []
    for index, item in enumerate(items):
        value = item[key]
        if value in first:
            message = _("Also given at index %(i)d.") % {"i": first[value]}
            errors.append(ItemError(index, key, message))
        first.setdefault(value, index)
    return errors


def _normal_mobile(value: str) -> str:
    """``value`` in the normal form; a refused value is kept for the service to report."""
    try:
        return normalize_mobile(value)
    except ValidationError:
        return value


def _duplicate_mobiles(items: Sequence[dict[str, Any]]) -> list[ItemError]:
    """Items that give one number twice, however each spells it."""
    first: dict[str, int] = {}
    errors = []
    for index, item in enumerate(items):
        value = _normal_mobile(item.get("mobile") or "")
        if not value:
            continue
        if value in first:
            message = _("The same number as at index %(i)d (%(mobile)s).")
            errors.append(
                ItemError(index, "mobile", message % {"i": first[value], "mobile": value})
            )
        first.setdefault(value, index)
    return errors


@contextmanager
def _item(index: int, errors: list[ItemError], field: str) -> Iterator[None]:
    """Run one item's writes in a savepoint; a refusal is recorded and the item undone."""
    try:
        with transaction.atomic():
            yield
    except (ValidationError, DirectoryError) as exc:
        errors.extend(_service_errors(index, exc, field))


# --- accounts --------------------------------------------------------------------------------


@transaction.atomic
def accounts_bulk_upsert(actor: Any, items: Sequence[dict[str, Any]]) -> BulkResult:
    """Create or update each account (keyed by username); all or nothing.

    Absent attributes are kept on update; ``organizations`` (codes, first primary), when
    present, replaces the memberships. An unchanged account is not written (nor synced).
    """
    require(actor, roles.CHANGE_DIRECTORY)
    orgs = _orgs_by_code({code for item in items for code in item.get("organizations", ())})
    errors = (
        _duplicates(items, "username")
        + _duplicate_mobiles(items)
        + _account_org_errors(items, orgs)
    )
    if errors:
        raise BulkError(errors)
    existing = Account.objects.in_bulk([item["username"] for item in items], field_name="username")
    result = BulkResult()
    label = _("API bulk upsert of %(n)d accounts") % {"n": len(items)}
    with audit_batch(actor, "account.bulk_upsert", object_type="directory.account", label=label):
        for index, item in enumerate(items):
            with _item(index, errors, NON_FIELD):
                account, action = _upsert_account(actor, item, existing.get(item["username"]), orgs)
                result.add(index, account.username, account.pk, action)
        if errors:
            raise BulkError(errors)
    return result


def _orgs_by_code(codes: Iterable[str]) -> dict[str, Organization]:
    return Organization.objects.in_bulk(list(codes), field_name="code")


def _account_org_errors(
    items: Sequence[dict[str, Any]], orgs: dict[str, Organization]
) -> list[ItemError]:
    errors = []
    for index, item in enumerate(items):
        codes = item.get("organizations", [])
        for position, code in enumerate(codes):
            if code in codes[:position]:
                message = _("“%(code)s” is listed twice.") % {"code": code}
            elif code not in orgs:
                message = _("Unknown organisation code “%(code)s”.") % {"code": code}
            else:
                continue
            errors.append(ItemError(index, "organizations", message))
    return errors


def _upsert_account(
    actor: Any, item: dict[str, Any], account: Account | None, orgs: dict[str, Organization]
) -> tuple[Account, str]:
    fields = {k: v for k, v in item.items() if k != "organizations"}
    if fields.get("mobile"):  # compared with the stored value in the one normal form
        fields["mobile"] = _normal_mobile(fields["mobile"])
    wanted = [orgs[c] for c in item["organizations"]] if "organizations" in item else None
    if account is None:
        return services.account_create(actor, organizations=wanted or [], **fields), CREATED
    changed = {k: v for k, v in fields.items() if getattr(account, k) != v}
    current = list(
        Membership.objects.filter(account=account).order_by("-is_primary", "order", "id")
    )
    replace = wanted is not None and _memberships_differ(current, wanted)
    if changed:
        account = services.account_update(actor, account, **changed)
    if replace:
        _replace_memberships(actor, account, current, wanted)
    return account, UPDATED if changed or replace else UNCHANGED


def _memberships_differ(current: list[Membership], wanted: list[Organization]) -> bool:
    ids = [m.organization_id for m in current]
    return set(ids) != {o.pk for o in wanted} or ids[:1] != [o.pk for o in wanted[:1]]


def _replace_memberships(
    actor: Any, account: Account, current: list[Membership], wanted: list[Organization]
) -> None:
    """Make ``wanted`` the account's memberships (the first primary) through the services."""
    by_org = {m.organization_id: m for m in current}
    for position, org in enumerate(wanted):
        if org.pk not in by_org:
            by_org[org.pk] = services.membership_add(
                actor, account, org, primary=position == 0, order=position
            )
    if wanted and not by_org[wanted[0].pk].is_primary:
        services.membership_set_primary(actor, by_org[wanted[0].pk])
    keep = {org.pk for org in wanted}
    for org_id, membership in by_org.items():
        if org_id not in keep:
            services.membership_remove(actor, Membership.objects.get(pk=membership.pk))


# --- organisations ---------------------------------------------------------------------------


@transaction.atomic
def organizations_bulk_upsert(actor: Any, items: Sequence[dict[str, Any]]) -> BulkResult:
    """Create, rename, reorder or move each organisation (keyed by code); all or nothing.

    A parent is a code of the directory or of this request (written parents first); absent
    ``name``/``order``/``parent`` are kept on update.
    """
    require(actor, roles.CHANGE_DIRECTORY)
    errors = _duplicates(items, "code")
    codes = {item["code"] for item in items} | {item["parent"] for item in items if _parent(item)}
    known = set(_orgs_by_code(codes))
    errors += _unknown_parents(items, known | {item["code"] for item in items})
    order = _parents_first(items, errors)
    if errors:
        raise BulkError(errors)
    result = BulkResult()
    label = _("API bulk upsert of %(n)d organisations") % {"n": len(items)}
    with audit_batch(
        actor, "organization.bulk_upsert", object_type="directory.organization", label=label
    ):
        for index in order:
            with _item(index, errors, "parent"):
                org, action = _upsert_organization(actor, items[index])
                result.add(index, org.code or "", org.pk, action)
        if errors:
            raise BulkError(errors)
    return result


def _parent(item: dict[str, Any]) -> str | None:
    return item.get("parent") or None


def _unknown_parents(items: Sequence[dict[str, Any]], codes: set[str]) -> list[ItemError]:
    return [
        ItemError(index, "parent", _("Unknown organisation code “%(c)s”.") % {"c": item["parent"]})
        for index, item in enumerate(items)
        if _parent(item) and item["parent"] not in codes
    ]


def _parents_first(items: Sequence[dict[str, Any]], errors: list[ItemError]) -> list[int]:
    """Item indexes with every parent given in the request before its children; items in a
    parent cycle get an error."""
    index_of = {item["code"]: index for index, item in enumerate(items)}
    children: dict[int, list[int]] = defaultdict(list)
    roots = []
    for index, item in enumerate(items):
        parent = index_of.get(_parent(item) or "")
        if parent is None:
            roots.append(index)
        else:
            children[parent].append(index)
    order, queue = [], deque(roots)
    while queue:
        index = queue.popleft()
        order.append(index)
        queue.extend(children.get(index, ()))
    for index in sorted(set(range(len(items))) - set(order)):
        errors.append(ItemError(index, "parent", _("The parents form a cycle.")))
    return order


def _upsert_organization(actor: Any, item: dict[str, Any]) -> tuple[Organization, str]:
    org = Organization.objects.filter(code=item["code"]).first()
    parent = _parent_org(item)
    if org is None:
        if not item.get("name"):
            raise ValidationError({"name": _("A name is required to create an organisation.")})
        created = services.organization_create(
            actor,
            name=item["name"],
            parent=None if parent is _KEEP else parent,
            code=item["code"],
            order=item.get("order", 0),
        )
        return created, CREATED
    action = UNCHANGED
    if parent is not _KEEP and org.parent_id != (parent.pk if parent else None):
        org, action = services.organization_move(actor, org, parent), UPDATED
    name, order = item.get("name", org.name), item.get("order", org.order)
    if (name, order) != (org.name, org.order):
        org = services.organization_update(actor, org, name=name, code=org.code, order=order)
        action = UPDATED
    return org, action


def _parent_org(item: dict[str, Any]) -> Any:
    """The parent to put the organisation under: an Organization, None (top level) or _KEEP."""
    if "parent" not in item:
        return _KEEP
    code = _parent(item)
    if not code:
        return None
    parent = Organization.objects.filter(code=code).first()
    if parent is None:  # given in this request, and refused there
        raise ValidationError({"parent": _("The parent “%(c)s” was not written.") % {"c": code}})
    return parent
