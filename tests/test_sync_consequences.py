"""Consequences before acting: every action that can remove something from DingTalk says what,
per provider, before it is made; the API gives the same preview with dry_run=true."""

import pytest
from django.urls import reverse

from dtconsole.access.services import SYSTEM
from dtconsole.audit.models import AuditEntry
from dtconsole.directory.models import Account, Membership, Organization
from dtconsole.sync.consequences import preview
from dtconsole.sync.models import PendingChange
from tests.api_helpers import V1, token_client
from tests.factories import make_account, make_org, make_provider
from tests.test_sync_engine import run_full

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced(sandbox):
    company = make_org("Company", code="co")
    team = make_org("Team", parent=company, code="team")
    outside = make_org("Outside", code="out")
    people = [make_account(f"p{n}", orgs=[team], display_name=f"员工{n}") for n in range(3)]
    provider = make_provider(
        sandbox, sandbox.app(), [(company, 1)], name="Acme", incremental_enabled=True
    )
    assert run_full(provider).status == "succeeded"
    AuditEntry.objects.all().delete()
    return {"provider": provider, "team": team, "outside": outside, "people": people}


def nothing_changed(synced) -> None:
    assert Account.objects.filter(status="active").count() == 3
    assert Organization.objects.filter(name="Team", parent__name="Company").exists()
    assert not PendingChange.objects.exists() and not AuditEntry.objects.exists()


