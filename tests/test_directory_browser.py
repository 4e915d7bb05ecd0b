"""The directory pages in a real chromium: the htmx tree, the membership editor, the search."""

import pytest
from playwright.sync_api import expect

from .factories import make_account, make_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def directory():
    head = make_org("Head office")
    sales = make_org("Sales", parent=head)
    east = make_org("East", parent=sales)
    make_org("Support", parent=head)
    account = make_account("zhang.wei", orgs=[east], display_name="Zhang Wei")
    make_account("li.na", orgs=[east], display_name="Li Na")
    return {"head": head, "sales": sales, "east": east, "account": account}


def test_expanding_a_tree_node_loads_its_children_and_collapsing_hides_them(
    directory, logged_in_page, live_server
):
    page = logged_in_page
    page.goto(f"{live_server.url}/directory/")
    sales = directory["sales"]
    children = page.locator(f"#org-{sales.pk}-children")
    expect(page.locator(f"#org-{directory['head'].pk}")).to_contain_text("Support")
    expect(children).to_be_hidden()
    toggle = page.locator(f"#org-{sales.pk} > .node .toggle")
    with page.expect_response(f"**/directory/orgs/{sales.pk}/children/"):
        toggle.click()
    expect(children.get_by_role("link", name="East")).to_be_visible()
    expect(children).to_contain_text("2 direct · 2 in subtree")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    toggle.click()
    expect(children).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(children.get_by_role("link", name="East")).to_be_visible()
    expect(children.locator("li")).to_have_count(1)


def test_searching_the_account_list_and_managing_memberships(
    directory, logged_in_page, live_server
):
    page = logged_in_page
    page.goto(f"{live_server.url}/directory/accounts/")
    expect(page.locator("tbody tr")).to_have_count(2)
    page.fill("#id_q", "zhang")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    page.get_by_role("link", name="Zhang Wei").click()
    expect(page.get_by_role("heading", name="Zhang Wei")).to_be_visible()

    page.fill("#id_organization_search", "Sales")
    option = page.get_by_label("Head office / Sales", exact=True)
    option.check()
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Added to “Sales”.")
    rows = page.locator("#memberships tbody tr")
    expect(rows).to_have_count(2)
    sales_row = rows.filter(has_text="Head office / Sales").filter(has_not_text="East")
    sales_row.get_by_role("button", name="Make primary").click()
    expect(page.locator(".messages")).to_contain_text("“Sales” is now the primary organisation.")
    sales_row = page.locator("#memberships tbody tr").filter(has_not_text="East")
    expect(sales_row.locator(".badge.primary")).to_be_visible()
    east_row = page.locator("#memberships tbody tr").filter(has_text="East")
    expect(east_row.get_by_role("button", name="Make primary")).to_be_visible()


def test_creating_an_account_in_two_organisations_picked_by_search(
    directory, logged_in_page, live_server
):
    page = logged_in_page
    page.goto(f"{live_server.url}/directory/accounts/new/")
    page.fill("#id_username", "wang.fang")
    page.fill("#id_display_name", "Wang Fang")
    page.fill("#id_organizations_search", "Support")
    page.get_by_label("Head office / Support").check()
    page.fill("#id_organizations_search", "East")
    page.locator(".org-picker-results li", has_text="East").get_by_label("primary").check()
    expect(page.locator(".org-picker-selected li")).to_have_count(2)
    page.get_by_role("button", name="Create").click()
    expect(page.locator(".messages")).to_contain_text("Account “wang.fang” created.")
    rows = page.locator("#memberships tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="East").locator(".badge.primary")).to_be_visible()
