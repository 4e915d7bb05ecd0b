"""One upsert path for the directory: the CSV import and the API bulk upsert both call it.

Rows (from a CSV file or from the API's items) are checked as a whole against the directory
with the models' own rules (``full_clean`` on unsaved instances) and with the cross-row rules no
single row can see: duplicates, clashes with existing accounts, unknown organisation codes,
parent cycles, sibling names. Then every row is written through
``dtconsole.directory.services``, parents first, memberships replaced the same way.

A value absent from a row is kept on update (an absent column of the CSV, an absent key of an
API item). Lookups are preloaded in bulk (chunked ``__in`` queries), never one query per row.
"""

import json
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils.translation import gettext as _

from dtconsole.access import roles
from dtconsole.access.services import require
from dtconsole.audit.services import audit_batch

from . import services
from .models import Account, ImportBatch, Membership, Organization
from .services import ACCOUNT_FIELDS, DirectoryError
from .validators import load_bounded_json

Kind = ImportBatch.Kind

ORG_COLUMNS = ("code", "name", "parent_code", "order")
ACCOUNT_FIELD_COLUMNS = tuple(f for f in ACCOUNT_FIELDS if f != "extra")
ACCOUNT_COLUMNS = (*ACCOUNT_FIELD_COLUMNS, "organizations", "extra")
COLUMNS = {Kind.ORGANIZATIONS: ORG_COLUMNS, Kind.ACCOUNTS: ACCOUNT_COLUMNS}
REQUIRED = {Kind.ORGANIZATIONS: ("code", "name"), Kind.ACCOUNTS: ("username", "display_name")}
ORG_CODE_SEPARATORS = (";", "；")  # Chinese keyboards type the full-width semicolon.

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"
_IN_CHUNK = 900  # SQLite allows 999 parameters per query.

# --- results ---------------------------------------------------------------------------------


