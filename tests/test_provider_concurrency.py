"""Optimistic concurrency of a provider's configuration: the version the services bump and
check under the row lock, the pages' hidden field, and the API's ETag / If-Match, including
real concurrent writes against a live server."""

import threading

import pytest
import requests
from django.urls import reverse
from rest_framework.authtoken.models import Token

from dtconsole.audit.models import AuditEntry
from dtconsole.providers import services
from dtconsole.providers.models import IdentityProvider
from mappings.engine import Rule
from tests.api_helpers import V1, if_match, offline_provider
from tests.factories import make_org, make_provider

pytestmark = pytest.mark.django_db

WORK_PLACE = Rule(target="work_place", source_kind="attribute", source="work_place")


def stored(provider) -> IdentityProvider:
    return IdentityProvider.objects.get(pk=provider.pk)


def tag(provider) -> str:
    return f'"provider-{provider.pk}-v{stored(provider).config_version}"'


def add_work_place(actor, provider, **kw):
    rules = [*services.provider_rules(provider), WORK_PLACE]
    return services.provider_save_mappings(actor, provider, rules, provider.match_keys, **kw)


# --- the services ------------------------------------------------------------------------------


def test_every_configuration_service_counts_one_version_and_audits_it(admin_user, sandbox):
    provider = make_provider(sandbox, sandbox.app(), [])
    assert provider.config_version == 1
    org = make_org("Company")
    data = {**services.snapshot(provider, services.APPLICATION_FIELDS), "name": "Renamed"}
    services.provider_update_application(admin_user, provider, data)
    services.provider_set_scenario(admin_user, provider, [services.ScopeRequest(org, 1)], None)
    add_work_place(admin_user, provider)
    services.provider_update_settings(admin_user, provider, {"qps": 20})
    assert stored(provider).config_version == provider.config_version == 5
    services.provider_verify(admin_user, provider)  # a check, not a configuration change
    assert stored(provider).config_version == 5
    entries = AuditEntry.objects.filter(action__startswith="provider.").exclude(
        action="provider.verify"
    )
    assert [(e.before["config_version"], e.after["config_version"]) for e in entries] == [
        (4, 5),
        (3, 4),
        (2, 3),
        (1, 2),
    ]


def test_a_change_made_from_an_older_version_is_refused_and_writes_nothing(admin_user):
    provider = offline_provider(qps=20)
    services.provider_update_settings(admin_user, provider, {"qps": 60}, version=1)
    with pytest.raises(services.StaleConfiguration) as refusal:
        services.provider_update_settings(admin_user, provider, {"qps": 30}, version=1)
    assert (refusal.value.expected, refusal.value.current) == (1, 2)
    with pytest.raises(services.StaleConfiguration):
        add_work_place(admin_user, provider, version=1)
    provider.refresh_from_db()
    assert provider.qps == 60 and provider.config_version == 2
    assert not provider.field_mappings.filter(target="work_place").exists()
    assert AuditEntry.objects.filter(action__startswith="provider.").count() == 1


def test_a_stale_scenario_is_refused_before_dingtalk_is_asked_anything(admin_user, sandbox):
    provider = make_provider(sandbox, sandbox.app(), [])
    services.provider_update_settings(admin_user, provider, {"qps": 20})
    sandbox.control("POST", "calls/reset")
    with pytest.raises(services.StaleConfiguration):
        services.provider_set_scenario(
            admin_user, provider, [services.ScopeRequest(make_org("Co"), 1)], None, version=1
        )
    assert sandbox.calls() == {} and not provider.scopes.exists()


def test_one_api_write_of_several_parts_checks_the_version_once(admin_user):
    provider = offline_provider()
    data = {"name": "Renamed", "incremental_enabled": True, "qps": 20}
    services.provider_update(admin_user, provider, data, version=1)
    provider.refresh_from_db()
    assert (provider.name, provider.incremental_enabled, provider.qps) == ("Renamed", True, 20)
    assert provider.config_version == 4
    with pytest.raises(services.StaleConfiguration):
        services.provider_update(admin_user, provider, {"name": "Again"}, version=3)


# --- the pages ---------------------------------------------------------------------------------


