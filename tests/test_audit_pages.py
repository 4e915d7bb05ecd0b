"""The audit log page: every change newest first, filtered by actor, action and object,
before → after as readable values with names, actions as sentences."""

import pytest
from django.urls import reverse

from dtconsole.access.services import SYSTEM
from dtconsole.audit.models import AuditEntry
from dtconsole.audit.services import audit_record
from dtconsole.directory import services as directory
from dtconsole.directory import upsert
from dtconsole.providers.models import IdentityProvider
from tests.factories import make_account, make_org, make_user

pytestmark = pytest.mark.django_db


def make_provider(name: str = "Acme", key: str = "k") -> IdentityProvider:
    return IdentityProvider.objects.create(name=name, corp_id="dingx", app_key=key, agent_id="1")


def shown(response) -> list[int]:
    return [entry.pk for entry in response.context["page"]]


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get(reverse("audit:list"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_entries_are_listed_newest_first_with_before_and_after(admin_client, admin_user):
    provider = make_provider("Acme DingTalk")
    first = audit_record(admin_user, "provider.create", provider, after={"name": "Acme"})
    second = audit_record(
        admin_user,
        "provider.update",
        provider,
        before={"name": "Acme", "qps": 20, "app_secret": "old"},
        after={"name": "Acme DingTalk", "qps": 20, "app_secret": "new"},
    )
    response = admin_client.get(reverse("audit:list"))
    html = response.content.decode()
    assert shown(response) == [second.pk, first.pk]
    assert 'data-action="provider.update"' in html and "Acme DingTalk" in html and "admin" in html
    assert "<strong>Name</strong>" in html and "→" in html
    row = html.split('data-action="provider.update"')[1].split("</tr>")[0]
    assert "(changed)" in row and ">new<" not in row
    assert "QPS" not in row and "qps" not in row  # unchanged fields are not listed


def test_entries_are_filtered_by_action_and_object_type(admin_client, admin_user):
    provider = make_provider()
    created = audit_record(admin_user, "provider.create", provider, after={"name": "Acme"})
    audit_record(admin_user, "provider.verify", provider, after={"ok": True})
    other = AuditEntry.objects.create(
        actor_name="system", action="provider.create", object_type="sync.syncjob"
    )
    url = reverse("audit:list")
    assert shown(admin_client.get(url, {"action": "provider.create"})) == [other.pk, created.pk]
    both = {"action": "provider.create", "object_type": "providers.identityprovider"}
    assert shown(admin_client.get(url, both)) == [created.pk]
    html = admin_client.get(url).content.decode()
    assert '<option value="provider.verify">Verified a provider with DingTalk</option>' in html


def test_an_unknown_filter_value_is_ignored(admin_client, admin_user):
    audit_record(admin_user, "provider.create", make_provider(), after={"name": "Acme"})
    response = admin_client.get(reverse("audit:list"), {"action": "nope"})
    assert response.status_code == 200 and len(shown(response)) == 1


def test_the_log_is_paginated_fifty_at_a_time(admin_client, admin_user):
    provider = make_provider()
    for n in range(55):
        audit_record(admin_user, "provider.update", provider, after={"n": n})
    first = admin_client.get(reverse("audit:list"))
    assert len(shown(first)) == 50
    assert len(shown(admin_client.get(reverse("audit:list"), {"page": 2}))) == 5


def row_of(html: str, action: str) -> str:
    return html.split(f'data-action="{action}"')[1].split("</tr>")[0]


def test_actions_read_as_sentences_and_fields_by_their_names(admin_client):
    org = make_org("Sales")
    ann = make_account("ann", display_name="Ann", orgs=[org])
    directory.account_update(
        SYSTEM, ann, display_name="Ann Lee", extra={"badge": 7, "remote": True}
    )
    directory.account_set_status(SYSTEM, ann, "disabled")
    html = admin_client.get(reverse("audit:list")).content.decode()
    update = row_of(html, "account.update")
    assert "Changed an account" in update
    assert "<strong>Display name</strong>" in update and "Ann Lee" in update
    assert "badge: 7; remote: yes" in update and "{" not in update and "True" not in update
    status = row_of(html, "account.set_status")
    assert "Active" in status and "Disabled" in status and "disabled</span>" not in status
    created = row_of(html, "account.create")
    assert "<strong>Organisations</strong>" in created and "+ Sales" in created
    assert "[" not in created and "None" not in created


def test_the_object_links_to_its_page_while_it_exists(admin_client):
    kept, gone = make_account("kept", display_name="Kept"), make_account("gone")
    gone_pk = gone.pk
    directory.account_delete(SYSTEM, gone)
    html = admin_client.get(reverse("audit:list")).content.decode()
    assert f'href="{reverse("directory:account_detail", args=[kept.pk])}"' in html
    assert reverse("directory:account_detail", args=[gone_pk]) not in html
    assert "gone" in row_of(html, "account.delete")  # the recorded name stays


def test_a_bulk_call_is_one_entry_whose_counts_read_as_sentences(admin_client, admin_user):
    items = [
        {"username": f"u{n}", "display_name": f"U {n}", "mobile": f"1390000000{n}"}
        for n in range(3)
    ]
    upsert.upsert(
        admin_user,
        upsert.Kind.ACCOUNTS,
        upsert.rows_from_items(upsert.Kind.ACCOUNTS, items),
        action="account.bulk_upsert",
        object_type="directory.account",
    )
    entry = AuditEntry.objects.get()
    assert entry.action == "account.bulk_upsert" and entry.after["counts"] == {"account.create": 3}
    row = row_of(admin_client.get(reverse("audit:list")).content.decode(), "account.bulk_upsert")
    assert "Wrote accounts through the API" in row and "Created an account: 3" in row


def test_entries_are_filtered_by_actor_object_and_name(admin_client, admin_user):
    vera = make_user("vera", "administrator")
    ann, bob = make_account("ann", display_name="Ann"), make_account("bob", display_name="Bob")
    by_admin = directory.account_update(admin_user, ann, title="Lead")
    directory.account_update(vera, bob, title="Lead")
    url = reverse("audit:list")
    mine = AuditEntry.objects.get(actor_name="admin")
    assert shown(admin_client.get(url, {"actor": "admin"})) == [mine.pk]
    object_filter = {"object_type": "directory.account", "object_id": str(by_admin.pk)}
    assert (
        AuditEntry.objects.get(pk=shown(admin_client.get(url, object_filter))[0]).actor
        == admin_user
    )
    assert len(shown(admin_client.get(url, object_filter))) == 2  # created, then changed
    named = shown(admin_client.get(url, {"q": "bo"}))
    assert {AuditEntry.objects.get(pk=pk).object_id for pk in named} == {str(bob.pk)}
    html = admin_client.get(url).content.decode()
    assert '<option value="vera">vera</option>' in html
    assert '<option value="directory.account">Account</option>' in html


def test_the_system_actor_is_named_as_such_and_filtered_by(admin_client, admin_user):
    directory.account_create(SYSTEM, username="ann", display_name="Ann")
    directory.account_create(admin_user, username="bob", display_name="Bob")
    url = reverse("audit:list")
    html = admin_client.get(url).content.decode()
    assert ">System (commands and background jobs)</a>" in html
    assert '<option value="system">System (commands and background jobs)</option>' in html
    by_system = AuditEntry.objects.get(actor_name="system")
    assert shown(admin_client.get(url, {"actor": "system"})) == [by_system.pk]


def test_a_job_kind_and_a_scope_placement_read_in_the_readers_language(admin_client):
    provider = IdentityProvider.objects.create(
        name="Acme", corp_id="dingx", app_key="k", agent_id="1"
    )
    audit_record(SYSTEM, "sync.enqueue", provider, after={"job": 3, "kind": "full"})
    scopes = ["Finance [fin] → 1 全公司 (under)", "Sales [s] → 1 全公司 (merge)"]
    audit_record(
        SYSTEM,
        "provider.update_scenario",
        provider,
        before={"scopes": []},
        after={"scopes": scopes},
    )
    headers = {"Accept-Language": "zh-CN"}
    html = admin_client.get(reverse("audit:list"), headers=headers).content.decode()
    assert "全量" in row_of(html, "sync.enqueue") and "full<" not in row_of(html, "sync.enqueue")
    scenario = row_of(html, "provider.update_scenario")
    assert "(under)" not in scenario and "(merge)" not in scenario
    assert "Finance [fin] → 1 全公司 (放在目标部门下)" in scenario and "(并入目标部门)" in scenario