@dataclass
class RowError:
    """One problem of one cell (or of the whole row when ``column`` is empty)."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        if not self.column:
            return _("row %(row)d: %(message)s") % {"row": self.row, "message": self.message}
        return _("row %(row)d, %(column)s: %(message)s") % {
            "row": self.row,
            "column": self.column,
            "message": self.message,
        }


@dataclass
class ImportRow:
    """A data row of the file, its checked values and what the commit will do with it."""

    number: int
    values: dict[str, str]
    errors: list[RowError] = field(default_factory=list)
    action: str = ""
    cleaned: dict[str, Any] = field(default_factory=dict)
    target: Any = None  # the existing Account or Organization an update changes
    place: str = "row"  # "row": a line of a CSV file; "index": an item of an API request
    # column -> [before, after], as text, for each value an update changes (the preview shows
    # them side by side, so an update never hides what it overwrites)
    changes: dict[str, list[str]] = field(default_factory=dict)

    def where(self) -> str:
        """The row as its messages name it: "row 5" of a file, "index 3" of a request."""
        if self.place == "index":
            return _("index %(index)d") % {"index": self.number}
        return _("row %(row)d") % {"row": self.number}

    @property
    def cells(self) -> list[str]:
        """The row's values in the order of the file's columns (for display)."""
        return list(self.values.values())

    def add_error(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.number, column, str(message)))

    def has_error(self, column: str) -> bool:
        return any(error.column == column for error in self.errors)

    @property
    def is_bad(self) -> bool:
        return bool(self.errors)


@dataclass
class ImportPlan:
    """Every row of a batch with its action and errors, ready to show or to commit."""

    kind: str
    columns: list[str]
    rows: list[ImportRow]

    @property
    def bad_rows(self) -> list[ImportRow]:
        return [row for row in self.rows if row.is_bad]

    @property
    def is_valid(self) -> bool:
        return bool(self.rows) and not self.bad_rows

    @property
    def errors(self) -> list[RowError]:
        return [error for row in self.rows for error in row.errors]

    def counts(self) -> dict[str, int]:
        counts = {CREATE: 0, UPDATE: 0, UNCHANGED: 0, "bad": 0, "rows": len(self.rows)}
        for row in self.rows:
            counts["bad" if row.is_bad else row.action] += 1
        return counts

    def rows_bad_first(self) -> list[ImportRow]:
        return self.bad_rows + [row for row in self.rows if not row.is_bad]


def _chunks(values: Iterable[Any], size: int = _IN_CHUNK) -> Iterator[list[Any]]:
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _model_errors(row: ImportRow, instance: Any, fields: Iterable[str]) -> None:
    """Run the model's own field rules on ``fields`` and record each message on its column.

    Uniqueness is left out on purpose: it is checked for the whole file at once, against
    preloaded values, instead of one query per row.
    """
    checked = set(fields)
    exclude = [f.name for f in instance._meta.fields if f.name not in checked]
    try:
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for column, messages in exc.message_dict.items():
            for message in messages:
                row.add_error("" if column == "__all__" else column, message)


def _required_values(row: ImportRow, kind: str, exists: bool = False) -> None:
    for column in REQUIRED[kind]:
        if column not in row.values and exists:
            continue  # absent from an update: kept
        if not row.values.get(column):
            row.add_error(column, _("This field is required."))


def _once_in_file(row: ImportRow, column: str, value: str, seen: dict[str, ImportRow]) -> None:
    if not value:
        return
    first = seen.setdefault(value, row)
    if first is not row:
        row.add_error(
            column,
            _("“%(value)s” is also on %(first)s.") % {"value": value, "first": first.where()},
        )


# --- organisations ---------------------------------------------------------------------------

# A node of the tree after the commit: ("id", pk) for an organisation that exists already,
# ("new", code) for one this file creates.
Key = tuple[str, Any]


@dataclass
class _OrgTree:
    """The organisation tree as it will be after the commit, for the cross-row rules."""

    code_key: dict[str, Key] = field(default_factory=dict)
    parent: dict[Key, Key | None] = field(default_factory=dict)
    name: dict[Key, str] = field(default_factory=dict)
    label: dict[Key, str] = field(default_factory=dict)
    existing: dict[str, tuple[int, str, int | None, int]] = field(default_factory=dict)
    row_of: dict[Key, ImportRow] = field(default_factory=dict)

    @classmethod
    def load(cls) -> "_OrgTree":
        """Every existing organisation, in one query (ids, codes, names and parents only)."""
        tree = cls()
        fields = ("id", "code", "name", "parent_id", "order")
        for pk, code, name, parent_id, order in Organization.objects.values_list(*fields):
            key = ("id", pk)
            tree.parent[key] = ("id", parent_id) if parent_id else None
            tree.name[key], tree.label[key] = name, code or name
            if code:
                tree.code_key[code] = key
                tree.existing[code] = (pk, name, parent_id, order)
        return tree

    def describe(self, key: Key) -> str:
        row = self.row_of.get(key)
        if row is not None:
            return row.where()
        return _("the existing organisation “%(org)s”") % {"org": self.label[key]}


def plan_organizations(rows: list[ImportRow]) -> None:
    """Check organisation rows and decide each one's action (in place, on ``rows``)."""
    tree, seen = _OrgTree.load(), {}
    for row in rows:
        _check_org_row(row, seen, tree)
    placed = [row for row in rows if not row.has_error("code")]
    for row in placed:
        code = row.cleaned["code"]
        key = tree.code_key.get(code, ("new", code))
        tree.code_key[code], tree.row_of[key], tree.label[key] = key, row, code
        row.cleaned["key"] = key
    for row in placed:
        _resolve_parent(row, tree)
    _check_cycles(tree)
    _check_sibling_names(tree)
    for row in placed:
        row.action = _org_action(row, tree)


def _check_org_row(row: ImportRow, seen: dict[str, ImportRow], tree: "_OrgTree") -> None:
    values = row.values
    existing = tree.existing.get(values.get("code", ""))
    _required_values(row, Kind.ORGANIZATIONS, exists=existing is not None)
    name = values.get("name", "") if "name" in values or existing is None else existing[1]
    fields = {"name": name or "", "code": values.get("code", "")}
    if values.get("order"):
        fields["order"] = values["order"]
    checked = [f for f in fields if not row.has_error(f)]
    org = Organization(**fields)
    _model_errors(row, org, checked)
    if not row.has_error("code"):
        _once_in_file(row, "code", fields["code"], seen)
    row.cleaned = {"code": org.code, "name": org.name}
    if "order" in fields:
        row.cleaned["order"] = org.order
    elif "order" not in values:
        row.cleaned["order"] = None  # column absent: an update keeps the order
    else:
        row.cleaned["order"] = 0


