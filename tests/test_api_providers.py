"""The provider API: listed without secrets, verified against the sandbox, synced on demand."""

import pytest

from dtconsole.audit.models import AuditEntry
from dtconsole.providers.models import IdentityProvider
from dtconsole.providers.services import APPLICATION_FIELDS, SCENARIO_FIELDS, SETTINGS_FIELDS
from dtconsole.sync.models import SyncJob
from tests.api_helpers import (
    FAKE_APP,
    V1,
    if_match,
    make_user,
    offline_provider,
    results,
    token_client,
)
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


# --- creating and configuring a provider from a script --------------------------------------


def create_body(sandbox, app: dict, **overrides) -> dict:
    body = {
        "name": "Scripted DingTalk",
        "corp_id": app["corp_id"],
        "app_key": app["app_key"],
        "agent_id": app["agent_id"],
        "app_secret": app["app_secret"],
        "oapi_base": sandbox.url,
        "api_base": sandbox.url,
        "login_base": sandbox.url,
    }
    body.update(overrides)
    return body


def writable(shown: dict) -> dict:
    """The fields of a GET answer that PUT takes back."""
    return {k: v for k, v in shown.items() if k in WRITABLE}


WRITABLE = (*APPLICATION_FIELDS, *SCENARIO_FIELDS, *SETTINGS_FIELDS)


def test_a_script_binds_a_provider_through_the_api_alone(staff, sandbox):
    app = sandbox.app(corp_name="Acme")
    company = make_org("Company", code="co")
    created = staff.post(f"{V1}/providers/", create_body(sandbox, app))
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert created.json()["step"] == IdentityProvider.Step.PERMISSIONS
    assert staff.post(f"{V1}/providers/{pk}/verify/").json()["ok"] is True
    body = [{"organization": company.pk, "target_dept_id": 1, "placement": "merge"}]
    scopes = staff.put(f"{V1}/providers/{pk}/scopes/", body, **if_match(staff, pk))
    assert scopes.status_code == 200, scopes.content
    assert scopes.json() == [
        {
            "organization": company.pk,
            "organization_name": "Company",
            "organization_code": "co",
            "target_dept_id": 1,
            "target_dept_name": "Acme",
            "placement": "merge",
        }
    ]
    switches = {"incremental_enabled": True, "qps": 20}
    switched = staff.patch(f"{V1}/providers/{pk}/", switches, **if_match(staff, pk))
    assert switched.status_code == 200, switched.content
    assert switched.json()["incremental_enabled"] and switched.json()["qps"] == 20
    assert switched.json()["step"] == IdentityProvider.Step.MAPPING
    assert staff.get(f"{V1}/providers/{pk}/scopes/").json() == scopes.json()
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"provider.create", "provider.verify", "provider.set_scenario"} <= actions
    assert "provider.update_settings" in actions


def test_creation_defaults_the_base_urls_and_stores_the_secret_encrypted(staff, sandbox):
    app = sandbox.app()
    body = create_body(sandbox, app)
    for name in ("oapi_base", "api_base", "login_base"):
        del body[name]
    response = staff.post(f"{V1}/providers/", body)
    assert response.status_code == 201, response.content
    provider = IdentityProvider.objects.get(pk=response.json()["id"])
    assert provider.oapi_base == "https://oapi.dingtalk.com"
    assert provider.app_secret() == app["app_secret"]
    assert response.json()["has_secret"] is True and "app_secret" not in response.json()
    assert provider.field_mappings.count() >= 5


@pytest.mark.parametrize(
    "field,value",
    [
        ("corp_id", "corp123456"),
        ("app_key", "bad key!"),
        ("agent_id", "agent-1"),
        ("app_secret", "short"),
        ("app_secret", "has a space in it 0123456789"),
        ("oapi_base", "not a url"),
    ],
)
def test_creation_refuses_malformed_values_naming_the_field(staff, sandbox, field, value):
    response = staff.post(f"{V1}/providers/", create_body(sandbox, sandbox.app(), **{field: value}))
    assert response.status_code == 400 and field in response.json()
    assert not IdentityProvider.objects.exists()


def test_creation_needs_the_secret_and_a_new_app_key(staff, sandbox):
    app = sandbox.app()
    body = create_body(sandbox, app)
    del body["app_secret"]
    assert "app_secret" in staff.post(f"{V1}/providers/", body).json()
    assert staff.post(f"{V1}/providers/", create_body(sandbox, app)).status_code == 201
    again = staff.post(f"{V1}/providers/", create_body(sandbox, app, name="Again"))
    assert again.status_code == 400 and "app_key" in again.json()


def test_moving_an_api_base_url_needs_the_secret_in_the_same_request(staff, sandbox):
    app = sandbox.app()
    provider = make_provider(sandbox, app, [])
    url = f"{V1}/providers/{provider.pk}/"
    moved = staff.patch(url, {"api_base": "http://127.0.0.1:9"}, **if_match(staff, provider))
    assert moved.status_code == 400 and "enter the AppSecret again" in moved.json()["app_secret"][0]
    provider.refresh_from_db()
    assert provider.api_base == sandbox.url
    body = {"api_base": "http://127.0.0.1:9", "app_secret": app["app_secret"]}
    confirmed = staff.patch(url, body, **if_match(staff, provider))
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["verification_ok"] is False
    renamed = staff.patch(url, {"name": "Renamed"}, **if_match(staff, provider))
    assert renamed.status_code == 200 and renamed.json()["name"] == "Renamed"
    provider.refresh_from_db()
    assert provider.app_secret() == app["app_secret"]
    entry = AuditEntry.objects.filter(action="provider.update_application").latest("id")
    assert entry.changes() == [("config_version", 2, 3), ("name", "Sandbox", "Renamed")]


