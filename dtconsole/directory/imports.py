"""CSV import of organisations and accounts: decode, parse, validate every row, commit.

Three steps, each a named service the pages call:

- ``import_upload`` decodes the file (UTF-8 with or without BOM, else GB18030), checks the
  header and the row count, and stores the text in an ``ImportBatch``. Nothing else is written.
- ``import_preview`` validates every row against the current directory and returns an
  ``ImportPlan``: each row with its action (create, update, unchanged) and all its errors, each
  naming the row and the column. Rows are checked with the models' own rules (``full_clean`` on
  unsaved instances) and with the cross-row rules no single row can see: duplicates within the
  file, clashes with existing accounts, unknown organisation codes, parent cycles, sibling names.
- ``import_commit`` validates again (the directory may have changed since the preview) and then
  writes every row through ``dtconsole.directory.services`` in one transaction: all or nothing.

Lookups against the directory are preloaded in bulk (chunked ``__in`` queries), never one query
per row, so a file of 10,000 accounts previews in about a second.

Row numbers are the spreadsheet's: the header is row 1, the first data row is row 2.
"""

import codecs
import csv
import io
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

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

# The columns as the import page explains them: (column, required, explanation).
COLUMN_HELP = {
    Kind.ORGANIZATIONS: [
        ("code", True, gettext_lazy("Stable identifier; an existing code updates that one.")),
        ("name", True, gettext_lazy("Unique among siblings; no “-”, “,” or “，”.")),
        (
            "parent_code",
            False,
            gettext_lazy("Code of the parent, in this file or in the directory; empty = root."),
        ),
        ("order", False, gettext_lazy("Integer, smaller sorts first; empty = 0.")),
    ],
    Kind.ACCOUNTS: [
        ("username", True, gettext_lazy("DingTalk userid; an existing username updates it.")),
        ("display_name", True, gettext_lazy("The person's name.")),
        (
            "mobile",
            False,
            gettext_lazy(
                "13800138000 (+86, spaces and hyphens are removed), or +852-61234567 for other "
                "regions; unique among accounts in any spelling."
            ),
        ),
        ("email", False, gettext_lazy("Unique among accounts.")),
        ("job_number", False, gettext_lazy("Employee number, up to 50 characters.")),
        ("title", False, gettext_lazy("Job title.")),
        ("work_place", False, gettext_lazy("Office or city.")),
        ("hired_date", False, gettext_lazy("YYYY-MM-DD.")),
        (
            "status",
            False,
            gettext_lazy("active or disabled; empty = active (an update keeps the status)."),
        ),
        (
            "organizations",
            False,
            gettext_lazy(
                "Organisation codes separated by “;”, the first is primary. On an update, a "
                "non-empty cell replaces the memberships and an empty one keeps them."
            ),
        ),
        (
            "extra",
            False,
            gettext_lazy('JSON object, e.g. {"cost_center": "R&D"}; empty keeps it on update.'),
        ),
    ],
}

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"
ACTION_LABELS = {
    CREATE: gettext_lazy("create"),
    UPDATE: gettext_lazy("update"),
    UNCHANGED: gettext_lazy("unchanged"),
}
_IN_CHUNK = 900  # SQLite allows 999 parameters per query.


class ImportRefused(Exception):
    """The commit was refused before anything was written (bad rows, already committed)."""


class ImportFailed(Exception):
    """A write failed during the commit; everything was rolled back."""


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

    @property
    def action_label(self) -> str:
        return str(ACTION_LABELS.get(self.action, ""))


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


# --- decoding and parsing --------------------------------------------------------------------