def _resolve_parent(row: ImportRow, tree: _OrgTree) -> None:
    key, code = row.cleaned["key"], row.cleaned["code"]
    tree.name[key] = row.cleaned["name"]
    tree.parent.setdefault(key, None)
    if "parent_code" not in row.values:
        return  # column absent: an existing organisation stays where it is, a new one is a root
    parent_code = row.values["parent_code"]
    if parent_code == code:
        row.add_error("parent_code", _("An organisation cannot be its own parent."))
    elif parent_code and parent_code not in tree.code_key:
        row.add_error(
            "parent_code",
            _(
                "Unknown organisation code “%(code)s”: it is neither in this file nor in the "
                "directory."
            )
            % {"code": parent_code},
        )
    else:
        tree.parent[key] = tree.code_key[parent_code] if parent_code else None


def _check_cycles(tree: _OrgTree) -> None:
    """Flag every file row whose parent chain, after the commit, would loop."""
    done: set[Key] = set()
    for start in tree.row_of:
        chain: list[Key] = []
        position: dict[Key, int] = {}
        node = start
        while node is not None and node not in done and node not in position:
            position[node] = len(chain)
            chain.append(node)
            node = tree.parent.get(node)
        if node is not None and node in position:
            loop = chain[position[node] :]
            text = " → ".join(tree.label[k] for k in [*loop, loop[0]])
            for key in loop:
                if key in tree.row_of and not tree.row_of[key].has_error("parent_code"):
                    tree.row_of[key].add_error(
                        "parent_code", _("The parent chain loops: %(chain)s.") % {"chain": text}
                    )
        done.update(chain)


def _check_sibling_names(tree: _OrgTree) -> None:
    """Flag file rows whose name another organisation under the same parent also has."""
    groups: dict[tuple[Key | None, str], list[Key]] = defaultdict(list)
    for key, parent in tree.parent.items():
        groups[(parent, tree.name[key])].append(key)
    for (_parent, name), keys in groups.items():
        if len(keys) < 2:
            continue
        for key in keys:
            if key not in tree.row_of:
                continue
            others = ", ".join(tree.describe(k) for k in keys if k != key)
            tree.row_of[key].add_error(
                "name",
                _("“%(name)s” is already used under the same parent by %(others)s.")
                % {"name": name, "others": others},
            )


def _org_action(row: ImportRow, tree: _OrgTree) -> str:
    row.cleaned["parent"] = tree.parent[row.cleaned["key"]]
    existing = tree.existing.get(row.cleaned["code"])
    if existing is None:
        if row.cleaned["order"] is None:
            row.cleaned["order"] = 0
        return CREATE
    pk, name, parent_id, order = existing
    row.target = pk
    if row.cleaned["order"] is None:
        row.cleaned["order"] = order
    old_parent = ("id", parent_id) if parent_id else None
    new_parent = row.cleaned["parent"]
    row.cleaned["moved"] = old_parent != new_parent
    pairs = {
        "name": (name, row.cleaned["name"]),
        "order": (order, row.cleaned["order"]),
        "parent_code": (_tree_label(tree, old_parent), _tree_label(tree, new_parent)),
    }
    row.changes = {c: [_as_cell(a), _as_cell(b)] for c, (a, b) in pairs.items() if a != b}
    return UPDATE if row.changes else UNCHANGED


def _tree_label(tree: _OrgTree, key: Key | None) -> str:
    return tree.label[key] if key is not None else ""


