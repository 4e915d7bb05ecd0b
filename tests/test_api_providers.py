"""The provider API: listed without secrets, verified against the sandbox, synced on demand."""

import pytest

from dtconsole.audit.models import AuditEntry
from dtconsole.providers.models import IdentityProvider
from dtconsole.sync.models import SyncJob
from tests.api_helpers import FAKE_APP, V1, make_user, offline_provider, results, token_client
from tests.factories import make_org, make_provider

pytestmark = pytest.mark.django_db


def test_providers_are_listed_and_shown_without_the_secret(staff):
    provider = offline_provider([(make_org("Company"), 1)])
    listed = results(staff.get(f"{V1}/providers/"))
    shown = staff.get(f"{V1}/providers/{provider.pk}/")
    assert shown.status_code == 200
    body = shown.json()
    assert listed == [body]
    assert body["has_secret"] is True and body["is_bound"] is True
    assert body["scopes"][0]["target_dept_id"] == 1
    assert not [key for key in body if "secret" in key and key != "has_secret"]
    assert FAKE_APP["app_secret"] not in shown.content.decode()
    assert provider.app_secret_encrypted not in shown.content.decode()


def test_verify_reports_ok_for_a_working_app_and_writes_the_audit_entry(staff, sandbox):
    provider = make_provider(sandbox, sandbox.app(), [(make_org("Company"), 1)])
    response = staff.post(f"{V1}/providers/{provider.pk}/verify/")
    assert response.status_code == 200, response.content
    assert response.json() == {"ok": True, "findings": []}
    assert AuditEntry.objects.filter(action="provider.verify", actor_name="admin").exists()


def test_verify_reports_findings_for_a_wrong_secret(staff, sandbox):
    app = sandbox.app()
    provider = make_provider(sandbox, {**app, "app_secret": "wrong-secret-0123456789"}, [])
    response = staff.post(f"{V1}/providers/{provider.pk}/verify/")
    body = response.json()
    assert response.status_code == 200 and body["ok"] is False
    assert body["findings"][0]["kind"] == "credentials"


def test_sync_queues_a_full_job_triggered_by_the_api(staff):
    provider = offline_provider([(make_org("Company"), 1)])
    response = staff.post(f"{V1}/providers/{provider.pk}/sync/", {"dry_run": True})
    assert response.status_code == 202, response.content
    job = SyncJob.objects.get(pk=response.json()["id"])
    assert (job.kind, job.trigger, job.dry_run, job.status) == ("full", "api", True, "queued")
    assert job.requested_by.username == "admin"
    assert AuditEntry.objects.filter(action="sync.enqueue").exists()


def test_sync_of_a_provider_still_in_the_wizard_answers_409(staff):
    provider = offline_provider(step=IdentityProvider.Step.SCENARIO)
    response = staff.post(f"{V1}/providers/{provider.pk}/sync/", {})
    assert response.status_code == 409
    assert "wizard" in response.json()["detail"]
    assert not SyncJob.objects.exists()


def test_a_viewer_cannot_verify_or_sync():
    provider = offline_provider()
    viewer = token_client(make_user("viewer"))
    assert viewer.get(f"{V1}/providers/{provider.pk}/").status_code == 200
    assert viewer.post(f"{V1}/providers/{provider.pk}/verify/").status_code == 403
    assert viewer.post(f"{V1}/providers/{provider.pk}/sync/", {}).status_code == 403


def test_providers_cannot_be_created_or_changed_through_the_api(staff):
    provider = offline_provider()
    assert staff.post(f"{V1}/providers/", {"name": "x"}).status_code == 405
    assert staff.patch(f"{V1}/providers/{provider.pk}/", {"name": "x"}).status_code == 405
