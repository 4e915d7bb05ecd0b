"""In the browser: an admin picks a DingTalk recipient, a sync fails on a real worker, and
the work notification shows on the DingTalk sandbox's page with the link to the job."""

import pytest

from connectors.dingtalk.scopes import SCOPES
from dtconsole.notifications.models import Notification
from dtconsole.sync.models import SyncJob
from tests.notification_helpers import received, synced_provider
from tests.test_sync_worker import kill, start_worker, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_sets_recipients_a_job_fails_and_the_message_shows_on_the_sandbox_page(
    logged_in_page, live_server, sandbox, tmp_path, monkeypatch
):
    page = logged_in_page
    provider, app, _people = synced_provider(sandbox)
    page.goto(f"{live_server.url}/providers/{provider.pk}/")
    page.click("#modify-menu summary")
    page.click("#modify-menu >> text=Notifications")
    page.check("#id_enabled")
    page.fill("#recipient-search", "Ann")
    page.click("[data-add-recipient='ann']")
    assert page.input_value("#id_dingtalk_userids") == "ann"
    page.click("#notification-form button.primary")
    page.wait_for_selector("text=Notification settings saved.")
    assert "Ann Admin" in page.inner_text("#notification-form")

    scopes = [s.code for s in SCOPES if s.code != "qyapi_get_department_list"]
    sandbox.app(**app, scopes=scopes)  # the next sync fails: departments cannot be read
    monkeypatch.setenv("PUBLIC_URL", live_server.url)  # the worker's links point here
    worker = start_worker(tmp_path, 1)
    try:
        page.goto(f"{live_server.url}/providers/{provider.pk}/")
        page.click("text=Sync now")
        wait_for(lambda: SyncJob.objects.filter(status="failed").exists(), 60, "the failed job")
        wait_for(lambda: received(sandbox), 30, "the work notification")
    finally:
        kill(worker)
    job = SyncJob.objects.get(status="failed")
    (message,) = received(sandbox)
    assert message["delivered"] == ["ann"]
    link = f"{live_server.url}/sync/jobs/{job.pk}/"
    assert message["content"]["single_url"] == link

    page.goto(sandbox.url + "/")
    text = page.inner_text("body")
    assert f"Sync job #{job.pk} of “Sandbox” failed" in text and link in text

    page.goto(f"{live_server.url}/notifications/providers/{provider.pk}/")
    assert "Sent this month: 1 work notification." in page.inner_text("#notification-quota")
    row = page.locator(f"#notification-{Notification.objects.get().pk}")
    assert "Sent" in row.inner_text() and str(message["task_id"]) in row.inner_text()
