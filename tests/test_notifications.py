"""Notifications of failed jobs, jobs awaiting approval and stale providers: DingTalk work
notifications through the sandbox over HTTP, email through Django's locmem backend."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from dtconsole.audit.models import AuditEntry
from dtconsole.notifications import services
from dtconsole.notifications.models import Notification, NotificationSettings
from dtconsole.notifications.queries import sent_this_month
from dtconsole.sync import tasks as sync_tasks
from dtconsole.sync.models import SyncJob
from tests.notification_helpers import (
    choose,
    failing_job,
    received,
    run_tasks_inline,
    synced_provider,
    waiting_job,
)

pytestmark = pytest.mark.django_db

SMTP = "django.core.mail.backends.smtp.EmailBackend"
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture(autouse=True)
def inline(monkeypatch, settings):
    run_tasks_inline(monkeypatch)
    settings.PUBLIC_URL = "https://console.example.com/"
    settings.EMAIL_BACKEND, settings.EMAIL_HOST = SMTP, ""  # email is off unless a test says


@pytest.fixture
def synced(sandbox):
    return synced_provider(sandbox)


def rows(**filters) -> list[Notification]:
    return list(Notification.objects.filter(**filters).order_by("id"))


def test_a_failed_job_sends_one_work_notification_to_the_chosen_userids_with_the_link(
    sandbox, synced, admin_user, django_capture_on_commit_callbacks
):
    provider, app, _people = synced
    choose(admin_user, provider)
    job = failing_job(sandbox, app, provider, django_capture_on_commit_callbacks)
    (message,) = received(sandbox)
    link = f"https://console.example.com/sync/jobs/{job.pk}/"
    assert message["userids"] == ["ann", "bob"] and message["delivered"] == ["ann", "bob"]
    assert message["agent_id"] == int(app["agent_id"]) and message["msgtype"] == "action_card"
    card = message["content"]
    assert card["single_url"] == link and link in card["markdown"]
    assert f"Sync job #{job.pk} of “Sandbox” failed" == card["title"]
    assert "qyapi_get_department_list" in card["markdown"] or "permission" in card["markdown"]
    (row,) = rows(kind="job_failed")
    assert row.outcome == "sent" and row.task_id == message["task_id"] and row.job == job
    assert row.channel == "dingtalk" and row.recipients == ["ann", "bob"]


def test_a_job_that_stops_for_approval_sends_one_work_notification_with_the_link(
    sandbox, synced, admin_user, django_capture_on_commit_callbacks
):
    provider, _app, people = synced
    choose(admin_user, provider, dingtalk_userids=["ann"])
    job = waiting_job(people, provider, django_capture_on_commit_callbacks)
    (message,) = received(sandbox)
    assert message["delivered"] == ["ann"]
    card = message["content"]
    assert card["single_url"] == f"https://console.example.com/sync/jobs/{job.pk}/"
    assert "awaits approval" in card["title"] and "approve or reject" in card["markdown"]
    assert rows(kind="job_awaiting_approval", outcome="sent")


def test_a_second_failure_within_the_interval_is_recorded_as_suppressed_and_not_sent(
    sandbox, synced, admin_user, django_capture_on_commit_callbacks
):
    provider, app, _people = synced
    choose(admin_user, provider)
    failing_job(sandbox, app, provider, django_capture_on_commit_callbacks)
    second = failing_job(sandbox, app, provider, django_capture_on_commit_callbacks)
    assert len(received(sandbox)) == 1
    first, suppressed = rows(kind="job_failed")
    assert first.outcome == "sent" and suppressed.outcome == "suppressed"
    assert suppressed.job == second and suppressed.task_id is None
    assert "less than 60 minutes earlier" in suppressed.detail_text


def test_after_the_interval_the_next_failure_is_sent_again(
    sandbox, synced, admin_user, django_capture_on_commit_callbacks
):
    provider, app, _people = synced
    choose(admin_user, provider, min_interval_minutes=5)
    failing_job(sandbox, app, provider, django_capture_on_commit_callbacks)
    Notification.objects.update(created_at=timezone.now() - timedelta(minutes=6))
    failing_job(sandbox, app, provider, django_capture_on_commit_callbacks)
    assert [r.outcome for r in rows(kind="job_failed")] == ["sent", "sent"]
    first, second = received(sandbox)
    assert first["content"]["title"] != second["content"]["title"]  # the job number


def test_the_interval_is_per_kind_of_event(
    sandbox, synced, admin_user, django_capture_on_commit_callbacks
):
    provider, app, people = synced
    choose(admin_user, provider)
    waiting_job(people, provider, django_capture_on_commit_callbacks)
    SyncJob.objects.filter(status="awaiting_approval").update(status="cancelled")
    failing_job(sandbox, app, provider, django_capture_on_commit_callbacks)
    assert len(received(sandbox)) == 2


def test_a_run_that_succeeds_or_a_provider_with_notifications_off_sends_nothing(
    sandbox, synced, admin_user, django_capture_on_commit_callbacks
):
    provider, app, _people = synced
    choose(admin_user, provider, enabled=False)
    failing_job(sandbox, app, provider, django_capture_on_commit_callbacks)
    assert received(sandbox) == [] and rows() == []


def stale(provider, hours: int) -> None:
    """Date the provider's last successful full sync ``hours`` ago."""
    SyncJob.objects.filter(provider=provider, status="succeeded").update(
        finished_at=timezone.now() - timedelta(hours=hours)
    )