def _as_cell(value: Any) -> str:
    """A value as a CSV cell holds it (an API item's values, an update's before and after)."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _parents_first(rows: list[ImportRow]) -> list[ImportRow]:
    """File rows ordered so that every parent is written before its children."""
    by_key = {row.cleaned["key"]: row for row in rows}
    children: dict[Key | None, list[ImportRow]] = defaultdict(list)
    for row in rows:
        parent = row.cleaned["parent"]
        children[parent if parent in by_key else None].append(row)
    ordered, queue = [], deque(children[None])
    while queue:
        row = queue.popleft()
        ordered.append(row)
        queue.extend(children.get(row.cleaned["key"], ()))
    return ordered


def _org_for_key(key: Key | None, created: dict[Key, int]) -> Organization | None:
    """A fresh copy of a parent (paths change as the commit moves organisations)."""
    if key is None:
        return None
    pk = key[1] if key[0] == "id" else created[key]
    return Organization.objects.get(pk=pk)


class _OrganizationWriter:
    """Writes organisation rows, parents first; remembers what it created for the children."""

    def __init__(self, actor: Any, plan: "ImportPlan", journal: list[dict[str, Any]]):
        self.actor, self.plan, self.journal = actor, plan, journal
        self.created: dict[Key, int] = {}

    def ordered(self) -> list[ImportRow]:
        return _parents_first(self.plan.rows)

    def write(self, row: ImportRow) -> "Written":
        if row.action == UNCHANGED:
            return Written(row, row.target, row.cleaned["code"], UNCHANGED)
        parent = _org_for_key(row.cleaned["parent"], self.created)
        if row.action == CREATE:
            org = services.organization_create(
                self.actor,
                name=row.cleaned["name"],
                parent=parent,
                code=row.cleaned["code"],
                order=row.cleaned["order"],
            )
            self.created[row.cleaned["key"]] = org.pk
            self.journal.append({"op": "org_created", "pk": org.pk})
            return Written(row, org.pk, org.code, CREATE)
        self._update(row, parent)
        return Written(row, row.target, row.cleaned["code"], UPDATE)

    def _update(self, row: ImportRow, parent: Organization | None) -> None:
        org = Organization.objects.get(pk=row.target)
        before = {"name": org.name, "order": org.order, "parent_id": org.parent_id}
        self.journal.append({"op": "org_changed", "pk": org.pk, "before": before})
        if org.parent_id != (parent.pk if parent else None):
            org = services.organization_move(self.actor, org, parent)
        if (org.name, org.order) != (row.cleaned["name"], row.cleaned["order"]):
            services.organization_update(
                self.actor, org, name=row.cleaned["name"], code=org.code, order=row.cleaned["order"]
            )


# --- accounts --------------------------------------------------------------------------------


def _split_codes(text: str) -> list[str]:
    for separator in ORG_CODE_SEPARATORS[1:]:
        text = text.replace(separator, ORG_CODE_SEPARATORS[0])
    return [code.strip() for code in text.split(ORG_CODE_SEPARATORS[0]) if code.strip()]


def _owners(column: str, values: set[str]) -> dict[str, str]:
    """value -> username of the existing account that has it, for the values in the file."""
    owners: dict[str, str] = {}
    for chunk in _chunks(values):
        owners.update(
            Account.objects.filter(**{f"{column}__in": chunk}).values_list(column, "username")
        )
    return owners


@dataclass
class _AccountLookups:
    """What account rows are checked against, loaded in a few chunked queries."""

    accounts: dict[str, Account]  # existing accounts the file names
    org_ids: dict[str, int]  # organisation code -> id
    memberships: dict[int, list[int]]  # account id -> organisation ids, primary first
    mobile_owner: dict[str, str] = field(default_factory=dict)
    email_owner: dict[str, str] = field(default_factory=dict)
    org_codes: dict[int, str] = field(default_factory=dict)  # id -> code, filled as needed

    @classmethod
    def load(cls, rows: list[ImportRow]) -> "_AccountLookups":
        usernames = {row.values["username"] for row in rows if row.values.get("username")}
        accounts: dict[str, Account] = {}
        for chunk in _chunks(usernames):
            accounts.update((a.username, a) for a in Account.objects.filter(username__in=chunk))
        codes = {c for row in rows for c in _split_codes(row.values.get("organizations", ""))}
        org_ids: dict[str, int] = {}
        for chunk in _chunks(codes):
            org_ids.update(Organization.objects.filter(code__in=chunk).values_list("code", "id"))
        return cls(
            accounts=accounts,
            org_ids=org_ids,
            memberships=_memberships_of([a.pk for a in accounts.values()]),
            org_codes={pk: code for code, pk in org_ids.items()},
        )

    def codes(self, org_ids: list[int]) -> str:
        """Organisation ids as the file's "organizations" cell spells them (primary first)."""
        missing = [pk for pk in org_ids if pk not in self.org_codes]
        for chunk in _chunks(missing):
            self.org_codes.update(
                Organization.objects.filter(pk__in=chunk).values_list("id", "code")
            )
        return ";".join(self.org_codes.get(pk) or str(pk) for pk in org_ids)

    def load_owners(self, rows: list[ImportRow]) -> None:
        """The existing holders of the rows' cleaned mobiles and emails.

        Looked up by the cleaned values, not the cells: a mobile is stored in its normal
        form, so "+86-139…" in the file finds the account that holds "139…".
        """

        def cleaned(name: str) -> set[str]:
            return {
                row.cleaned["fields"][name]
                for row in rows
                if row.cleaned["fields"].get(name) and not row.has_error(name)
            }

        self.mobile_owner = _owners("mobile", cleaned("mobile"))
        self.email_owner = _owners("email", cleaned("email"))


