"""CSV import of organisations and accounts: decode, check every row once, commit as a job.

The steps, each a named service the pages and the API call:

- ``import_upload`` decodes the file (UTF-8 with or without BOM, else GB18030), checks the
  header and the row count, checks every row against the directory through the one upsert
  path (``dtconsole.directory.upsert``: the same rules and messages as the API bulk upsert)
  and stores the batch with that check, row by row (``ImportCheckedRow``), and what the import
  would remove from DingTalk per provider. The preview pages page through the stored check.
- ``import_commit`` hands the batch to a django-q2 job (``import_run``) and returns at once.
- ``import_run`` checks the file again (the directory may have changed since the upload),
  then writes the rows through the upsert path in short transactions, recording what each
  changed; if a row is refused, everything written is undone from that record: all or
  nothing, without holding SQLite's write lock for the whole file.

Row numbers are the spreadsheet's: the header is row 1, the first data row is row 2.
"""

import codecs
import csv
import io
import logging
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dtconsole.access import roles
from dtconsole.access.services import SYSTEM, AccessDenied, require
from dtconsole.audit.services import audit_batch, audit_record
from dtconsole.providers.models import IdentityProvider
from dtconsole.sync import consequences

from . import upsert
from .models import Account, ImportBatch, ImportCheckedRow, ImportUndo
from .upsert import (  # noqa: F401 (the import's vocabulary, used by its pages)
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
log = logging.getLogger(__name__)


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


# --- upload: decode, check once, store ------------------------------------------------------

_STORE_BATCH = 1000


def import_upload(actor: Any, *, kind: str, filename: str, data: bytes) -> ImportBatch:
    """Store an uploaded CSV file as a batch with its check; file-level problems raise
    ValidationError.

    Every row is checked here, once: the preview pages page through the stored result. For
    a file without errors, what the import would remove from DingTalk is computed too.
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
    columns, rows = parse_csv(text, kind)
    plan = upsert.plan_rows(kind, columns, rows)
    found = _consequences(actor, plan) if plan.is_valid else []
    with transaction.atomic():
        batch = ImportBatch.objects.create(
            uploaded_by=actor if getattr(actor, "pk", None) else None,
            kind=kind,
            filename=filename[:255],
            content=text,
            row_count=len(rows),
            summary={"rows": len(rows)},
            consequences=found,
        )
        _store_check(batch, plan, _errors_in_each_language(kind, text, plan))
        audit_record(
            actor,
            "directory.import_upload",
            batch,
            after={"kind": kind, "filename": batch.filename, "row_count": len(rows)},
            object_repr=batch.filename,
        )
    return batch


def _label(batch: ImportBatch) -> str:
    """The batch as its audit entries name it: the file name (the kind is recorded as a
    field, shown in the reader's language)."""
    return batch.filename or f"#{batch.pk}"


def _errors_in_each_language(
    kind: str, text: str, plan: ImportPlan
) -> dict[int, dict[str, list[str]]]:
    """Row number -> language -> the row's messages, in every language the console speaks,
    so that each reader of the stored check reads them in theirs. Only a file with bad rows
    is checked again, once per other language."""
    current = translation.get_language() or settings.LANGUAGE_CODE
    found = {row.number: {current: [str(e) for e in row.errors]} for row in plan.bad_rows}
    if not found:
        return {}
    for code, _name in settings.LANGUAGES:
        if code == current:
            continue
        with translation.override(code):
            columns, rows = parse_csv(text, kind)
            for row in upsert.plan_rows(kind, columns, rows).bad_rows:
                found.setdefault(row.number, {})[code] = [str(e) for e in row.errors]
    return found


def _store_check(
    batch: ImportBatch, plan: ImportPlan, errors: dict[int, dict[str, list[str]]]
) -> None:
    """The plan's rows, bad ones first, as the preview pages read them."""
    batch.checked = {"columns": plan.columns, "counts": plan.counts()}
    batch.save(update_fields=["checked"])
    ImportCheckedRow.objects.bulk_create(
        (
            ImportCheckedRow(
                batch=batch,
                position=position,
                number=row.number,
                action=row.action,
                is_bad=row.is_bad,
                cells=row.cells,
                changes=row.changes,
                errors=errors.get(row.number, {}),
            )
            for position, row in enumerate(plan.rows_bad_first())
        ),
        batch_size=_STORE_BATCH,
    )


def _consequences(actor: Any, plan: ImportPlan) -> list[dict[str, Any]]:
    """What committing ``plan`` would remove from DingTalk, per bound provider, stored as
    texts to render in the reader's language. Only rows that can remove anything are tried
    (inside a rolled-back transaction): a disabled account, replaced memberships, a move."""
    removing = _rows_that_may_remove(plan)
    bound = IdentityProvider.objects.filter(step=IdentityProvider.Step.DONE)
    if not removing.rows or not bound.exists():
        return []

    def change() -> None:
        with audit_batch(actor, "directory.import", None):  # rolled back with the rest
            rows_writer = upsert.writer(removing, actor)
            for row in rows_writer.ordered():
                upsert.write_row(rows_writer, row)

    try:
        found = consequences.preview(change)
    except UpsertRefused:
        return []  # the commit will say why; nothing to predict
    return [c.as_dict(stored_texts=True) for c in found]


def _rows_that_may_remove(plan: ImportPlan) -> ImportPlan:
    if plan.kind == Kind.ORGANIZATIONS:
        # Only a move can take an organisation (and its members) out of a scope.
        moves = any(row.action == UPDATE and row.cleaned.get("moved") for row in plan.rows)
        return plan if moves else ImportPlan(plan.kind, plan.columns, [])
    disabled = Account.Status.DISABLED
    rows = [
        row
        for row in plan.rows
        if row.action == UPDATE
        and (row.cleaned["changed"].get("status") == disabled or row.cleaned["replace_memberships"])
    ]
    return ImportPlan(plan.kind, plan.columns, rows)


def import_consequences(batch: ImportBatch) -> list[consequences.StoredConsequence]:
    """What ``batch`` would remove from DingTalk, as found at upload."""
    return [consequences.StoredConsequence(c) for c in batch.consequences]


def import_consequences_as_dicts(batch: ImportBatch) -> list[dict[str, Any]]:
    """The same in the API's shape (``Consequence.as_dict``), in the active language."""
    return [c.as_dict() for c in import_consequences(batch)]


def import_checked(batch: ImportBatch) -> ImportBatch:
    """``batch`` with its stored check (a batch uploaded before checks were stored is
    checked now, once)."""
    if not batch.checked:
        plan = import_preview(batch)
        with transaction.atomic():
            _store_check(batch, plan, _errors_in_each_language(batch.kind, batch.content, plan))
    return batch


def import_preview(batch: ImportBatch) -> ImportPlan:
    """Every row of ``batch`` checked against the directory as it is now. Writes nothing."""
    columns, rows = parse_csv(batch.content, batch.kind)
    return upsert.plan_rows(batch.kind, columns, rows)


# --- commit: a background job ----------------------------------------------------------------


def import_commit(actor: Any, batch: ImportBatch) -> ImportBatch:
    """Queue the import of ``batch`` as a background job (``import_run``); returns at once.

    Raises ImportRefused when the stored check found bad rows, or when the batch is already
    imported or being imported: one conditional status change hands it over, so a second
    commit, even a concurrent one, is refused.
    """
    require(actor, roles.CHANGE_DIRECTORY)
    bad = (batch.checked.get("counts") or {}).get("bad", 0)
    if bad:
        raise ImportRefused(_bad_rows(bad))
    with transaction.atomic():
        queued = ImportBatch.objects.filter(
            pk=batch.pk, status__in=[ImportBatch.Status.PREVIEWED, ImportBatch.Status.FAILED]
        ).update(
            status=ImportBatch.Status.QUEUED,
            committed_by=actor if getattr(actor, "pk", None) else None,
            queued_at=timezone.now(),
            done=0,
        )
        if not queued:
            batch.refresh_from_db()
            if batch.status == ImportBatch.Status.COMMITTED:
                raise ImportRefused(
                    _("This file was already imported; it cannot be imported twice.")
                )
            raise ImportRefused(_("This file is being imported already."))
        audit_record(
            actor,
            "directory.import_start",
            batch,
            after={"row_count": batch.row_count},
            object_repr=batch.filename,
        )
        transaction.on_commit(lambda: dispatch(batch.pk))
    batch.refresh_from_db()
    return batch


def dispatch(batch_id: int) -> None:
    """Hand an import to the django-q2 broker, with the language of the admin who started it
    (the job's outcome sentence is written in it)."""
    from django_q.tasks import async_task

    language = translation.get_language() or settings.LANGUAGE_CODE
    async_task(
        "dtconsole.directory.tasks.run_import",
        batch_id,
        language,
        task_name=f"import-{batch_id}",
    )


def _bad_rows(n: int) -> str:
    return _("%(n)d row(s) have errors. Nothing was written: fix the file and upload it again.") % {
        "n": n
    }


def import_run(batch_id: int) -> None:
    """The job: check again, then write in short transactions, all or nothing.

    Claimed by one conditional status change (queued → running): a second hand-off of the
    same batch does nothing. Rows are written a chunk per transaction
    (DIRECTORY_IMPORT_CHUNK_ROWS) so other writers (the API, the pages, sync jobs) interleave,
    with a pause between chunks; each chunk records what it changed with the
    values before. If any row is refused, every chunk already written is undone from that
    record, in reverse, and the batch is marked failed with a sentence saying what to do.
    """
    batch = _claim(batch_id)
    if batch is None:
        return
    actor = batch.committed_by or SYSTEM
    try:
        # The admin who pressed Import may have lost the role (or been deactivated) since.
        require(actor, roles.CHANGE_DIRECTORY)
        plan = _valid_plan(batch)
    except AccessDenied as exc:
        _fail(batch, _no_longer_allowed(actor, exc))
        return
    except ImportRefused as exc:
        _fail(batch, str(exc))
        return
    label = _label(batch)
    try:
        with audit_batch(actor, "directory.import", batch, label=label, rows=len(plan.rows)):
            written = _write_in_chunks(actor, batch, plan)
    except (UpsertRefused, AccessDenied) as exc:
        if isinstance(exc, AccessDenied):
            reason = _no_longer_allowed(actor, exc)
        else:
            reason = " ".join(str(error) for error in exc.errors)
        # Undoing keeps the import all or nothing: the system does it, whoever started it.
        _fail(batch, _after_undo(batch, reason, _undo(SYSTEM, batch, label)))
        return
    except _Abandoned:
        log.warning("import %s was taken over by the watchdog; stopped", batch.pk)
        return
    counts = upsert.counts_of(written)
    ImportUndo.objects.filter(batch=batch).delete()
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportBatch.Status.COMMITTED,
        committed_at=timezone.now(),
        summary={"rows": len(plan.rows), **counts},
        done=len(plan.rows),
    )


def _claim(batch_id: int) -> ImportBatch | None:
    now = timezone.now()
    claimed = ImportBatch.objects.filter(pk=batch_id, status=ImportBatch.Status.QUEUED).update(
        status=ImportBatch.Status.RUNNING, started_at=now, heartbeat_at=now, done=0
    )
    if not claimed:
        log.info("import %s was handed over again but is not queued: nothing to do", batch_id)
        return None
    return ImportBatch.objects.select_related("committed_by").get(pk=batch_id)


def _valid_plan(batch: ImportBatch) -> ImportPlan:
    """The batch checked again: the directory may have changed since the upload."""
    try:
        plan = import_preview(batch)
    except ValidationError as exc:
        raise ImportRefused(" ".join(exc.messages)) from exc
    if not plan.is_valid:
        first = plan.errors[0]
        raise ImportRefused(
            _bad_rows(len(plan.bad_rows))
            + " "
            + _("The directory changed since the upload; the first: %(error)s") % {"error": first}
        )
    return plan


def _write_in_chunks(actor: Any, batch: ImportBatch, plan: ImportPlan) -> list[upsert.Written]:
    """Every row, a chunk per transaction: at most DIRECTORY_IMPORT_CHUNK_ROWS rows and about
    DIRECTORY_IMPORT_CHUNK_SECONDS long, so no other writer waits longer than that."""
    journal: list[dict[str, Any]] = []
    rows_writer = upsert.writer(plan, actor, journal)
    ordered = rows_writer.ordered()
    written: list[upsert.Written] = []
    while len(written) < len(ordered):
        if written:
            time.sleep(settings.DIRECTORY_IMPORT_CHUNK_PAUSE)  # let waiting writers in
        rest = ordered[len(written) : len(written) + settings.DIRECTORY_IMPORT_CHUNK_ROWS]
        deadline = time.monotonic() + settings.DIRECTORY_IMPORT_CHUNK_SECONDS
        with transaction.atomic():
            journal.clear()
            done = []
            for row in rest:
                done.append(upsert.write_row(rows_writer, row))
                if time.monotonic() > deadline:
                    break
            ImportUndo.objects.bulk_create(ImportUndo(batch=batch, entry=e) for e in journal)
            _progress(batch, len(written) + len(done))
        written += done
    return written


class _Abandoned(Exception):
    """The batch is no longer running here (the watchdog took it over): stop writing."""


def _progress(batch: ImportBatch, done: int) -> None:
    """Count the rows written, inside the chunk's transaction: if the batch is no longer
    running (the watchdog found it stale and undid it), the chunk rolls back."""
    moved = ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.RUNNING).update(
        done=done, heartbeat_at=timezone.now()
    )
    if not moved:
        raise _Abandoned


