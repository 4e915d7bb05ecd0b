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


def test_providers_cannot_be_created_through_the_api(staff):
    assert staff.post(f"{V1}/providers/", {"name": "x"}).status_code == 405


# --- sync settings ---------------------------------------------------------------------------


def test_an_administrator_changes_the_sync_settings_with_patch(staff):
    provider = offline_provider()
    body = {"delete_policy": "unlink", "qps": 20, "protect_adopted": True}
    response = staff.patch(f"{V1}/providers/{provider.pk}/", body)
    assert response.status_code == 200, response.content
    shown = response.json()
    assert (shown["delete_policy"], shown["qps"], shown["protect_adopted"]) == ("unlink", 20, True)
    assert shown["deletion_threshold_count"] == 50 and shown["deletion_window_hours"] == 24
    provider.refresh_from_db()
    assert (provider.delete_policy, provider.qps, provider.protect_adopted) == ("unlink", 20, True)
    entry = AuditEntry.objects.get(action="provider.update_settings")
    assert entry.actor_name == "admin"
    assert entry.before["delete_policy"] == "Delete in DingTalk"
    assert entry.after["delete_policy"] == "Keep in DingTalk, stop managing"
    assert (entry.before["protect_adopted"], entry.after["protect_adopted"]) == ("off", "on")


@pytest.mark.parametrize(
    "field,value",
    [
        ("qps", 61),
        ("qps", 0),
        ("deletion_threshold_percent", 101),
        ("deletion_window_hours", 0),
        ("delete_policy", "shred"),
        ("full_sync_interval_hours", -1),
    ],
)
def test_settings_out_of_range_are_refused_naming_the_field(staff, field, value):
    provider = offline_provider()
    response = staff.patch(f"{V1}/providers/{provider.pk}/", {field: value})
    assert response.status_code == 400 and field in response.json()
    assert not AuditEntry.objects.filter(action="provider.update_settings").exists()


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_viewers_and_operators_cannot_change_the_sync_settings(role):
    provider = offline_provider()
    client = token_client(make_user(role, role))
    response = client.patch(f"{V1}/providers/{provider.pk}/", {"qps": 20})
    assert response.status_code == 403 and response.json()["required_role"] == "administrator"
    provider.refresh_from_db()
    assert provider.qps == 60
    assert not AuditEntry.objects.filter(action="provider.update_settings").exists()