def decode_csv(data: bytes) -> str:
    """Text of an uploaded file: UTF-8 (a BOM is dropped), else GB18030 (Chinese Excel)."""
    if data.startswith(b"PK\x03\x04"):
        raise ValidationError(
            _("This is an Excel workbook, not a CSV file. In Excel choose Save As → “CSV UTF-8”.")
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4096]:
        raise ValidationError(
            _("This file is UTF-16 or binary. Save it as “CSV UTF-8” and upload it again.")
        )
    # A BOM says UTF-8 for sure; without one, a failed UTF-8 decode means a Chinese ANSI file.
    encodings = ("utf-8-sig",) if data.startswith(codecs.BOM_UTF8) else ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError(_("The file is neither UTF-8 nor GB18030 text. Save it as “CSV UTF-8”."))


def parse_csv(text: str, kind: str) -> tuple[list[str], list[ImportRow]]:
    """Header columns and data rows of ``text``; file-level problems raise ValidationError."""
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ValidationError(_("The file is not valid CSV: %(error)s") % {"error": exc}) from exc
    if not records or not any(cell.strip() for cell in records[0]):
        raise ValidationError(_("The file is empty: the first line must name the columns."))
    columns = _check_header(records[0], kind)
    rows = [
        _make_row(number, record, columns)
        for number, record in enumerate(records[1:], start=2)
        if any(cell.strip() for cell in record)
    ]
    _check_row_count(len(rows))
    return columns, rows


def _check_header(header: list[str], kind: str) -> list[str]:
    columns = [cell.strip().lower() for cell in header]
    while columns and not columns[-1]:
        columns.pop()  # spreadsheets often save empty trailing columns
    allowed, required = COLUMNS[kind], REQUIRED[kind]
    unknown = [f"“{c}”" if c else _("an unnamed column") for c in columns if c not in allowed]
    if unknown:
        raise ValidationError(
            _("Unknown column(s): %(unknown)s. The columns of this kind are: %(allowed)s.")
            % {"unknown": ", ".join(unknown), "allowed": ", ".join(allowed)}
        )
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise ValidationError(
            _("Column(s) appear twice: %(columns)s.") % {"columns": ", ".join(repeated)}
        )
    missing = [c for c in required if c not in columns]
    if missing:
        raise ValidationError(
            _("Missing required column(s): %(missing)s. The first line must name them.")
            % {"missing": ", ".join(missing)}
        )
    return columns


def _make_row(number: int, record: list[str], columns: list[str]) -> ImportRow:
    # A short record means empty cells at the end (spreadsheets drop trailing separators).
    cells = [cell.strip() for cell in record[: len(columns)]]
    cells += [""] * (len(columns) - len(cells))
    row = ImportRow(number, dict(zip(columns, cells, strict=True)))
    surplus = [cell for cell in record[len(columns) :] if cell.strip()]
    if surplus:
        row.add_error(
            "",
            _("%(n)d cell(s) more than the header names; quote values that contain commas.")
            % {"n": len(surplus)},
        )
    return row


def _check_row_count(count: int) -> None:
    limit = settings.DIRECTORY_IMPORT_MAX_ROWS
    if count > limit:
        raise ValidationError(
            _("The file has %(count)d rows; one import takes at most %(limit)d. Split the file.")
            % {"count": count, "limit": limit}
        )
    if count == 0:
        raise ValidationError(_("The file has a header but no data rows."))


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


def _required_values(row: ImportRow, kind: str) -> None:
    for column in REQUIRED[kind]:
        if not row.values.get(column):
            row.add_error(column, _("This field is required."))