def recover_stale_imports() -> list[int]:
    """Undo the imports whose worker died mid-run (no progress for SYNC_STALE_SECONDS) and
    mark them failed; called by the watchdog. One conditional update claims each batch."""
    cutoff = timezone.now() - timedelta(seconds=settings.SYNC_STALE_SECONDS)
    recovered = []
    stale = ImportBatch.objects.filter(status=ImportBatch.Status.RUNNING, heartbeat_at__lt=cutoff)
    for batch in stale.select_related("committed_by").defer("content"):
        claimed = ImportBatch.objects.filter(
            pk=batch.pk, status=ImportBatch.Status.RUNNING, heartbeat_at=batch.heartbeat_at
        ).update(status=ImportBatch.Status.FAILED, summary={"error": ""})
        if not claimed:
            continue
        reason = _("The worker running this import stopped.")
        problems = _undo(SYSTEM, batch, _label(batch))
        _fail(batch, _after_undo(batch, reason, problems))
        recovered.append(batch.pk)
    return recovered


def _no_longer_allowed(actor: Any, exc: AccessDenied) -> str:
    return _(
        "%(user)s, who started this import, may no longer change the directory (it needs the "
        "%(role)s role). An administrator can start the import again from this page."
    ) % {"user": getattr(actor, "username", str(actor)), "role": exc.role.label}


