"""A new admin walks the whole Bind DingTalk wizard in chromium, against the sandbox."""

import pytest

from dtconsole.providers.models import IdentityProvider
from tests.factories import make_account, make_org, make_provider

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
    page.wait_for_selector("#dept-name-scope-0 .badge.ok")
    page.check("#id_incremental_enabled")
    page.click("button:has-text('Next')")

    page.wait_for_selector("text=4. Field mapping")
    page.click("#add-field")
    row = page.locator("#mapping-rows tr").last
    row.locator("input[name$='-display_name']").fill("Office")
    row.locator("input[name$='-target']").fill("work_place")
    row.locator("select[name$='-attribute']").select_option("work_place")
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


def test_step_three_finds_an_organisation_fills_the_row_and_previews_each_placement(
    logged_in_page, live_server, sandbox
):
    page = logged_in_page
    provider = make_provider(
        sandbox, sandbox.app(corp_name="全公司"), [], step=IdentityProvider.Step.SCENARIO
    )
    finance = make_org("财务中心", code="fin")
    make_org("会计部", parent=finance, code="acc")
    make_account("ann", orgs=[finance])
    make_org("Sales", code="sales")

    page.goto(f"{live_server.url}/providers/{provider.pk}/step/3/")
    page.wait_for_selector("#scope-preview >> text=Enter an organisation")
    page.fill("#org-search", "财务")
    match = page.locator("#org-matches button[data-fill-org='fin']")
    match.wait_for()
    assert match.is_visible() and "财务中心" in match.inner_text()
    match.click()
    assert page.input_value("#id_scope-0-organization") == "fin"
    assert page.locator("#org-matches li").count() == 0
    under = "财务中心 becomes a new department under DingTalk department 1 全公司"
    page.wait_for_selector(f"#scope-preview >> text={under}")
    assert page.is_visible("#scope-preview .tree-preview >> text=会计部")
    assert page.is_checked("#id_scope-0-placement_0")

    page.check("#id_scope-0-placement_1")
    page.wait_for_selector("#scope-preview >> text=The contents of 财务中心 merge into")
    assert page.is_visible("#scope-preview >> text=1 direct member joins this department")

    page.fill("#org-search", "sales")
    page.click("#org-matches button[data-fill-org='sales']")
    assert page.input_value("#id_scope-1-organization") == "sales"
    page.wait_for_selector("#dept-name-scope-1 .badge.ok")
    page.wait_for_selector("#scope-preview >> text=Sales becomes a new department under")
    page.click("button:has-text('Next')")

    page.wait_for_selector("text=4. Field mapping")
    placements = dict(provider.scopes.values_list("organization__code", "placement"))
    assert placements == {"fin": "merge", "sales": "under"}


def test_the_modify_menu_leads_to_the_sync_settings_which_save(logged_in_page, live_server):
    from tests.api_helpers import offline_provider

    page = logged_in_page
    provider = offline_provider(qps=20)
    page.goto(f"{live_server.url}/providers/{provider.pk}/")
    assert not page.is_visible("#modify-menu >> text=Sync settings")
    page.click("#modify-menu summary")
    page.click("#modify-menu >> text=Sync settings")
    page.wait_for_selector("h1:has-text('Sync settings')")
    page.check("#id_delete_policy_1")
    page.fill("#id_qps", "60")
    page.click("button:has-text('Save')")
    page.wait_for_selector("text=Sync settings saved.")
    assert page.is_visible("#sync-settings >> text=Keep in DingTalk, stop managing")
    provider.refresh_from_db()
    assert provider.qps == 60 and provider.delete_policy == "unlink"


SELECT_ROOM = """() => [...document.querySelectorAll('#mapping-rows select')]
    .filter(s => s.offsetParent !== null)
    .map(s => {
        const ctx = document.createElement('canvas').getContext('2d');
        const style = getComputedStyle(s);
        ctx.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
        const text = s.options[s.selectedIndex] ? s.options[s.selectedIndex].text : '';
        const arrow = 20;
        const room = s.clientWidth - parseFloat(style.paddingLeft) - arrow;
        return {name: s.name, text, need: Math.ceil(ctx.measureText(text).width), room};
    })"""


def test_the_mapping_editor_fits_1366_pixels_with_its_errors_on_their_rows(
    logged_in_page, live_server, sandbox
):
    page = logged_in_page
    page.set_viewport_size({"width": 1366, "height": 900})
    org = make_org("Engineering", code="eng")
    make_account("lina", orgs=[org], extra={"badge": "A1"})
    provider = make_provider(sandbox, sandbox.app(), [(org, 1)])
    page.goto(f"{live_server.url}/providers/{provider.pk}/step/4/")
    wrap = page.locator("#mapping-form .table-wrap")
    assert wrap.evaluate("w => w.scrollWidth <= w.clientWidth"), "the table scrolls sideways"
    cut = [s for s in page.evaluate(SELECT_ROOM) if s["need"] > s["room"]]
    assert cut == [], f"selects too narrow for their text: {cut}"

    row = page.locator("#mapping-rows tr.mapping-row").nth(3)  # title
    assert row.locator("select[name$='-attribute']").is_visible()
    assert not row.locator("input[name$='-source']").is_visible()
    row.locator("select[name$='-source_kind']").select_option("expression")
    box = row.locator("input[name$='-source']")
    assert box.is_visible() and box.bounding_box()["width"] >= 280
    box.fill("lowr(title)")
    page.click("text=Save Only")
    page.wait_for_selector("tr.mapping-errors")
    errors = (
        page.locator("#mapping-rows tr.mapping-row")
        .nth(3)
        .locator("xpath=following-sibling::tr[1]")
    )
    assert "lowr" in errors.inner_text() and "mapping-errors" in errors.get_attribute("class")
    assert page.locator("#mapping-form > .errorlist").count() == 0

    page.click("text=Cancel")
    page.wait_for_url(f"{live_server.url}/providers/{provider.pk}/")
    assert provider.field_mappings.get(target="title").source_kind == "attribute"