def _memberships_of(account_ids: list[int]) -> dict[int, list[int]]:
    memberships: dict[int, list[int]] = defaultdict(list)
    for chunk in _chunks(account_ids):
        pairs = (
            Membership.objects.filter(account_id__in=chunk)
            .order_by("account_id", "-is_primary", "order", "id")
            .values_list("account_id", "organization_id")
        )
        for account_id, org_id in pairs:
            memberships[account_id].append(org_id)
    return memberships


def plan_accounts(rows: list[ImportRow]) -> None:
    """Check account rows and decide each one's action (in place, on ``rows``).

    Two passes: each row's own rules first (which also give each mobile its normal form),
    then the rules across rows and against the directory, on the cleaned values.
    """
    lookups = _AccountLookups.load(rows)
    for row in rows:
        _clean_account_row(row, lookups)
    lookups.load_owners(rows)
    seen: dict[str, dict[str, Any]] = {"username": {}, "mobile": {}, "email": {}}
    for row in rows:
        _check_account_row(row, lookups, seen)


def _clean_account_row(row: ImportRow, lookups: _AccountLookups) -> None:
    existing = lookups.accounts.get(row.values.get("username", ""))
    _required_values(row, Kind.ACCOUNTS, exists=existing is not None)
    fields = _account_fields(row, existing)
    account = Account(**fields)
    _model_errors(row, account, [f for f in fields if not row.has_error(f)])
    row.cleaned = {"fields": {name: getattr(account, name) for name in fields}}
    row.target = existing


def _check_account_row(
    row: ImportRow, lookups: _AccountLookups, seen: dict[str, dict[str, Any]]
) -> None:
    cleaned = row.cleaned["fields"]
    for column in ("username", "mobile", "email"):
        if row.has_error(column):
            continue
        if column == "mobile":
            _mobile_once_in_file(row, cleaned.get(column) or "", seen[column])
        else:
            _once_in_file(row, column, cleaned.get(column) or "", seen[column])
        _clash_with_existing(row, column, cleaned, lookups)
    row.cleaned["org_ids"] = _account_org_ids(row, lookups)
    row.action = _account_action(row, row.target, lookups)


def _mobile_once_in_file(row: ImportRow, normal: str, seen: dict[str, ImportRow]) -> None:
    """A number may be in the file once, however each row spells it."""
    if not normal:
        return
    first = seen.setdefault(normal, row)
    if first is row:
        return
    typed, first_typed = row.values["mobile"], first.values["mobile"]
    if typed == first_typed:
        message = _("“%(value)s” is also on %(first)s.")
    else:
        message = _("“%(value)s” is the same number as “%(other)s” on %(first)s (%(normal)s).")
    params = {"value": typed, "other": first_typed, "first": first.where(), "normal": normal}
    row.add_error("mobile", message % params)


def _account_fields(row: ImportRow, existing: Account | None) -> dict[str, Any]:
    """Model field values from the row's cells; an absent column is left out."""
    values = row.values
    fields: dict[str, Any] = {c: values[c] for c in ACCOUNT_FIELD_COLUMNS if c in values}
    if fields.get("hired_date") == "":
        fields["hired_date"] = None
    if not fields.get("status"):
        fields.pop("status", None)
        if existing is None:
            fields["status"] = Account.Status.ACTIVE
    if values.get("extra"):
        extra = _parse_extra(row, values["extra"])
        if extra is not None:
            fields["extra"] = extra
    elif existing is None:
        fields["extra"] = {}
    return fields