def _once_in_file(row: ImportRow, column: str, value: str, seen: dict[str, int]) -> None:
    if not value:
        return
    first = seen.setdefault(value, row.number)
    if first != row.number:
        row.add_error(
            column, _("“%(value)s” is also on row %(first)d.") % {"value": value, "first": first}
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
            return _("row %(row)d") % {"row": row.number}
        return _("the existing organisation “%(org)s”") % {"org": self.label[key]}


def plan_organizations(rows: list[ImportRow]) -> None:
    """Check organisation rows and decide each one's action (in place, on ``rows``)."""
    tree, seen = _OrgTree.load(), {}
    for row in rows:
        _check_org_row(row, seen)
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


def _check_org_row(row: ImportRow, seen: dict[str, int]) -> None:
    _required_values(row, Kind.ORGANIZATIONS)
    values = row.values
    fields = {"name": values.get("name", ""), "code": values.get("code", "")}
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
    same = (name, order, old_parent) == (row.cleaned["name"], row.cleaned["order"], new_parent)
    return UNCHANGED if same else UPDATE


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


def _commit_organizations(actor: Any, plan: ImportPlan) -> dict[str, int]:
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    created: dict[Key, int] = {}
    for row in _parents_first(plan.rows):
        with _row_context(row):
            if row.action == UNCHANGED:
                counts["unchanged"] += 1
                continue
            parent = _org_for_key(row.cleaned["parent"], created)
            if row.action == CREATE:
                org = services.organization_create(
                    actor,
                    name=row.cleaned["name"],
                    parent=parent,
                    code=row.cleaned["code"],
                    order=row.cleaned["order"],
                )
                created[row.cleaned["key"]] = org.pk
                counts["created"] += 1
            else:
                _update_organization(actor, row, parent)
                counts["updated"] += 1
    return counts


def _update_organization(actor: Any, row: ImportRow, parent: Organization | None) -> None:
    org = Organization.objects.get(pk=row.target)
    if org.parent_id != (parent.pk if parent else None):
        org = services.organization_move(actor, org, parent)
    if (org.name, org.order) != (row.cleaned["name"], row.cleaned["order"]):
        services.organization_update(
            actor, org, name=row.cleaned["name"], code=org.code, order=row.cleaned["order"]
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
        )

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
    _required_values(row, Kind.ACCOUNTS)
    existing = lookups.accounts.get(row.values.get("username", ""))
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
        message = _("“%(value)s” is also on row %(first)d.")
    else:
        message = _("“%(value)s” is the same number as “%(other)s” on row %(first)d (%(normal)s).")
    params = {"value": typed, "other": first_typed, "first": first.number, "normal": normal}
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
    return UPDATE if changed or replace else UNCHANGED


def _commit_accounts(actor: Any, plan: ImportPlan) -> dict[str, int]:
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    org_ids = {pk for row in plan.rows for pk in row.cleaned["org_ids"] or ()}
    orgs: dict[int, Organization] = {}
    for chunk in _chunks(org_ids):
        orgs.update((org.pk, org) for org in Organization.objects.filter(pk__in=chunk))
    for row in plan.rows:
        wanted = [orgs[pk] for pk in row.cleaned["org_ids"] or ()]
        with _row_context(row):
            if row.action == CREATE:
                services.account_create(actor, organizations=wanted, **row.cleaned["fields"])
                counts["created"] += 1
            elif row.action == UPDATE:
                if row.cleaned["changed"]:
                    services.account_update(actor, row.target, **row.cleaned["changed"])
                if row.cleaned["replace_memberships"]:
                    _replace_memberships(actor, row.target, wanted)
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
    return counts


def _replace_memberships(actor: Any, account: Account, orgs: list[Organization]) -> None:
    """Make ``orgs`` the account's memberships, the first one primary, through the services."""
    current = {m.organization_id: m for m in Membership.objects.filter(account=account)}
    for position, org in enumerate(orgs):
        if org.pk not in current:
            current[org.pk] = services.membership_add(
                actor, account, org, primary=(position == 0), order=position
            )
    primary = current[orgs[0].pk]
    if not primary.is_primary:
        services.membership_set_primary(actor, primary)
    wanted = {org.pk for org in orgs}
    for org_id, membership in current.items():
        if org_id not in wanted:
            services.membership_remove(actor, membership)


# --- the three steps -------------------------------------------------------------------------

_PLANNERS = {Kind.ORGANIZATIONS: plan_organizations, Kind.ACCOUNTS: plan_accounts}
_COMMITTERS = {Kind.ORGANIZATIONS: _commit_organizations, Kind.ACCOUNTS: _commit_accounts}


def import_upload(actor: Any, *, kind: str, filename: str, data: bytes) -> ImportBatch:
    """Store an uploaded CSV file as a batch; file-level problems raise ValidationError.

    ``data`` may be cut at one byte over the size limit: more is never needed to refuse it.
    """
    require(actor, roles.CHANGE_DIRECTORY)
    if kind not in Kind.values:
        raise ValidationError(_("Choose whether the file holds organisations or accounts."))
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if len(data) > limit:
        raise ValidationError(
            _("The file is larger than %(limit)s, the most one import takes. Split the file.")
            % {"limit": filesizeformat(limit)}
        )
    text = decode_csv(data)
    _columns, rows = parse_csv(text, kind)
    return ImportBatch.objects.create(
        uploaded_by=actor if getattr(actor, "pk", None) else None,
        kind=kind,
        filename=filename[:255],
        content=text,
        row_count=len(rows),
        summary={"rows": len(rows)},
    )


def import_preview(batch: ImportBatch) -> ImportPlan:
    """Every row of ``batch`` checked against the directory as it is now. Writes nothing."""
    columns, rows = parse_csv(batch.content, batch.kind)
    _PLANNERS[batch.kind](rows)
    return ImportPlan(kind=batch.kind, columns=columns, rows=rows)


def import_commit(actor: Any, batch: ImportBatch) -> dict[str, int]:
    """Write every row of ``batch`` through the services in one transaction: all or nothing.

    Raises ImportRefused (nothing attempted: bad rows, already committed) or ImportFailed
    (a write failed, everything rolled back, the batch marked failed). One audit entry
    records the import and its counts.
    """
    require(actor, roles.CHANGE_DIRECTORY)
    try:
        with transaction.atomic():
            _claim(batch)
            plan = _valid_plan(batch)
            label = f"{batch.filename} ({batch.get_kind_display()})"
            with audit_batch(actor, "directory.import", batch, label=label, rows=len(plan.rows)):
                counts = _COMMITTERS[batch.kind](actor, plan)
            batch.summary = {"rows": len(plan.rows), **counts}
            batch.save(update_fields=["summary"])
    except ImportFailed as exc:
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=ImportBatch.Status.FAILED, summary={"error": str(exc)}
        )
        batch.refresh_from_db()
        raise
    batch.refresh_from_db()
    return counts