def mapping_page_post(provider, version: int, display_name: str) -> dict:
    rows = list(provider.field_mappings.order_by("position"))
    data = {
        "config_version": str(version),
        "map-TOTAL_FORMS": str(len(rows)),
        "map-INITIAL_FORMS": str(len(rows)),
        "match_keys": "userid, mobile",
        "action": "save",
    }
    for i, m in enumerate(rows):
        data.update(
            {
                f"map-{i}-id": str(m.pk),
                f"map-{i}-display_name": display_name if m.target == "title" else m.display_name,
                f"map-{i}-target": m.target,
                f"map-{i}-source_kind": m.source_kind,
                f"map-{i}-source": m.source,
                f"map-{i}-apply": m.apply,
                f"map-{i}-default": m.default,
            }
        )
    return data


def test_a_mapping_page_opened_before_someone_else_saved_is_refused_with_what_changed(
    admin_client, admin_user
):
    provider = offline_provider()
    url = reverse("providers:wizard", args=[provider.pk, 4])
    opened = admin_client.get(url)
    assert 'name="config_version" value="1"' in opened.content.decode()
    mine = mapping_page_post(provider, 1, "Job title")
    add_work_place(admin_user, provider)  # the other admin saves first
    response = admin_client.post(url, mine)
    assert response.status_code == 409
    body = response.content.decode()
    assert "Not saved: someone else saved this provider's configuration" in body
    assert "admin saved Field mapping at" in body
    assert 'added <span class="new">work_place &lt;- attribute:work_place (always)' in body
    assert 'name="config_version" value="2"' in body
    targets = [f.instance.target for f in response.context["formset"].forms]
    assert "work_place" in targets
    assert provider.field_mappings.get(target="title").display_name == "Position"
    assert AuditEntry.objects.filter(action="provider.save_mappings").count() == 1


def test_the_mapping_page_saves_when_nobody_saved_in_between(admin_client):
    provider = offline_provider()
    url = reverse("providers:wizard", args=[provider.pk, 4])
    response = admin_client.post(url, mapping_page_post(provider, 1, "Job title"))
    assert response.status_code == 302
    assert provider.field_mappings.get(target="title").display_name == "Job title"
    assert stored(provider).config_version == 2


