"""The console tells the truth at a glance, in a real chromium: the dashboard and its banner,
job lists that refresh themselves while a job runs, an account's DingTalk side and its Link."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dtconsole.sync.models import SyncEvent, SyncJob, UserConflict, UserLink, WorkerHeartbeat
from tests.factories import make_account, make_org, make_provider
from tests.test_sync_convergence import seed_user
from tests.test_sync_engine import run_full
from tests.test_sync_incremental import run_queued

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def figure(page, name: str):
    return page.locator(f"[data-figure='{name}']")


def test_the_dashboard_shows_a_dead_worker_a_failed_and_a_waiting_job_with_links(
    logged_in_page, live_server, sandbox
):
    page = logged_in_page
    WorkerHeartbeat.objects.create(
        host="old-box", pid=7, seen_at=timezone.now() - timedelta(minutes=10)
    )
    company = make_org("Company", code="co")
    ann = make_account("ann", orgs=[company], display_name="Ann")
    provider = make_provider(sandbox, sandbox.app(), [(company, 1)])
    failed = SyncJob.objects.create(
        provider=provider,
        kind="full",
        trigger="manual",
        status="failed",
        finished_at=timezone.now(),
    )
    SyncEvent.objects.create(
        job=failed,
        provider=provider,
        object_type="user",
        source_id=ann.pk,
        source_name="Ann",
        action="create",
        status="failed",
        message="DingTalk refused %(name)s.",
        message_args={"name": "Ann"},
    )
    waiting = SyncJob.objects.create(
        provider=provider, kind="full", trigger="manual", status="awaiting_approval"
    )

    page.goto(f"{live_server.url}/")
    banner = page.locator("#worker-banner")
    assert banner.is_visible()
    assert "make run" in banner.inner_text() and "manage.py qcluster" in banner.inner_text()
    assert "old-box" in page.inner_text("#workers")
    assert figure(page, "failing").locator(".stat-value").inner_text() == "1"
    assert figure(page, "awaiting").locator(".stat-value").inner_text() == "1"
    assert "never" in figure(page, "last-success").inner_text()
    assert f"#{waiting.pk}" in figure(page, "last-job").inner_text()

    figure(page, "awaiting").click()
    page.wait_for_url("**/sync/jobs/?**status=awaiting_approval**")
    assert page.locator(f"a[href='/sync/jobs/{waiting.pk}/']").count() == 1
    assert page.locator(f"a[href='/sync/jobs/{failed.pk}/']").count() == 0

    page.go_back()
    figure(page, "failing").click()
    page.wait_for_url("**/sync/events/?**failing=on**")
    assert "DingTalk refused Ann." in page.inner_text("main")
    assert page.locator("#id_failing").is_checked()

    page.go_back()
    figure(page, "last-job").click()
    page.wait_for_url(f"**/sync/jobs/{waiting.pk}/")
    page.context.clear_cookies()  # an anonymous visitor's login page has no banner
    page.goto(f"{live_server.url}/login/")
    assert page.locator("#worker-banner").count() == 0


def test_a_job_finishing_while_the_provider_page_is_open_updates_it_without_a_reload(
    logged_in_page, live_server, sandbox
):
    page = logged_in_page
    company = make_org("Company", code="co")
    provider = make_provider(sandbox, sandbox.app(), [(company, 1)])
    job = SyncJob.objects.create(provider=provider, kind="full", trigger="wizard")

    page.goto(f"{live_server.url}/providers/{provider.pk}/")
    page.evaluate("() => { window.notReloaded = true; }")
    jobs = page.locator("#recent-jobs")
    assert "Queued" in jobs.inner_text()
    assert page.locator("#job-table[hx-trigger]").count() == 1

    SyncJob.objects.filter(pk=job.pk).update(status="running", started_at=timezone.now())
    page.wait_for_selector("#recent-jobs .badge:has-text('Running')")
    SyncJob.objects.filter(pk=job.pk).update(
        status="succeeded", finished_at=timezone.now(), counters={"user_create": 3}
    )
    page.wait_for_selector("#recent-jobs .badge:has-text('Succeeded')")
    assert "+3" in jobs.inner_text()
    assert page.evaluate("() => window.notReloaded === true")
    assert page.locator("#job-table[hx-trigger]").count() == 0  # polling stopped

    page.goto(f"{live_server.url}/")  # the dashboard too polls only while a job runs
    assert page.locator("#dashboard-providers[hx-trigger]").count() == 0
    SyncJob.objects.create(provider=provider, kind="incremental", trigger="change")
    page.reload()
    assert page.locator("#dashboard-providers[hx-trigger]").count() == 1
    SyncJob.objects.filter(status="queued").update(status="failed", finished_at=timezone.now())
    page.wait_for_selector("#dashboard-providers:not([hx-trigger]) [data-figure='last-job']")
    assert "Failed" in figure(page, "last-job").inner_text()


def test_the_account_page_shows_its_dingtalk_side_and_links_a_conflict_to_its_holder(
    logged_in_page, live_server, sandbox
):
    page = logged_in_page
    company = make_org("Company", code="co")
    make_account("ann", orgs=[company], display_name="Ann")
    provider = make_provider(sandbox, sandbox.app(), [(company, 1)], match_keys=["userid"])
    provider.name = "Acme DingTalk"
    provider.save()
    assert run_full(provider).status == "succeeded"
    seed_user(sandbox, provider, "stranger", "13950050002", name="陌生人")
    kim = make_account("kim", orgs=[company], display_name="Kim", mobile="13950050002")
    outsider = make_account("olga", orgs=[make_org("Elsewhere")], display_name="Olga")
    assert run_full(provider).status == "failed"  # its only change: kim, refused
    assert UserConflict.objects.get(account_ref=kim.pk).holder_userid == "stranger"

    page.goto(f"{live_server.url}/directory/accounts/{outsider.pk}/")
    side = page.locator("#dingtalk .dingtalk-side")
    assert side.get_attribute("data-state") == "outside"
    assert "not in DingTalk by design" in side.inner_text()

    page.goto(f"{live_server.url}/directory/accounts/{kim.pk}/")
    side = page.locator("#dingtalk .dingtalk-side")
    assert side.get_attribute("data-state") == "waiting"
    text = side.inner_text()
    assert "Acme DingTalk" in text and "Failed" in text and "陌生人" in text
    assert "stranger" in text and "13950050002" in text
    assert page.locator("#dingtalk a:has-text('Sync history')").count() == 1

    page.once("dialog", lambda dialog: dialog.accept())
    side.locator("button:has-text('Link to this DingTalk user')").click()
    page.wait_for_selector(".msg-success")
    assert page.url.endswith(f"/directory/accounts/{kim.pk}/")
    assert "is now linked to DingTalk user stranger" in page.inner_text(".messages")
    side = page.locator("#dingtalk .dingtalk-side")
    assert side.get_attribute("data-state") == "linked"
    assert "Linked to userid stranger" in side.inner_text()
    assert "Link to this DingTalk user" not in side.inner_text()
    assert UserLink.objects.get(account_ref=kim.pk).userid == "stranger"

    (job,) = run_queued()  # the re-push the link queued
    assert job.status == "succeeded", job.error_text
    page.reload()
    assert "Success" in page.locator("#dingtalk .dingtalk-side").inner_text()
