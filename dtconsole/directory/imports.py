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
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dtconsole.access import roles
from dtconsole.access.services import require
from dtconsole.audit.services import audit_batch

from . import upsert
from .models import ImportBatch
from .upsert import (  # noqa: F401 (the import's vocabulary, used by its pages)
    ACTION_LABELS,
    COLUMNS,
    CREATE,
    REQUIRED,
    UNCHANGED,
    UPDATE,
    ImportPlan,
    ImportRow,
    RowError,
    UpsertRefused,
)

Kind = ImportBatch.Kind


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


class ImportRefused(Exception):
    """The commit was refused before anything was written (bad rows, already committed)."""


class ImportFailed(Exception):
    """A write failed during the commit; everything was rolled back."""


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


# --- the three steps -------------------------------------------------------------------------


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
    return upsert.plan_rows(batch.kind, columns, rows)


def import_commit(actor: Any, batch: ImportBatch) -> dict[str, int]:
    """Write every row of ``batch`` through the one upsert path in one transaction.

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
                rows_writer = upsert.writer(plan, actor)
                written = [upsert.write_row(rows_writer, row) for row in rows_writer.ordered()]
            counts = upsert.counts_of(written)
            batch.summary = {"rows": len(plan.rows), **counts}
            batch.save(update_fields=["summary"])
    except UpsertRefused as exc:
        message = " ".join(str(error) for error in exc.errors)
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=ImportBatch.Status.FAILED, summary={"error": message}
        )
        batch.refresh_from_db()
        raise ImportFailed(message) from exc
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