def _claim(batch: ImportBatch) -> None:
    """Mark the batch committed first: a second commit, even a concurrent one, finds it so.

    The mark is part of the transaction, so a failed commit takes it back.
    """
    claimed = (
        ImportBatch.objects.filter(pk=batch.pk)
        .exclude(status=ImportBatch.Status.COMMITTED)
        .update(status=ImportBatch.Status.COMMITTED, committed_at=timezone.now())
    )
    if not claimed:
        raise ImportRefused(_("This file was already imported; it cannot be imported twice."))


def _valid_plan(batch: ImportBatch) -> ImportPlan:
    try:
        plan = import_preview(batch)
    except ValidationError as exc:
        raise ImportRefused(" ".join(exc.messages)) from exc
    if not plan.is_valid:
        raise ImportRefused(
            _("%(n)d row(s) have errors. Nothing was written: fix the file and upload it again.")
            % {"n": len(plan.bad_rows)}
        )
    return plan


@contextmanager
def _row_context(row: ImportRow) -> Iterator[None]:
    """Turn a refused write into ImportFailed naming the row (the transaction rolls back)."""
    try:
        yield
    except ValidationError as exc:
        raise ImportFailed(str(RowError(row.number, "", " ".join(exc.messages)))) from exc
    except (DirectoryError, DatabaseError) as exc:
        raise ImportFailed(str(RowError(row.number, "", str(exc)))) from exc
