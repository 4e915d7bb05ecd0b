"""The CSV import in the API: upload (checked and stored), paged rows, commit as a job, status."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dtconsole.audit.models import AuditEntry
from dtconsole.directory import imports
from dtconsole.directory.models import Account, ImportBatch
from tests.api_helpers import V1, make_user, results, token_client

pytestmark = pytest.mark.django_db

GOOD = "username,display_name,mobile\nann,Ann,13800000001\nbob,Bob,13800000002\n"


def upload(client, text: str, kind: str = "accounts"):
    file = SimpleUploadedFile("people.csv", text.encode(), content_type="text/csv")
    return client.post(f"{V1}/imports/", {"kind": kind, "file": file}, format="multipart")


def test_an_upload_answers_the_stored_check_and_imports_nothing(staff):
    response = upload(staff, GOOD + "carl,Carl,123\n")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "previewed" and body["consequences"] == []
    assert body["counts"] == {"rows": 3, "create": 2, "update": 0, "unchanged": 0, "bad": 1}
    assert not Account.objects.exists()
    assert AuditEntry.objects.filter(action="directory.import_upload").count() == 1


def test_the_rows_are_paged_from_the_stored_check_bad_rows_first(staff):
    batch = upload(staff, GOOD + "carl,Carl,123\n").json()
    rows = results(staff.get(f"{V1}/imports/{batch['id']}/rows/"))
    assert [(r["number"], r["is_bad"]) for r in rows] == [(4, True), (2, False), (3, False)]
    assert rows[0]["errors"][0].startswith("row 4, mobile:")
    bad = results(staff.get(f"{V1}/imports/{batch['id']}/rows/", {"bad": "true"}))
    assert [r["number"] for r in bad] == [4]


def test_a_file_level_problem_answers_400_on_the_file(staff):
    response = upload(staff, "username,colour\nann,red\n")
    assert response.status_code == 400
    assert "Unknown column(s): “colour”" in response.json()["file"][0]
    assert not ImportBatch.objects.exists()


def test_commit_starts_the_job_and_the_batch_reports_its_progress_and_result(staff):
    batch = upload(staff, GOOD).json()
    response = staff.post(f"{V1}/imports/{batch['id']}/commit/")
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "queued" and response.json()["total"] == 2
    assert not Account.objects.exists()
    imports.import_run(batch["id"])  # what the worker does
    done = staff.get(f"{V1}/imports/{batch['id']}/").json()
    assert done["status"] == "committed" and (done["done"], done["total"]) == (2, 2)
    assert done["summary"] == {"rows": 2, "created": 2, "updated": 0, "unchanged": 0}
    assert Account.objects.count() == 2
    again = staff.post(f"{V1}/imports/{batch['id']}/commit/")
    assert again.status_code == 409 and "already imported" in again.json()["detail"]
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"directory.import_upload", "directory.import_start", "directory.import"} <= actions


def test_a_file_with_bad_rows_cannot_be_committed(staff):
    batch = upload(staff, GOOD + "carl,Carl,123\n").json()
    response = staff.post(f"{V1}/imports/{batch['id']}/commit/")
    assert response.status_code == 409
    assert "1 row(s) have errors" in response.json()["detail"]


def test_a_dry_run_commit_answers_the_consequences_and_starts_nothing(staff):
    batch = upload(staff, GOOD).json()
    response = staff.post(f"{V1}/imports/{batch['id']}/commit/?dry_run=true")
    assert response.status_code == 200
    assert response.json() == {"dry_run": True, "consequences": []}
    assert ImportBatch.objects.get().status == "previewed"


def test_a_viewer_reads_imports_but_cannot_upload_or_commit(staff):
    batch = upload(staff, GOOD).json()
    viewer = token_client(make_user("vera", "viewer"))
    assert viewer.get(f"{V1}/imports/{batch['id']}/").status_code == 200
    assert upload(viewer, GOOD).status_code == 403
    assert viewer.post(f"{V1}/imports/{batch['id']}/commit/").status_code == 403