def _fail(batch: ImportBatch, message: str) -> None:
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportBatch.Status.FAILED, summary={"error": message}, done=0
    )


def _after_undo(batch: ImportBatch, reason: str, problems: list[str]) -> str:
    if not problems:
        return _(
            "%(reason)s Everything the import had written was undone: the directory is as "
            "before. Fix that row in the file and upload it again."
        ) % {"reason": reason}
    return _(
        "%(reason)s Undoing what the import had written left %(n)d change(s) in place, "
        "because the directory changed meanwhile: %(problems)s Check these objects."
    ) % {"reason": reason, "n": len(problems), "problems": " ".join(problems)}


# --- undo ------------------------------------------------------------------------------------


def _undo(actor: Any, batch: ImportBatch, label: str) -> list[str]:
    """Replay the batch's undo record in reverse, a chunk per transaction; what could not
    be undone comes back as sentences. One audit entry records the undo and its counts."""
    problems: list[str] = []
    ids = list(ImportUndo.objects.filter(batch=batch).order_by("-id").values_list("id", flat=True))
    with audit_batch(actor, "directory.import_undo", batch, label=label):
        size = settings.DIRECTORY_IMPORT_CHUNK_ROWS
        for start in range(0, len(ids), size):
            if start:
                time.sleep(settings.DIRECTORY_IMPORT_CHUNK_PAUSE)
            entries = ImportUndo.objects.filter(pk__in=ids[start : start + size])
            with transaction.atomic():
                for undo in sorted(entries, key=lambda u: -u.pk):
                    problem = upsert.undo_entry(undo.entry, actor)
                    if problem:
                        problems.append(problem)
                entries.delete()
    return problems