def _parse_extra(row: ImportRow, text: str) -> dict[str, Any] | None:
    try:
        value = load_bounded_json(text)
    except ValidationError as exc:
        row.add_error("extra", " ".join(exc.messages))
        return None
    except ValueError as exc:
        row.add_error(
            "extra",
            _("Not valid JSON (%(error)s at character %(pos)d).")
            % {"error": getattr(exc, "msg", str(exc)), "pos": getattr(exc, "pos", 0) + 1},
        )
        return None
    if not isinstance(value, dict):
        row.add_error("extra", _('Must be a JSON object, for example {"cost_center": "R&D"}.'))
        return None
    return value


def _clash_with_existing(
    row: ImportRow, column: str, cleaned: dict[str, Any], lookups: _AccountLookups
) -> None:
    owners = {"mobile": lookups.mobile_owner, "email": lookups.email_owner}.get(column, {})
    value = cleaned.get(column)
    owner = owners.get(value) if value else None
    if not owner or owner == cleaned.get("username"):
        return
    typed = row.values.get(column, "")
    if column == "mobile" and typed != value:  # typed in another spelling than stored
        message = _("“%(typed)s” is the number of the existing account “%(owner)s” (%(value)s).")
    else:
        message = _("“%(value)s” already belongs to the existing account “%(owner)s”.")
    row.add_error(column, message % {"typed": typed, "value": value, "owner": owner})


def _account_org_ids(row: ImportRow, lookups: _AccountLookups) -> list[int] | None:
    """Organisation ids of the cell, primary first; None when the cell is empty."""
    codes = _split_codes(row.values.get("organizations", ""))
    ids: list[int] = []
    for position, code in enumerate(codes):
        if code in codes[:position]:
            row.add_error("organizations", _("“%(code)s” is listed twice.") % {"code": code})
        elif code not in lookups.org_ids:
            row.add_error(
                "organizations",
                _("Unknown organisation code “%(code)s”.") % {"code": code},
            )
        else:
            ids.append(lookups.org_ids[code])
    return ids or None


def _account_action(row: ImportRow, existing: Account | None, lookups: _AccountLookups) -> str:
    if existing is None:
        return CREATE
    changed = {
        name: value
        for name, value in row.cleaned["fields"].items()
        if getattr(existing, name) != value
    }
    wanted, current = row.cleaned["org_ids"], lookups.memberships.get(existing.pk, [])
    replace = wanted is not None and (wanted[:1] != current[:1] or set(wanted) != set(current))
    row.cleaned.update(changed=changed, replace_memberships=replace)
    row.changes = {
        name: [_as_cell(getattr(existing, name)), _as_cell(v)] for name, v in changed.items()
    }
    if replace:
        row.changes["organizations"] = [lookups.codes(current), lookups.codes(wanted)]
    return UPDATE if changed or replace else UNCHANGED


class _AccountWriter:
    """Writes account rows and replaces their memberships through the services."""

    def __init__(self, actor: Any, plan: "ImportPlan", journal: list[dict[str, Any]]):
        self.actor, self.plan, self.journal = actor, plan, journal
        org_ids = {pk for row in plan.rows for pk in row.cleaned["org_ids"] or ()}
        self.orgs: dict[int, Organization] = {}
        for chunk in _chunks(org_ids):
            self.orgs.update((org.pk, org) for org in Organization.objects.filter(pk__in=chunk))

    def ordered(self) -> list[ImportRow]:
        return self.plan.rows

    def write(self, row: ImportRow) -> "Written":
        wanted = [self.orgs[pk] for pk in row.cleaned["org_ids"] or ()]
        username = row.cleaned["fields"].get("username", "")
        if row.action == CREATE:
            account = services.account_create(
                self.actor, organizations=wanted, **row.cleaned["fields"]
            )
            self.journal.append({"op": "account_created", "pk": account.pk})
            return Written(row, account.pk, username, CREATE)
        if row.action == UNCHANGED:
            return Written(row, row.target.pk, username, UNCHANGED)
        account = Account.objects.get(pk=row.target.pk)  # fresh: others may have written
        if row.cleaned["changed"]:
            before = _jsonable({k: getattr(account, k) for k in row.cleaned["changed"]})
            self.journal.append({"op": "account_changed", "pk": account.pk, "before": before})
            account = services.account_update(self.actor, account, **row.cleaned["changed"])
        if row.cleaned["replace_memberships"]:
            current = _memberships_of_account(account)
            before = [[m.organization_id, m.is_primary, m.order] for m in current]
            self.journal.append({"op": "memberships", "pk": account.pk, "before": before})
            _replace_memberships(self.actor, account, wanted, current)
        return Written(row, account.pk, username, UPDATE)


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in values.items()}


