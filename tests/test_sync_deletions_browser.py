"""Deletion safety in chromium: disabling an account shows what leaves DingTalk; the run stops
at the threshold; the job page lists the deletion and an approval carries it out."""

import pytest
from playwright.sync_api import expect

from dtconsole.sync import engine
from dtconsole.sync.models import SyncJob
from tests.factories import make_account, make_org, make_provider
from tests.test_sync_engine import dingtalk, run_full

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def run_queued() -> None:
    for job in SyncJob.objects.filter(status="queued").order_by("id"):
        engine.run_job(job.pk)


def test_disabling_shows_its_consequence_stops_for_approval_and_is_approved(
    logged_in_page, live_server, sandbox
):
    page = logged_in_page
    company = make_org("Company", code="co")
    people = [make_account(f"p{n}", orgs=[company], display_name=f"员工{n}") for n in range(3)]
    provider = make_provider(
        sandbox, sandbox.app(), [(company, 1)], name="Acme", incremental_enabled=True
    )
    assert run_full(provider).status == "succeeded"

    page.goto(f"{live_server.url}/directory/accounts/{people[0].pk}/")
    page.click("text=Disable")
    consequences = page.locator("section.consequences")
    expect(consequences).to_contain_text("Acme: removes 1 users and 0 departments from DingTalk")
    expect(consequences).to_contain_text("This will stop for approval")
    page.click("button:has-text('Disable')")
    expect(page.locator(".messages")).to_contain_text("disabled")

    run_queued()
    job = SyncJob.objects.get(status="awaiting_approval")
    page.goto(f"{live_server.url}/sync/jobs/{job.pk}/")
    approval = page.locator("#approval")
    expect(approval).to_contain_text("员工0")
    expect(approval).to_contain_text("stopped before changing anything")
    assert "p0" in dingtalk(sandbox, provider.corp_id)[1]
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('Approve deletions')")
    expect(page.locator(".messages")).to_contain_text("approved")
    run_queued()
    page.reload()
    expect(page.locator("#job-status")).to_contain_text("Succeeded")
    assert "p0" not in dingtalk(sandbox, provider.corp_id)[1]
