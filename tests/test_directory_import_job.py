"""The CSV import's commit as a background job: claimed once, written in short transactions,
undone completely when a row is refused, interleaving with other writers and syncs."""

import threading

import pytest

from dtconsole.access.services import SYSTEM
from dtconsole.audit.models import AuditEntry
from dtconsole.directory import imports, services
from dtconsole.directory.models import Account, ImportBatch, ImportUndo, Membership, Organization
from dtconsole.sync.models import PendingChange
from tests.api_helpers import offline_provider
from tests.factories import make_account, make_org
from tests.test_directory_import import (
    ACCOUNT_HEADER,
    ORG_HEADER,
    account_row,
    csv_bytes,
    upload_accounts,
    upload_orgs,
)

pytestmark = pytest.mark.django_db


def snapshot() -> tuple:
    """Every organisation, account and membership, as comparable values."""
    orgs = list(
        Organization.objects.order_by("pk").values_list(
            "pk", "name", "code", "parent", "order", "path"
        )
    )
    accounts = list(Account.objects.order_by("pk").values())
    for account in accounts:
        account.pop("updated_at", None)
    memberships = list(
        Membership.objects.order_by("account", "organization").values_list(
            "account", "organization", "is_primary", "order"
        )
    )
    return orgs, accounts, memberships


def run(batch: ImportBatch) -> ImportBatch:
    imports.import_commit(SYSTEM, batch)
    imports.import_run(batch.pk)
    batch.refresh_from_db()
    return batch


@pytest.fixture
def small_chunks(settings):
    settings.DIRECTORY_IMPORT_CHUNK_ROWS = 2
    settings.DIRECTORY_IMPORT_CHUNK_PAUSE = 0


@pytest.fixture
def directory():
    company = make_org("Company", code="co")
    rd = make_org("RD", parent=company, code="rd")
    sales = make_org("Sales", parent=company, code="sales")
    make_org("Field", parent=sales, code="field")
    make_account("ann", orgs=[rd], title="Engineer")
    bob = make_account("bob", orgs=[rd, sales])
    Membership.objects.filter(account=bob, organization=sales).update(order=7)
    return company


def refuse_username(monkeypatch, username: str) -> None:
    """A write refused in the middle of the import, as a clash with another writer is."""
    real_create = services.account_create

    def create(actor, **fields):
        if fields["username"] == username:
            raise services.DirectoryError("somebody took it meanwhile")
        return real_create(actor, **fields)

    monkeypatch.setattr(services, "account_create", create)


def test_a_refusal_in_a_later_chunk_undoes_every_chunk_so_the_directory_is_as_before(
    directory, small_chunks, monkeypatch
):
    batch = upload_accounts(
        account_row("ann", title="Lead", organizations="sales;rd"),
        account_row("bob", status="disabled", organizations="field"),
        account_row("cai", organizations="rd"),
        account_row("dan", organizations="sales"),
        account_row("eve"),
    )
    before = snapshot()
    refuse_username(monkeypatch, "eve")
    batch = run(batch)
    assert batch.status == ImportBatch.Status.FAILED
    assert "row 6: somebody took it meanwhile" in batch.summary["error"]
    assert "the directory is as before" in batch.summary["error"]
    assert snapshot() == before
    assert not ImportUndo.objects.exists()
    undo = AuditEntry.objects.get(action="directory.import_undo")
    assert not AuditEntry.objects.filter(action="directory.import").exists()
    assert undo.after["counts"]


def test_an_organisation_import_that_fails_late_undoes_its_moves_renames_and_creations(
    directory, small_chunks, monkeypatch
):
    batch = upload_orgs(
        ["sales", "Sales and Marketing", "rd", "1"],
        ["field", "Field", "co", "0"],
        ["new", "New", "rd", "0"],
        ["newer", "Newer", "new", "0"],
        ["last", "Last", "co", "0"],
    )
    before = snapshot()
    real_create = services.organization_create

    def create(actor, **fields):
        if fields["code"] == "last":
            raise services.DirectoryError("refused")
        return real_create(actor, **fields)

    monkeypatch.setattr(services, "organization_create", create)
    batch = run(batch)
    assert batch.status == ImportBatch.Status.FAILED, batch.summary
    assert snapshot() == before


def test_a_good_import_writes_every_chunk_records_pending_changes_and_one_audit_entry(
    directory, small_chunks
):
    provider = offline_provider(incremental_enabled=True)
    batch = run(
        upload_accounts(
            account_row("ann", organizations="sales"),
            *[account_row(f"new{i}", organizations="rd") for i in range(5)],
        )
    )
    assert batch.status == ImportBatch.Status.COMMITTED
    assert (batch.done, batch.total) == (6, 6)
    assert batch.summary == {"rows": 6, "created": 5, "updated": 1, "unchanged": 0}
    ids = set(Account.objects.values_list("pk", flat=True).exclude(username="bob"))
    pending = PendingChange.objects.filter(provider=provider, object_type="account")
    assert ids <= set(pending.values_list("object_id", flat=True))
    [entry] = AuditEntry.objects.filter(action="directory.import")
    assert entry.after["counts"]["account.create"] == 5
    assert not ImportUndo.objects.exists()


def test_a_second_hand_off_of_the_same_import_does_nothing():
    batch = upload_accounts(account_row("lilei"))
    imports.import_commit(SYSTEM, batch)
    with pytest.raises(imports.ImportRefused, match="being imported already"):
        imports.import_commit(SYSTEM, batch)
    imports.import_run(batch.pk)
    imports.import_run(batch.pk)  # the broker delivers it again
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.COMMITTED
    assert Account.objects.filter(username="lilei").count() == 1
    assert AuditEntry.objects.filter(action="directory.import").count() == 1