def _memberships_of_account(account: Account) -> list[Membership]:
    """The account's memberships, primary first."""
    return list(Membership.objects.filter(account=account).order_by("-is_primary", "order", "id"))


def _replace_memberships(
    actor: Any,
    account: Account,
    orgs: list[Organization],
    memberships: list[Membership] | None = None,
    *,
    orders: dict[int, int] | None = None,
) -> None:
    """Make ``orgs`` the account's memberships, the first one primary, through the services
    (``memberships``: the account's current ones, when the caller has just read them). An
    added membership takes its place in ``orgs`` as its order, or its order in ``orders``."""
    if memberships is None:
        memberships = _memberships_of_account(account)
    current = {m.organization_id: m for m in memberships}
    for position, org in enumerate(orgs):
        if org.pk not in current:
            current[org.pk] = services.membership_add(
                actor,
                account,
                org,
                primary=(position == 0),
                order=(orders or {}).get(org.pk, position),
            )
    if orgs and not current[orgs[0].pk].is_primary:
        services.membership_set_primary(actor, Membership.objects.get(pk=current[orgs[0].pk].pk))
    wanted = {org.pk for org in orgs}
    for org_id, membership in current.items():
        if org_id not in wanted:
            services.membership_remove(actor, Membership.objects.get(pk=membership.pk))


# --- the one path ----------------------------------------------------------------------------

_PLANNERS = {Kind.ORGANIZATIONS: plan_organizations, Kind.ACCOUNTS: plan_accounts}
_WRITERS = {Kind.ORGANIZATIONS: _OrganizationWriter, Kind.ACCOUNTS: _AccountWriter}


@dataclass
class Written:
    """What the upsert did with one row."""

    row: ImportRow
    pk: int
    key: str
    action: str


class UpsertRefused(Exception):
    """Rows were refused; nothing was written. ``errors`` name each row and column."""

    def __init__(self, errors: list[RowError], message: str = ""):
        self.errors = errors
        rows = len({error.row for error in errors})
        super().__init__(
            message or _("%(n)d row(s) have errors; nothing was written.") % {"n": rows}
        )


def plan_rows(kind: str, columns: list[str], rows: list[ImportRow]) -> ImportPlan:
    """Check ``rows`` against the directory as it is now and decide each one's action."""
    _PLANNERS[kind](rows)
    return ImportPlan(kind=kind, columns=columns, rows=rows)


# What a written row became, as the counts and the API's items name it.
PAST = {CREATE: "created", UPDATE: "updated", UNCHANGED: "unchanged"}


def counts_of(written: list[Written]) -> dict[str, int]:
    counts = dict.fromkeys(PAST.values(), 0)
    for item in written:
        counts[PAST[item.action]] += 1
    return counts


def writer(plan: ImportPlan, by: Any, journal: list[dict[str, Any]] | None = None) -> Any:
    """The writer of a valid ``plan`` acting as ``by``: ``ordered()`` rows, each written by
    ``write(row)``; what it creates and changes (with the values before) goes to ``journal``."""
    return _WRITERS[plan.kind](by, plan, journal if journal is not None else [])


@transaction.atomic
def upsert(
    actor: Any, kind: str, rows: list[ImportRow], *, action: str, obj: Any = None, **audit: Any
) -> list[Written]:
    """Create or update every row in one transaction: all or nothing; one audit entry.

    Raises UpsertRefused when a row does not validate or a service refuses one (its row and
    field named); nothing is written then. ``action``, ``obj`` and ``audit`` describe the
    audit entry (its counts are added).
    """
    require(actor, roles.CHANGE_DIRECTORY)
    plan = plan_rows(kind, list(COLUMNS[kind]), rows)
    if plan.bad_rows:
        raise UpsertRefused(plan.errors)
    rows_writer = writer(plan, actor)
    with audit_batch(actor, action, obj, **audit):
        return [write_row(rows_writer, row) for row in rows_writer.ordered()]


