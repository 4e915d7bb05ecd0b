"""Sync settings: the Modify > Sync settings page, the service behind it, the provider page
that shows them, and wizard step 3's deletion summary."""

import pytest
from django.urls import reverse

from dtconsole.access.services import AccessDenied
from dtconsole.audit.models import AuditEntry
from dtconsole.providers import services
from tests.api_helpers import offline_provider
from tests.factories import make_org, make_user

pytestmark = pytest.mark.django_db

SETTINGS = {
    "config_version": "1",
    "delete_policy": "delete",
    "deletion_threshold_count": "50",
    "deletion_threshold_percent": "10",
    "deletion_window_hours": "24",
    "full_sync_interval_hours": "0",
    "qps": "20",
}


@pytest.fixture
def provider():
    return offline_provider([(make_org("Company", code="co"), 1)], qps=20)


def settings_url(provider) -> str:
    return reverse("providers:settings", args=[provider.pk])


def test_an_administrator_changes_the_sync_settings_and_the_audit_reads_before_and_after(
    admin_client, provider
):
    data = {
        **SETTINGS,
        "delete_policy": "unlink",
        "deletion_threshold_count": "20",
        "protect_adopted": "on",
        "full_sync_interval_hours": "6",
        "qps": "60",
    }
    response = admin_client.post(settings_url(provider), data)
    assert response.status_code == 302 and response.url == reverse(
        "providers:detail", args=[provider.pk]
    )
    provider.refresh_from_db()
    assert provider.delete_policy == "unlink" and provider.deletion_threshold_count == 20
    assert provider.protect_adopted and provider.full_sync_interval_hours == 6
    assert provider.qps == 60
    entry = AuditEntry.objects.get(action="provider.update_settings")
    changes = {name: (old, new) for name, old, new in entry.changes()}
    assert changes == {
        "delete_policy": ("Delete in DingTalk", "Keep in DingTalk, stop managing"),
        "deletion_threshold_count": (50, 20),
        "protect_adopted": ("off", "on"),
        "full_sync_interval_hours": ("off", "every 6 hours"),
        "qps": ("20 calls per second", "60 calls per second"),
        "config_version": (1, 2),
    }


def test_the_page_explains_adopted_users_the_schedule_and_the_qps_budget(admin_client, provider):
    body = admin_client.get(settings_url(provider)).content.decode()
    assert "matched rather than created is unlinked instead of deleted" in body
    assert "leavers among them then stay in DingTalk" in body
    assert "Offboarding normally must remove leavers whoever created them" in body
    assert "A worker (manage.py qcluster) must be running" in body
    assert "20 on DingTalk&#x27;s standard edition, 60 with the paid add-on pack" in body
    assert "rolling window across every job of the provider" in body


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("qps", "61", "less than or equal to 60"),
        ("deletion_threshold_percent", "150", "less than or equal to 100"),
        ("deletion_window_hours", "0", "greater than or equal to 1"),
        ("delete_policy", "shred", "Select a valid choice"),
    ],
)
def test_out_of_range_settings_are_refused_on_their_field(
    admin_client, provider, field, value, message
):
    response = admin_client.post(settings_url(provider), {**SETTINGS, field: value})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert response.context["form"].errors[field]
    assert not AuditEntry.objects.filter(action="provider.update_settings").exists()


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_viewers_and_operators_may_not_open_or_post_the_settings_page(client, provider, role):
    client.force_login(make_user(role, role))
    assert client.get(settings_url(provider)).status_code == 403
    response = client.post(settings_url(provider), {**SETTINGS, "qps": "60"})
    assert response.status_code == 403 and "Administrator" in response.content.decode()
    provider.refresh_from_db()
    assert provider.qps == 20


def test_the_service_refuses_an_operator_before_changing_anything(provider):
    with pytest.raises(AccessDenied):
        services.provider_update_settings(make_user("otto", "operator"), provider, {"qps": 60})
    provider.refresh_from_db()
    assert provider.qps == 20
    assert not AuditEntry.objects.filter(action="provider.update_settings").exists()


def test_the_service_keeps_the_settings_it_is_not_given(admin_user, provider):
    services.provider_update_settings(admin_user, provider, {"deletion_window_hours": 48})
    provider.refresh_from_db()
    assert provider.deletion_window_hours == 48 and provider.deletion_threshold_count == 50
    entry = AuditEntry.objects.get(action="provider.update_settings")
    assert entry.changes() == [
        ("config_version", 1, 2),
        ("deletion_window_hours", "24 hours", "48 hours"),
    ]


def test_the_provider_page_shows_the_settings_and_the_modify_menu_to_an_administrator(
    admin_client, provider
):
    body = admin_client.get(reverse("providers:detail", args=[provider.pk])).content.decode()
    assert 'id="modify-menu"' in body
    for step in (1, 2, 3, 4):
        assert reverse("providers:wizard", args=[provider.pk, step]) in body
    assert settings_url(provider) in body
    assert "More than 50 deletions, or more than 10% of what the provider manages" in body
    assert "leavers are removed from DingTalk whoever created them" in body


def test_a_viewer_reads_the_settings_without_any_way_to_change_them(client, provider):
    client.force_login(make_user("vera", "viewer"))
    body = client.get(reverse("providers:detail", args=[provider.pk])).content.decode()
    assert "More than 50 deletions" in body and "Delete in DingTalk" in body
    assert 'id="modify-menu"' not in body and settings_url(provider) not in body


def test_step_three_shows_the_deletion_policy_with_its_defaults_and_links_to_the_settings(
    admin_client, provider
):
    step3 = reverse("providers:wizard", args=[provider.pk, 3])
    body = admin_client.get(step3).content.decode()
    assert "Delete in DingTalk" in body and "default: Delete in DingTalk" in body
    assert "default: 50 deletions, 10%, 24 hours" in body
    assert f"{settings_url(provider)}?next={step3}" in body
    response = admin_client.post(settings_url(provider), {**SETTINGS, "next": step3})
    assert response.status_code == 302 and response.url == step3


def test_a_next_address_outside_the_console_is_ignored(admin_client, provider):
    data = {**SETTINGS, "next": "https://evil.example.com/"}
    response = admin_client.post(settings_url(provider), data)
    assert response.url == reverse("providers:detail", args=[provider.pk])