def test_the_preview_reads_the_check_stored_at_upload_not_the_directory_now():
    batch = upload_accounts(account_row("new", mobile="13800000001"), account_row("x", mobile="1"))
    assert batch.checked["counts"]["bad"] == 1
    rows = list(batch.checked_rows.values_list("number", "is_bad"))
    assert rows == [(3, True), (2, False)]  # bad rows first
    make_account("someone", mobile="13800000001")  # the stored check does not move
    assert batch.checked_rows.filter(is_bad=True).count() == 1


@pytest.mark.django_db(transaction=True)
def test_api_writes_during_a_running_import_never_fail_and_the_import_still_lands(staff, directory):
    """The import runs in a thread with its own connection to the file database, as a worker
    would; the API edits an account meanwhile. No "database is locked", all or nothing."""
    rows = [account_row(f"user{i:05d}", organizations="rd") for i in range(3000)]
    batch = imports.import_upload(
        SYSTEM, kind="accounts", filename="big.csv", data=csv_bytes(ACCOUNT_HEADER, rows)
    )
    imports.import_commit(SYSTEM, batch)
    ann = Account.objects.get(username="ann")
    worker = threading.Thread(target=_run_in_thread, args=(batch.pk,))
    worker.start()
    answers, edits = [], 0
    while worker.is_alive():
        edits += 1
        response = staff.patch(f"/api/v1/accounts/{ann.pk}/", {"title": f"T{edits}"}, format="json")
        answers.append(response.status_code)
    worker.join()
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.COMMITTED, batch.summary
    assert set(answers) == {200} and edits > 1
    assert Account.objects.filter(username__startswith="user").count() == 3000
    assert Account.objects.get(pk=ann.pk).title == f"T{edits}"


def _run_in_thread(batch_id: int) -> None:
    from django.db import connection

    try:
        imports.import_run(batch_id)
    finally:
        connection.close()


def test_org_header_is_shared():  # keeps the import helpers honest
    assert ORG_HEADER[0] == "code"


@pytest.mark.django_db(transaction=True)
def test_a_full_sync_during_a_running_import_succeeds(sandbox, directory):
    """A sync job and the import share SQLite's write lock between chunks; neither fails."""
    from dtconsole.sync import engine
    from dtconsole.sync.models import SyncJob
    from dtconsole.sync.services import sync_job_enqueue
    from tests.factories import make_provider

    for i in range(30):
        make_account(f"p{i:03d}", orgs=[Organization.objects.get(code="rd")])
    provider = make_provider(sandbox, sandbox.app(qps=50), [(directory, 1)], qps=50)
    rows = [account_row(f"user{i:05d}", organizations="sales") for i in range(2000)]
    batch = imports.import_upload(
        SYSTEM, kind="accounts", filename="big.csv", data=csv_bytes(ACCOUNT_HEADER, rows)
    )
    imports.import_commit(SYSTEM, batch)
    job = sync_job_enqueue(SYSTEM, provider, kind="full", trigger="manual")
    importer = threading.Thread(target=_run_in_thread, args=(batch.pk,))
    importer.start()
    engine.run_job(job.pk)
    importer.join()
    job.refresh_from_db()
    batch.refresh_from_db()
    assert job.status == SyncJob.Status.SUCCEEDED, job.error
    assert batch.status == ImportBatch.Status.COMMITTED, batch.summary
    assert batch.started_at < job.finished_at and job.started_at < batch.committed_at  # overlap


class _WorkerDied(BaseException):
    """Stands for the worker process dying mid-import (nothing catches it)."""


def test_an_import_whose_worker_died_is_undone_by_the_watchdog(
    directory, small_chunks, monkeypatch, settings
):
    batch = upload_accounts(*[account_row(f"new{i}", organizations="rd") for i in range(6)])
    before = snapshot()
    real_create = services.account_create

    def create(actor, **fields):
        if fields["username"] == "new4":
            raise _WorkerDied
        return real_create(actor, **fields)

    monkeypatch.setattr(services, "account_create", create)
    imports.import_commit(SYSTEM, batch)
    with pytest.raises(_WorkerDied):
        imports.import_run(batch.pk)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.RUNNING and batch.done == 4
    assert Account.objects.filter(username__startswith="new").count() == 4

    assert imports.recover_stale_imports() == []  # not stale yet
    settings.SYNC_STALE_SECONDS = -1
    assert imports.recover_stale_imports() == [batch.pk]
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.FAILED
    assert batch.summary["error"].startswith("The worker running this import stopped.")
    assert snapshot() == before
    assert imports.recover_stale_imports() == []


def test_the_outcome_of_an_import_is_written_in_the_language_of_who_started_it():
    from django.utils import translation

    from dtconsole.directory import tasks

    batch = upload_accounts(account_row("new", mobile="13800000001"))
    make_account("someone", mobile="13800000001")
    with translation.override("zh-hans"):
        imports.import_commit(SYSTEM, batch)  # an admin reading Chinese presses Import
    tasks.run_import(batch.pk, "zh-hans")  # what the worker is handed
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.FAILED
    assert "目录已发生变化" in batch.summary["error"], batch.summary


def test_an_import_whose_admin_lost_the_role_fails_saying_so_and_writes_nothing(admin_user):
    batch = upload_accounts(account_row("new", mobile="13800000001"))
    imports.import_commit(admin_user, batch)
    admin_user.is_active = False  # deactivated before a worker took the job
    admin_user.save()
    imports.import_run(batch.pk)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.FAILED
    assert (
        "admin, who started this import, may no longer change the directory"
        in (batch.summary["error"])
    )
    assert not Account.objects.filter(username="new").exists()