def write_row(rows_writer: Any, row: ImportRow) -> Written:
    """Write one row; a service's refusal becomes UpsertRefused naming the row and field."""
    try:
        return rows_writer.write(row)
    except ValidationError as exc:
        raise UpsertRefused(_refusal_errors(row, exc)) from exc
    except (DirectoryError, DatabaseError) as exc:
        raise UpsertRefused([RowError(row.number, "", str(exc))]) from exc


def _refusal_errors(row: ImportRow, exc: ValidationError) -> list[RowError]:
    if not hasattr(exc, "error_dict"):
        return [RowError(row.number, "", " ".join(exc.messages))]
    return [
        RowError(row.number, "" if name == "__all__" else name, message)
        for name, messages in exc.message_dict.items()
        for message in messages
    ]


# --- the API's items -------------------------------------------------------------------------

ITEM_FIELDS = {"parent_code": "parent"}  # a CSV column -> the API item's field, where they differ


def rows_from_items(kind: str, items: list[dict[str, Any]]) -> list[ImportRow]:
    """The API's items (typed values, absent keys kept) as rows of the one upsert path.

    Each value becomes the cell a CSV file would hold for it, so both are checked by the same
    rules with the same messages; a row's number is the item's index.
    """
    return [
        ImportRow(index, _item_cells(kind, item), place="index") for index, item in enumerate(items)
    ]


def _item_cells(kind: str, item: dict[str, Any]) -> dict[str, str]:
    cells: dict[str, str] = {}
    for name, value in item.items():
        column = "parent_code" if kind == Kind.ORGANIZATIONS and name == "parent" else name
        if column == "organizations" and value is not None:
            cells[column] = ORG_CODE_SEPARATORS[0].join(value)
        else:
            cells[column] = _as_cell(value)
    return cells


# --- undo ------------------------------------------------------------------------------------


def undo_entry(entry: dict[str, Any], by: Any) -> str:
    """Undo one journal entry of a writer, acting as ``by``; a refusal comes back as a
    sentence (the directory changed meanwhile), otherwise ""."""
    try:
        with transaction.atomic():
            _UNDO[entry["op"]](by, entry)
    except (ValidationError, DirectoryError, DatabaseError) as exc:
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        return f"{entry['op']} #{entry['pk']}: {text}"
    return ""


def _undo_org_created(actor: Any, entry: dict[str, Any]) -> None:
    org = Organization.objects.filter(pk=entry["pk"]).first()
    if org is not None:
        services.organization_delete(actor, org)


def _undo_org_changed(actor: Any, entry: dict[str, Any]) -> None:
    org = Organization.objects.filter(pk=entry["pk"]).first()
    if org is None:
        return
    before = entry["before"]
    if org.parent_id != before["parent_id"]:
        parent = Organization.objects.filter(pk=before["parent_id"]).first()
        org = services.organization_move(actor, org, parent)
    if (org.name, org.order) != (before["name"], before["order"]):
        services.organization_update(
            actor, org, name=before["name"], code=org.code, order=before["order"]
        )


def _undo_account_created(actor: Any, entry: dict[str, Any]) -> None:
    account = Account.objects.filter(pk=entry["pk"]).first()
    if account is not None:
        services.account_delete(actor, account)


def _undo_account_changed(actor: Any, entry: dict[str, Any]) -> None:
    account = Account.objects.filter(pk=entry["pk"]).first()
    if account is not None:
        services.account_update(actor, account, **entry["before"])


def _undo_memberships(actor: Any, entry: dict[str, Any]) -> None:
    account = Account.objects.filter(pk=entry["pk"]).first()
    if account is None:
        return
    orgs = Organization.objects.in_bulk([org_id for org_id, _primary, _order in entry["before"]])
    wanted = [orgs[org_id] for org_id, _p, _o in entry["before"] if org_id in orgs]
    orders = {org_id: order for org_id, _primary, order in entry["before"]}
    _replace_memberships(actor, account, wanted, orders=orders)


_UNDO = {
    "org_created": _undo_org_created,
    "org_changed": _undo_org_changed,
    "account_created": _undo_account_created,
    "account_changed": _undo_account_changed,
    "memberships": _undo_memberships,
}