def test_a_settings_page_opened_before_someone_else_saved_shows_their_change(
    admin_client, admin_user
):
    provider = offline_provider(qps=20)
    url = reverse("providers:settings", args=[provider.pk])
    services.provider_update_settings(admin_user, provider, {"qps": 60, "protect_adopted": True})
    data = {
        "config_version": "1",
        "delete_policy": "unlink",
        "deletion_threshold_count": "50",
        "deletion_threshold_percent": "10",
        "deletion_window_hours": "24",
        "full_sync_interval_hours": "0",
        "qps": "20",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 409
    body = response.content.decode()
    assert '20 calls per second</span> → <span class="new">60 calls per second' in body
    assert '<code>protect_adopted</code>: <span class="old">off</span>' in body
    form = response.context["form"]
    assert not form.is_bound and form.initial["qps"] == 60
    provider.refresh_from_db()
    assert provider.delete_policy == "delete" and provider.qps == 60


def test_a_stale_step_three_and_step_one_are_refused_too(admin_client, admin_user, sandbox):
    app = sandbox.app()
    provider = make_provider(sandbox, app, [], step=IdentityProvider.Step.SCENARIO)
    services.provider_update_settings(admin_user, provider, {"qps": 20})
    org = make_org("Company", code="co")
    scenario = {
        "config_version": "1",
        "scope-TOTAL_FORMS": "1",
        "scope-INITIAL_FORMS": "0",
        "scope-0-organization": "co",
        "scope-0-target_dept_id": "1",
        "scope-0-placement": "under",
    }
    response = admin_client.post(reverse("providers:wizard", args=[provider.pk, 3]), scenario)
    assert response.status_code == 409 and not provider.scopes.exists()
    assert "admin saved Sync settings" in response.content.decode()
    step1 = {**services.snapshot(provider, services.APPLICATION_FIELDS), "name": "Mine"}
    step1["config_version"] = "1"
    response = admin_client.post(reverse("providers:wizard", args=[provider.pk, 1]), step1)
    assert response.status_code == 409 and stored(provider).name == "Sandbox"
    assert response.context["form"]["name"].value() == "Sandbox"
    assert org.pk  # the scope was never stored


def test_a_form_without_its_version_is_refused_rather_than_saved_blindly(admin_client):
    provider = offline_provider(qps=20)
    data = {"delete_policy": "unlink", "deletion_threshold_count": "50", "qps": "60"}
    response = admin_client.post(reverse("providers:settings", args=[provider.pk]), data)
    assert response.status_code == 409
    assert stored(provider).qps == 20


# --- the API -----------------------------------------------------------------------------------


def test_every_configuration_answer_carries_the_same_etag(staff):
    provider = offline_provider([(make_org("Company"), 1)])
    expected = f'"provider-{provider.pk}-v1"'
    for path in ("", "scopes/", "mappings/", "mappings/title/"):
        assert staff.get(f"{V1}/providers/{provider.pk}/{path}")["ETag"] == expected, path


def test_each_write_answers_the_new_etag_which_the_next_write_sends(staff):
    provider = offline_provider()
    base = f"{V1}/providers/{provider.pk}/"
    first = staff.patch(base, {"qps": 20}, HTTP_IF_MATCH=tag(provider))
    assert first.status_code == 200 and first["ETag"] == f'"provider-{provider.pk}-v2"'
    body = {"target": "work_place", "source_kind": "attribute", "source": "work_place"}
    second = staff.post(f"{base}mappings/", body, HTTP_IF_MATCH=first["ETag"])
    assert second.status_code == 201 and second["ETag"] == f'"provider-{provider.pk}-v3"'
    third = staff.delete(f"{base}mappings/work_place/", HTTP_IF_MATCH=second["ETag"])
    assert third.status_code == 204 and third["ETag"] == f'"provider-{provider.pk}-v4"'


@pytest.mark.parametrize("header", [None, "*", ""])
def test_a_configuration_write_without_if_match_answers_428(staff, header):
    provider = offline_provider()
    extra = {} if header is None else {"HTTP_IF_MATCH": header}
    base = f"{V1}/providers/{provider.pk}/"
    answers = [
        staff.patch(base, {"qps": 20}, **extra),
        staff.put(f"{base}scopes/", [], **extra),
        staff.patch(f"{base}mappings/title/", {"display_name": "x"}, **extra),
        staff.delete(f"{base}mappings/title/", **extra),
    ]
    assert [a.status_code for a in answers] == [428] * 4
    assert "If-Match" in answers[0].json()["detail"]
    assert stored(provider).config_version == 1 and stored(provider).qps == 60


def test_a_write_from_a_stale_etag_answers_412_with_the_current_one_and_what_changed(
    staff, admin_user
):
    provider = offline_provider(qps=20)
    old = tag(provider)
    services.provider_update_settings(admin_user, provider, {"qps": 60})
    response = staff.patch(f"{V1}/providers/{provider.pk}/", {"qps": 30}, HTTP_IF_MATCH=old)
    assert response.status_code == 412
    assert response["ETag"] == f'"provider-{provider.pk}-v2"'
    (change,) = response.json()["changes"]
    assert (change["action"], change["actor"], change["version"]) == (
        "provider.update_settings",
        "admin",
        2,
    )
    assert change["changes"] == [
        {"field": "qps", "before": "20 calls per second", "after": "60 calls per second"}
    ]
    assert stored(provider).qps == 60


@pytest.mark.parametrize(
    "header", ['W/"provider-{pk}-v1"', '"provider-999999-v1"', "provider-{pk}-v1", '"v1"']
)
def test_a_weak_foreign_or_malformed_etag_answers_412(staff, header):
    provider = offline_provider(qps=20)
    value = header.replace("{pk}", str(provider.pk))
    response = staff.patch(f"{V1}/providers/{provider.pk}/", {"qps": 30}, HTTP_IF_MATCH=value)
    assert response.status_code == 412 and response["ETag"] == tag(provider)
    assert stored(provider).qps == 20


def test_if_match_may_list_several_tags_one_of_them_current(staff):
    provider = offline_provider(qps=20)
    header = f'"provider-{provider.pk}-v7", {tag(provider)}'
    response = staff.patch(f"{V1}/providers/{provider.pk}/", {"qps": 30}, HTTP_IF_MATCH=header)
    assert response.status_code == 200 and stored(provider).qps == 30


def test_the_if_match_helper_reads_the_etag_a_script_would(staff):
    provider = offline_provider()
    assert if_match(staff, provider) == {"HTTP_IF_MATCH": tag(provider)}


# --- real concurrent writes --------------------------------------------------------------------


def concurrently(calls) -> list:
    """Run ``calls`` in threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def session(user) -> requests.Session:
    http = requests.Session()
    http.headers["Authorization"] = f"Token {Token.objects.get_or_create(user=user)[0].key}"
    return http


def patch_until_saved(http, url: str, mapping_url: str, body: dict) -> tuple[int, int]:
    """PATCH ``body`` from the version just read, again after each 412: (first status, tries)."""
    first = None
    for tries in range(1, 30):
        current = http.get(url, timeout=30)
        response = http.patch(
            mapping_url, json=body, headers={"If-Match": current.headers["ETag"]}, timeout=30
        )
        first = first or response.status_code
        if response.status_code == 200:
            return first, tries
        assert response.status_code == 412, response.text
    raise AssertionError("never saved")


@pytest.mark.django_db(transaction=True)
def test_seven_concurrent_patches_to_different_rows_lose_no_update(live_server, admin_user):
    provider = offline_provider()
    add_work_place(admin_user, provider)
    targets = list(provider.field_mappings.values_list("target", flat=True))
    assert len(targets) == 7
    http = [session(admin_user) for _ in targets]
    base = f"{live_server.url}{V1}/providers/{provider.pk}/"
    same = tag(provider)
    answers = concurrently(
        [
            lambda h=h, t=t: (
                h.patch(
                    f"{base}mappings/{t}/",
                    json={"display_name": f"Label {t}"},
                    headers={"If-Match": same},
                    timeout=30,
                ).status_code
            )
            for h, t in zip(http, targets, strict=True)
        ]
    )
    assert sorted(answers) == [200] + [412] * 6
    retried = concurrently(
        [
            lambda h=h, t=t: patch_until_saved(
                h, base, f"{base}mappings/{t}/", {"display_name": f"Label {t}"}
            )
            for h, t in zip(http, targets, strict=True)
        ]
    )
    assert all(tries >= 1 for _first, tries in retried)
    labels = dict(provider.field_mappings.values_list("target", "display_name"))
    assert labels == {t: f"Label {t}" for t in targets}
    assert stored(provider).config_version == 2 + 1 + 7  # work_place, the winner, the retries
    assert AuditEntry.objects.filter(action="provider.save_mappings").count() == 1 + 1 + 7


@pytest.mark.django_db(transaction=True)
def test_concurrent_writes_to_settings_scopes_and_mappings_from_one_version_let_one_win(
    live_server, admin_user
):
    provider = offline_provider(qps=20)
    http = session(admin_user)
    base = f"{live_server.url}{V1}/providers/{provider.pk}/"
    headers = {"If-Match": tag(provider)}
    writes = [
        lambda: http.patch(base, json={"qps": 30}, headers=headers, timeout=30),
        lambda: http.patch(base, json={"deletion_window_hours": 48}, headers=headers, timeout=30),
        lambda: http.patch(base, json={"name": "Renamed"}, headers=headers, timeout=30),
        lambda: http.patch(
            f"{base}mappings/title/", json={"default": "Staff"}, headers=headers, timeout=30
        ),
        lambda: http.delete(f"{base}mappings/job_number/", headers=headers, timeout=30),
    ]
    answers = [r.status_code for r in concurrently(writes)]
    assert sorted(answers)[1:] == [412] * 4 and sorted(answers)[0] in (200, 204)
    assert stored(provider).config_version == 2
    assert AuditEntry.objects.filter(action__startswith="provider.").count() == 1