def test_the_freshness_check_sends_once_for_a_provider_past_its_window(sandbox, synced, admin_user):
    provider, _app, _people = synced
    choose(admin_user, provider, freshness_hours=24, min_interval_minutes=1)
    sync_tasks.sync_watchdog()
    assert received(sandbox) == []  # synced a moment ago
    stale(provider, 25)
    sync_tasks.sync_watchdog()
    Notification.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    sync_tasks.sync_watchdog()  # past the interval: still told once for this stretch
    (message,) = received(sandbox)
    card = message["content"]
    assert "no successful full sync for 24 hours" in card["title"]
    assert card["single_url"] == f"https://console.example.com/providers/{provider.pk}/"
    (row,) = rows(kind="provider_stale")
    assert row.outcome == "sent" and row.job is None


def test_a_provider_stale_again_after_a_new_successful_sync_is_told_again(
    sandbox, synced, admin_user
):
    provider, _app, _people = synced
    choose(admin_user, provider, freshness_hours=1, min_interval_minutes=1)
    stale(provider, 3)
    sync_tasks.sync_watchdog()
    Notification.objects.update(created_at=timezone.now() - timedelta(hours=2, minutes=30))
    stale(provider, 2)  # a sync finished after that notification, and is old again
    sync_tasks.sync_watchdog()
    assert len(received(sandbox)) == 2


def test_a_window_of_zero_never_reports_a_provider_stale(sandbox, synced, admin_user):
    provider, _app, _people = synced
    choose(admin_user, provider, freshness_hours=0)
    stale(provider, 24 * 30)
    sync_tasks.sync_watchdog()
    assert received(sandbox) == [] and rows() == []


def test_quota_exhausted_is_recorded_with_what_it_means(
    sandbox, synced, admin_user, django_capture_on_commit_callbacks
):
    provider, app, _people = synced
    choose(admin_user, provider)
    sandbox.control("POST", "quota", app_key=app["app_key"], used=5000)
    failing_job(sandbox, app, provider, django_capture_on_commit_callbacks)
    assert received(sandbox) == []
    (row,) = rows()
    assert row.outcome == "quota_exhausted" and row.errcode == "90020"
    assert row.get_outcome_display() == "Quota exhausted"
    assert "monthly API call quota is used up" in row.detail_text
    assert "next month" in row.detail_text and "address-book sync" in row.detail_text
    assert sent_this_month(provider) == 0


