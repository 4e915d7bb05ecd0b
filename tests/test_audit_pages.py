"""The audit log page: configuration changes newest first, filtered, before → after."""

import pytest
from django.urls import reverse

from dtconsole.audit.models import AuditEntry
from dtconsole.audit.services import audit_record
from dtconsole.providers.models import IdentityProvider

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
    assert "provider.update" in html and "Acme DingTalk" in html and "admin" in html
    assert "<code>name</code>" in html and "→" in html
    assert "(changed)" in html and "new" not in html.split("provider.update")[1].split("</tr>")[0]
    assert "<code>qps</code>" not in html  # unchanged fields are not listed


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
    assert '<option value="provider.verify">' in html


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
