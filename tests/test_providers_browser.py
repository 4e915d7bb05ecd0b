"""A new admin walks the whole Bind DingTalk wizard in chromium, against the sandbox."""

import pytest

from dtconsole.providers.models import IdentityProvider
from tests.factories import make_account, make_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_binds_the_demo_app_through_all_four_steps_and_saves_only(
    logged_in_page, live_server, sandbox
):
    page = logged_in_page
    app = sandbox.app()
    org = make_org("Engineering", code="eng")
    make_account("lina", display_name="李娜", mobile="13900139000", orgs=[org])

    page.goto(f"{live_server.url}/providers/")
    page.click("text=Bind DingTalk")
    page.fill("#id_name", "Demo DingTalk")
    page.fill("#id_corp_id", app["corp_id"])
    page.fill("#id_app_key", app["app_key"])
    page.fill("#id_app_secret", app["app_secret"])
    page.fill("#id_agent_id", app["agent_id"])
    page.click("summary")
    for field in ("oapi_base", "api_base", "login_base"):
        page.fill(f"#id_{field}", sandbox.url)
    page.click("text=Next")

    page.wait_for_selector("text=2. Assign permissions")
    page.click("text=Next: verify with DingTalk")

    page.wait_for_selector("text=3. Select scenario")
    assert page.is_visible("text=Test on a small scope first.")
    page.fill("#id_scope-0-organization", "eng")
    page.fill("#id_scope-0-target_dept_id", "1")
    page.press("#id_scope-0-target_dept_id", "Tab")
    page.wait_for_selector("#dept-name-0 .badge.ok")
    page.check("#id_incremental_enabled")
    page.click("button:has-text('Next')")

    page.wait_for_selector("text=4. Field mapping")
    page.click("#add-field")
    row = page.locator("#mapping-rows tr").last
    row.locator("input[name$='-display_name']").fill("Office")
    row.locator("input[name$='-target']").fill("work_place")
    row.locator("input[name$='-source']").fill("work_place")
    page.fill("#preview-username", "lina")
    page.click("text=Preview payload")
    page.wait_for_selector("#preview table.payload")
    assert "13900139000" in page.inner_text("#preview")
    page.click("text=Save Only")

    page.wait_for_selector("text=Field mapping saved")
    provider = IdentityProvider.objects.get()
    assert provider.is_bound and provider.incremental_enabled
    assert provider.field_mappings.filter(target="work_place").exists()
    assert app["app_secret"] not in page.content()