def test_email_goes_out_with_the_link_where_email_is_configured(
    sandbox, synced, admin_user, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND, settings.EMAIL_HOST = LOCMEM, "smtp.example.com"
    provider, app, _people = synced
    choose(admin_user, provider, emails=["ops@example.com", "it@example.com"])
    job = failing_job(sandbox, app, provider, django_capture_on_commit_callbacks)
    (email,) = mail.outbox
    assert email.to == ["ops@example.com", "it@example.com"]
    assert f"Sync job #{job.pk} of “Sandbox” failed" in email.subject
    assert f"https://console.example.com/sync/jobs/{job.pk}/" in email.body
    assert sorted(r.channel for r in rows(outcome="sent")) == ["dingtalk", "email"]


def test_no_email_is_attempted_where_email_is_not_configured(
    sandbox, synced, admin_user, django_capture_on_commit_callbacks
):
    provider, app, _people = synced
    choose(admin_user, provider, emails=["ops@example.com"])
    failing_job(sandbox, app, provider, django_capture_on_commit_callbacks)
    assert mail.outbox == []
    assert [r.channel for r in rows()] == ["dingtalk"]


def test_sent_this_month_counts_the_work_notifications_dingtalk_accepted(
    sandbox, synced, admin_user, django_capture_on_commit_callbacks
):
    provider, app, _people = synced
    choose(admin_user, provider)
    failing_job(sandbox, app, provider, django_capture_on_commit_callbacks)
    failing_job(sandbox, app, provider, django_capture_on_commit_callbacks)  # suppressed
    assert sent_this_month(provider) == 1
    Notification.objects.update(sent_at=timezone.now() - timedelta(days=40))
    assert sent_this_month(provider) == 0


def test_a_delivery_check_keeps_who_dingtalk_delivered_to(
    sandbox, synced, admin_user, django_capture_on_commit_callbacks
):
    provider, app, _people = synced
    choose(admin_user, provider)
    failing_job(sandbox, app, provider, django_capture_on_commit_callbacks)
    row = services.notification_check_delivery(admin_user, rows()[0])
    assert row.send_result["delivered"] == ["ann", "bob"] and row.send_result["invalid"] == []
    assert row.result_checked_at is not None
    assert AuditEntry.objects.filter(action="notifications.check_delivery").exists()


def test_only_a_sent_work_notification_has_a_delivery_result(
    sandbox, synced, admin_user, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = LOCMEM
    provider, app, _people = synced
    choose(admin_user, provider, dingtalk_userids=[], emails=["ops@example.com"])
    failing_job(sandbox, app, provider, django_capture_on_commit_callbacks)
    with pytest.raises(services.NotificationError):
        services.notification_check_delivery(admin_user, rows()[0])


# --- settings -------------------------------------------------------------------------------


def test_settings_changes_are_audited_with_readable_values(synced, admin_user):
    provider, _app, _people = synced
    choose(admin_user, provider, freshness_hours=6)
    entry = AuditEntry.objects.get(action="notifications.update_settings")
    assert entry.object_id == str(provider.pk) and entry.actor_name == "admin"
    assert entry.before["enabled"] == "off" and entry.after["enabled"] == "on"
    assert entry.after["dingtalk_userids"] == ["ann", "bob"]
    assert entry.after["freshness_hours"] == "6 hours"
    assert entry.after["min_interval_minutes"] == "60 minutes" and entry.after["version"] == 1


def test_recipients_must_be_userids_the_provider_linked(synced, admin_user):
    provider, _app, _people = synced
    with pytest.raises(ValidationError) as refusal:
        choose(admin_user, provider, dingtalk_userids=["ann", "nobody"])
    assert "nobody is not the DingTalk userid" in str(refusal.value.message_dict)


def test_emails_must_be_addresses_and_switching_on_needs_a_recipient(synced, admin_user):
    provider, _app, _people = synced
    with pytest.raises(ValidationError) as refusal:
        choose(admin_user, provider, dingtalk_userids=[], emails=["not-an-address"])
    assert "not-an-address" in str(refusal.value.message_dict["emails"])
    with pytest.raises(ValidationError) as refusal:
        choose(admin_user, provider, dingtalk_userids=[])
    assert "at least one recipient" in str(refusal.value.message_dict)


def test_the_interval_must_be_at_least_a_minute(synced, admin_user):
    provider, _app, _people = synced
    with pytest.raises(ValidationError) as refusal:
        choose(admin_user, provider, min_interval_minutes=0)
    assert "min_interval_minutes" in refusal.value.message_dict


def test_a_change_made_from_an_older_version_is_refused_and_nothing_is_written(synced, admin_user):
    provider, _app, _people = synced
    choose(admin_user, provider)
    data = {"dingtalk_userids": ["cai"]}
    with pytest.raises(services.StaleNotificationSettings) as refusal:
        services.notification_settings_update(admin_user, provider, data, version=0)
    assert refusal.value.current.version == 1
    assert NotificationSettings.objects.get(provider=provider).dingtalk_userids == ["ann", "bob"]
    saved = services.notification_settings_update(admin_user, provider, data, version=1)
    assert saved.version == 2 and saved.dingtalk_userids == ["cai"]


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_the_settings_service_refuses_operators_and_viewers(synced, role):
    from dtconsole.access.services import AccessDenied
    from tests.factories import make_user

    provider, _app, _people = synced
    with pytest.raises(AccessDenied):
        choose(make_user("someone", role), provider)
    assert not Notification.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="notifications.").exists()
