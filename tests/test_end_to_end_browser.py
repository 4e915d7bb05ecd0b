"""The whole product in one walk: bind in the browser, Save and Sync, a real worker syncs,
and a later directory edit reaches DingTalk within seconds."""

import time

import pytest

from dtconsole.sync.models import SyncJob
from tests.factories import make_account, make_org
from tests.test_sync_engine import dingtalk
from tests.test_sync_worker import kill, start_worker, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def bind(page, live_server, app, sandbox_url, org_code):
    page.goto(f"{live_server.url}/providers/bind/")
    page.fill("#id_name", "Demo DingTalk")
    for field in ("corp_id", "app_key", "app_secret", "agent_id"):
        page.fill(f"#id_{field}", app[field])
    page.click("summary")
    for field in ("oapi_base", "api_base", "login_base"):
        page.fill(f"#id_{field}", sandbox_url)
    page.click("text=Next")
    page.click("text=Next: verify with DingTalk")
    page.fill("#id_scope-0-organization", org_code)
    page.check("#id_incremental_enabled")
    page.click("button:has-text('Next')")
    page.click("text=Save and Sync")


def test_save_and_sync_then_an_edit_reach_dingtalk_through_a_worker(
    logged_in_page, live_server, sandbox, tmp_path
):
    page = logged_in_page
    app = sandbox.app()
    company = make_org("Company", code="co")
    rd = make_org("研发中心", parent=company, code="rd")
    team = make_org("Platform", parent=rd, code="pf")
    people = [make_account(f"e2e{i}", orgs=[(rd, team)[i % 2]]) for i in range(6)]
    worker = start_worker(tmp_path, 1)
    try:
        bind(page, live_server, app, sandbox.url, "co")
        page.wait_for_selector("text=Sync job")
        # Generous: a loaded CI machine starts the worker and runs the job more slowly.
        wait_for(lambda: SyncJob.objects.filter(status="succeeded").exists(), 120, "the full sync")
        depts, users = dingtalk(sandbox, app["corp_id"])
        names = {d["name"]: d for d in depts.values()}
        assert names["Platform"]["parent_id"] == names["研发中心"]["dept_id"]
        assert sorted(users) == sorted(p.username for p in people)

        page.goto(f"{live_server.url}/directory/accounts/{people[0].pk}/edit/")
        page.fill("#id_title", "Staff Engineer")
        started = time.monotonic()
        page.click("main button[type=submit]")
        wait_for(
            lambda: dingtalk(sandbox, app["corp_id"])[1]["e2e0"].get("title") == "Staff Engineer",
            30,
            "the edit in DingTalk",
        )
        assert time.monotonic() - started < 30
    finally:
        kill(worker)
    page.goto(f"{live_server.url}/sync/objects/user/{people[0].pk}/")
    assert "Staff Engineer" in page.content()