def test_the_disable_page_says_what_leaves_dingtalk_and_changes_nothing(admin_client, synced):
    person = synced["people"][0]
    page = admin_client.get(reverse("directory:account_disable", args=[person.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "Acme: removes 1 users and 0 departments from DingTalk within seconds" in text
    assert "员工0 (p0)" in text and "deletion policy: Delete in DingTalk" in text
    nothing_changed(synced)
    admin_client.post(reverse("directory:account_disable", args=[person.pk]))
    person.refresh_from_db()
    assert person.status == "disabled"


def test_a_removal_past_the_threshold_says_it_will_stop_for_approval(admin_client, synced):
    # 3 users and 1 department are managed: one deletion is 25 %, over the default 10 %.
    page = admin_client.get(reverse("directory:account_disable", args=[synced["people"][0].pk]))
    assert "This will stop for approval: more than 50 deletions or 10%" in page.content.decode()


def test_deleting_an_organisation_lists_its_department_and_its_members(admin_client, synced):
    team = synced["team"]
    page = admin_client.get(reverse("directory:org_delete", args=[team.pk]))
    text = page.content.decode()
    assert "removes 3 users and 1 departments" in text and "Team" in text
    nothing_changed(synced)


def test_a_move_out_of_scope_asks_again_after_showing_what_it_removes(admin_client, synced):
    team, outside = synced["team"], synced["outside"]
    url = reverse("directory:org_move", args=[team.pk])
    first = admin_client.post(url, {"parent": outside.pk})
    assert (
        first.status_code == 200 and "removes 3 users and 1 departments" in first.content.decode()
    )
    team.refresh_from_db()
    assert team.parent.name == "Company"
    second = admin_client.post(url, {"parent": outside.pk, "confirm": "1"})
    assert second.status_code == 302
    team.refresh_from_db()
    assert team.parent_id == outside.pk


def test_a_move_inside_the_scope_happens_at_once(admin_client, synced):
    team = synced["team"]
    other = make_org("Other", parent=team.parent, code="other")
    response = admin_client.post(
        reverse("directory:org_move", args=[other.pk]), {"parent": team.pk}
    )
    assert response.status_code == 302


def test_removing_a_membership_shows_what_it_does_first(admin_client, synced):
    membership = synced["people"][1].memberships.get()
    page = admin_client.get(reverse("directory:membership_remove", args=[membership.pk]))
    assert "removes 1 users" in page.content.decode()
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_the_keep_policy_says_the_users_stay_in_dingtalk(admin_client, synced):
    synced["provider"].delete_policy = "unlink"
    synced["provider"].save()
    page = admin_client.get(reverse("directory:account_delete", args=[synced["people"][0].pk]))
    assert "1 users stay in DingTalk and are no longer managed" in page.content.decode()


def test_a_change_that_removes_nothing_says_so(synced):
    person = synced["people"][0]
    from dtconsole.directory import services

    (found,) = preview(lambda: services.account_update(SYSTEM, person, title="Lead"))
    assert not found.removes and "nothing is removed" in str(found.sentence())


def test_a_viewer_cannot_preview_a_change_they_may_not_make(client, synced):
    from tests.factories import make_user

    client.force_login(make_user("vera", "viewer"))
    page = client.get(reverse("directory:account_disable", args=[synced["people"][0].pk]))
    assert page.status_code == 403


# --- the API ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("delete", "accounts/{p0}/"),
        ("post", "accounts/{p0}/disable/"),
        ("delete", "organizations/{team}/"),
        ("delete", "memberships/{m0}/"),
    ],
)
def test_the_api_answers_a_dry_run_with_the_consequences_and_changes_nothing(
    admin_user, synced, method, path
):
    team = synced["team"]
    ids = {
        "p0": synced["people"][0].pk,
        "team": team.pk,
        "m0": synced["people"][0].memberships.get().pk,
    }
    if method == "delete" and "organizations" in path:
        Membership.objects.filter(organization=team).delete()  # an empty organisation
    api = token_client(admin_user)
    response = getattr(api, method)(f"{V1}/{path.format(**ids)}?dry_run=true")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["dry_run"] is True
    (consequence,) = body["consequences"]
    assert consequence["provider_name"] == "Acme" and consequence["summary"].startswith("Acme")
    assert Account.objects.count() == 3 and Organization.objects.filter(pk=team.pk).exists()
    assert not AuditEntry.objects.exists()


def test_a_dry_run_bulk_upsert_says_which_accounts_leave_dingtalk(admin_user, synced):
    api = token_client(admin_user)
    items = [{"username": "p0", "organizations": ["out"]}]
    response = api.post(f"{V1}/accounts/bulk_upsert/?dry_run=true", items, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["consequences"][0]["removed_users"] == ["员工0 (p0)"]
    assert Account.objects.get(username="p0").memberships.get().organization.code == "team"


def test_a_move_with_dry_run_answers_the_consequences(admin_user, synced):
    api = token_client(admin_user)
    url = f"{V1}/organizations/{synced['team'].pk}/move/?dry_run=true"
    response = api.post(url, {"parent": synced["outside"].pk}, format="json")
    assert response.json()["consequences"][0]["removed_departments"] == ["Team"]
    synced["team"].refresh_from_db()
    assert synced["team"].parent.name == "Company"


def import_file(admin_client, kind: str, text: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile(f"{kind}.csv", text.encode(), content_type="text/csv")
    response = admin_client.post(reverse("directory:import"), {"kind": kind, "file": upload})
    assert response.status_code == 302, response.content.decode()[:2000]
    return response.url


def test_an_import_preview_says_what_the_import_removes_from_dingtalk_before_commit(
    admin_client, synced
):
    text = "username,display_name,status,organizations\np0,员工0,disabled,\np1,员工1,,out\n"
    url = import_file(admin_client, "accounts", text)
    page = admin_client.get(url).content.decode()
    assert "Acme: removes 2 users and 0 departments from DingTalk within seconds" in page
    assert "员工0 (p0)" in page and "员工1 (p1)" in page
    assert "This will stop for approval" in page
    assert Account.objects.filter(status="active").count() == 3  # nothing was changed
    assert not PendingChange.objects.exists()
    admin_client.get(url)  # computed once, at upload: a page view does not preview again
    assert not PendingChange.objects.exists()


def test_an_organisation_import_that_moves_a_subtree_out_lists_its_department(admin_client, synced):
    url = import_file(admin_client, "organizations", "code,name,parent_code\nteam,Team,out\n")
    page = admin_client.get(url).content.decode()
    assert "Acme: removes 3 users and 1 departments from DingTalk" in page
    assert Organization.objects.get(code="team").parent.code == "co"


def test_an_import_that_only_adds_says_nothing_about_dingtalk_removals(admin_client, synced):
    url = import_file(admin_client, "accounts", "username,display_name\nnew1,New\n")
    assert "removes" not in admin_client.get(url).content.decode()


def test_an_import_uploaded_in_chinese_reads_its_consequences_in_each_readers_language(
    admin_client, synced
):
    text = "username,display_name,status\np0,员工0,disabled\n"
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    url = import_file(admin_client, "accounts", text)
    assert "删除策略：在钉钉中删除" in admin_client.get(url).content.decode()
    english = admin_client.get(url, headers={"Accept-Language": "en"}).content.decode()
    assert "(deletion policy: Delete in DingTalk)" in english and "在钉钉中删除" not in english
