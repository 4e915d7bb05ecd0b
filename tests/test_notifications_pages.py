"""The notification settings page: the form, the recipient search, the record of what was
sent and this month's count, and who may use it."""

import pytest
from django.urls import reverse

from dtconsole.audit.models import AuditEntry
from dtconsole.notifications.models import Notification, NotificationSettings
from tests.factories import make_user
from tests.notification_helpers import choose, failing_job, run_tasks_inline, synced_provider

pytestmark = pytest.mark.django_db

SMTP = "django.core.mail.backends.smtp.EmailBackend"


@pytest.fixture(autouse=True)
def inline(monkeypatch, settings):
    run_tasks_inline(monkeypatch)
    settings.EMAIL_BACKEND, settings.EMAIL_HOST = SMTP, ""


@pytest.fixture
def synced(sandbox):
    return synced_provider(sandbox)


def url(provider) -> str:
    return reverse("notifications:settings", args=[provider.pk])


def form(**values) -> dict:
    data = {
        "version": "0",
        "enabled": "on",
        "dingtalk_userids": "ann, bob",
        "emails": "",
        "freshness_hours": "24",
        "min_interval_minutes": "60",
        "language": "",
    }
    data.update(values)
    return {k: v for k, v in data.items() if v is not None}


def test_the_modify_menu_and_the_sync_settings_link_to_the_notification_settings(
    admin_client, synced
):
    provider, _app, _people = synced
    detail = admin_client.get(reverse("providers:detail", args=[provider.pk])).content.decode()
    assert url(provider) in detail
    page = admin_client.get(reverse("providers:settings", args=[provider.pk])).content.decode()
    assert url(provider) in page


def test_an_admin_saves_recipients_the_window_and_the_interval(admin_client, synced):
    provider, _app, _people = synced
    response = admin_client.post(url(provider), form(dingtalk_userids="ann\nbob，cai"))
    assert response.status_code == 302
    saved = NotificationSettings.objects.get(provider=provider)
    assert saved.enabled and saved.dingtalk_userids == ["ann", "bob", "cai"]
    assert saved.freshness_hours == 24 and saved.min_interval_minutes == 60
    assert AuditEntry.objects.filter(action="notifications.update_settings").count() == 1
    page = admin_client.get(url(provider)).content.decode()
    assert "Ann Admin <code>ann</code>" in page and 'name="version" value="1"' in page


def test_a_userid_the_provider_did_not_link_is_refused_on_its_field(admin_client, synced):
    provider, _app, _people = synced
    response = admin_client.post(url(provider), form(dingtalk_userids="ann, ghost"))
    assert response.status_code == 200
    assert "ghost is not the DingTalk userid" in response.content.decode()
    assert not NotificationSettings.objects.filter(provider=provider, version__gt=0).exists()


def test_a_save_from_an_older_version_answers_409_with_what_was_saved_meanwhile(
    admin_client, admin_user, synced
):
    provider, _app, _people = synced
    choose(admin_user, provider, dingtalk_userids=["cai"])
    response = admin_client.post(url(provider), form(version="0", dingtalk_userids="ann"))
    assert response.status_code == 409
    page = response.content.decode()
    assert "Not saved: someone else saved" in page and "Notifications" in page
    assert "cai" in page and 'name="version" value="1"' in page
    assert NotificationSettings.objects.get(provider=provider).dingtalk_userids == ["cai"]


def test_the_recipient_search_finds_linked_people_by_name_username_or_userid(admin_client, synced):
    provider, _app, _people = synced
    search = reverse("notifications:recipient_search", args=[provider.pk])
    by_name = admin_client.get(search, {"q": "Bob"}).content.decode()
    assert 'data-add-recipient="bob"' in by_name and "ann" not in by_name
    assert 'data-add-recipient="cai"' in admin_client.get(search, {"q": "ca"}).content.decode()
    assert "Nobody" in admin_client.get(search, {"q": "zzz"}).content.decode()


def test_the_page_shows_what_was_sent_and_how_many_this_month(
    admin_client, admin_user, sandbox, synced, django_capture_on_commit_callbacks
):
    provider, app, _people = synced
    choose(admin_user, provider)
    job = failing_job(sandbox, app, provider, django_capture_on_commit_callbacks)
    failing_job(sandbox, app, provider, django_capture_on_commit_callbacks)
    page = admin_client.get(url(provider)).content.decode()
    sent = Notification.objects.get(outcome="sent")
    assert "Sent this month: 1 work notification." in page
    assert f"task_id <code>{sent.task_id}</code>" in page
    assert f"Sync job #{job.pk} of “Sandbox” failed" in page
    assert "Suppressed" in page and "less than 60 minutes earlier" in page


def test_a_delivery_check_shows_who_dingtalk_delivered_to(
    admin_client, admin_user, sandbox, synced, django_capture_on_commit_callbacks
):
    provider, app, _people = synced
    choose(admin_user, provider)
    failing_job(sandbox, app, provider, django_capture_on_commit_callbacks)
    sent = Notification.objects.get(outcome="sent")
    check = reverse("notifications:check_delivery", args=[sent.pk])
    response = admin_client.post(check, follow=True)
    page = response.content.decode()
    assert "Delivered: <code>ann</code>, <code>bob</code>" in page


def test_the_page_explains_an_exhausted_quota(
    admin_client, admin_user, sandbox, synced, django_capture_on_commit_callbacks
):
    provider, app, _people = synced
    choose(admin_user, provider)
    sandbox.control("POST", "quota", app_key=app["app_key"], used=5000)
    failing_job(sandbox, app, provider, django_capture_on_commit_callbacks)
    page = admin_client.get(url(provider)).content.decode()
    assert 'id="quota-exhausted"' in page and "Quota exhausted" in page
    assert "monthly API call quota is used up" in page


def test_the_page_says_when_this_console_cannot_send_email(admin_client, synced, settings):
    provider, _app, _people = synced
    assert "This console cannot send email" in admin_client.get(url(provider)).content.decode()
    settings.EMAIL_HOST = "smtp.example.com"
    assert "cannot send email" not in admin_client.get(url(provider)).content.decode()


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_operators_and_viewers_are_refused_the_page_and_its_save(client, synced, role):
    provider, _app, _people = synced
    client.force_login(make_user("someone", role))
    assert client.get(url(provider)).status_code == 403
    assert client.post(url(provider), form()).status_code == 403
    assert not NotificationSettings.objects.exists()
    detail = client.get(reverse("providers:detail", args=[provider.pk])).content.decode()
    assert url(provider) not in detail