def test_put_needs_every_field_and_takes_back_what_get_gave(staff):
    provider = offline_provider()
    url = f"{V1}/providers/{provider.pk}/"
    missing = staff.put(url, {"name": "Only a name"}, **if_match(staff, provider))
    assert missing.status_code == 400 and {"corp_id", "qps", "incremental_enabled"} <= set(
        missing.json()
    )
    body = {**writable(staff.get(url).json()), "name": "Put back", "deletion_window_hours": 72}
    response = staff.put(url, body, **if_match(staff, provider))
    assert response.status_code == 200, response.content
    assert writable(response.json()) == body


def test_scopes_refuse_an_unknown_department_overlaps_and_an_empty_list(staff, sandbox):
    provider = make_provider(sandbox, sandbox.app(), [])
    parent = make_org("Group", code="grp")
    child = make_org("Team", parent=parent, code="team")
    url = f"{V1}/providers/{provider.pk}/scopes/"
    unknown = staff.put(
        url, [{"organization": parent.pk, "target_dept_id": 987654}], **if_match(staff, provider)
    )
    assert unknown.status_code == 400
    assert "DingTalk has no department with id 987654" in unknown.json()["detail"]
    both = [{"organization": parent.pk}, {"organization": child.pk}]
    overlap = staff.put(url, both, **if_match(staff, provider))
    assert overlap.status_code == 400 and "is inside" in overlap.json()["detail"]
    empty = staff.put(url, [], **if_match(staff, provider))
    assert empty.status_code == 400 and "at least one organisation" in empty.json()["detail"]
    assert (
        staff.put(url, [{"organization": 999999}], **if_match(staff, provider)).status_code == 400
    )
    assert not provider.scopes.exists()
    defaults = staff.put(url, [{"organization": child.pk}], **if_match(staff, provider))
    assert defaults.status_code == 200, defaults.content
    assert (defaults.json()[0]["target_dept_id"], defaults.json()[0]["placement"]) == (1, "under")


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_viewers_and_operators_cannot_create_or_configure_providers(role, sandbox):
    provider = offline_provider([(make_org("Company"), 1)])
    client = token_client(make_user(role, role))
    url = f"{V1}/providers/{provider.pk}/"
    assert client.get(f"{url}scopes/").status_code == 200
    refused = [
        client.post(f"{V1}/providers/", create_body(sandbox, sandbox.app(app_key="otherkey1"))),
        client.put(url, {"name": "x"}),
        client.patch(url, {"name": "x", "incremental_enabled": True}),
        client.put(f"{url}scopes/", [{"organization": provider.scopes.get().organization_id}]),
    ]
    assert [r.status_code for r in refused] == [403] * 4
    assert {r.json()["required_role"] for r in refused} == {"administrator"}
    assert IdentityProvider.objects.count() == 1
    assert not AuditEntry.objects.filter(action__startswith="provider.").exists()


def test_no_answer_log_or_audit_entry_of_the_provider_api_holds_the_secret(staff, sandbox, caplog):
    app = sandbox.app()
    secret = app["app_secret"]
    answers = [
        staff.post(f"{V1}/providers/", create_body(sandbox, app, corp_id="bad")),
        staff.post(f"{V1}/providers/", create_body(sandbox, app)),
    ]
    url = f"{V1}/providers/{answers[-1].json()['id']}/"
    pk = answers[-1].json()["id"]
    answers += [
        staff.patch(
            url, {"api_base": sandbox.url + "/", "app_secret": secret}, **if_match(staff, pk)
        ),
        staff.patch(url, {"app_secret": secret, "qps": 0}, **if_match(staff, pk)),
        staff.put(url, {"app_secret": secret}, **if_match(staff, pk)),
        staff.patch(url, {"app_secret": secret}, HTTP_IF_MATCH='"provider-1-v0"'),
        staff.get(url),
        staff.get(f"{V1}/providers/"),
        staff.post(f"{url}verify/"),
    ]
    assert [a.status_code for a in answers] == [400, 201, 200, 400, 400, 412, 200, 200, 200]
    assert all(secret not in a.content.decode() for a in answers)
    assert secret not in caplog.text
    assert all(secret not in str(e.before) + str(e.after) for e in AuditEntry.objects.all())


# --- sync settings ---------------------------------------------------------------------------


def test_an_administrator_changes_the_sync_settings_with_patch(staff):
    provider = offline_provider()
    body = {"delete_policy": "unlink", "qps": 20, "protect_adopted": True}
    response = staff.patch(f"{V1}/providers/{provider.pk}/", body, **if_match(staff, provider))
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
    url = f"{V1}/providers/{provider.pk}/"
    response = staff.patch(url, {field: value}, **if_match(staff, provider))
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
