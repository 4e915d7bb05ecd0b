"""The header's 中文 / English switch in chromium, with JavaScript off: a plain form."""

import pytest
from playwright.sync_api import expect

from tests.conftest import ADMIN_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def no_script_page(chromium):
    context = chromium.new_context(locale="en-US", java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_a_visitor_switches_to_chinese_on_the_login_page_and_the_user_keeps_it(
    no_script_page, live_server, admin_user
):
    page = no_script_page
    page.goto(f"{live_server.url}/login/?next=/sync/events/")
    expect(page.get_by_role("heading", name="Log in to dtconsole")).to_be_visible()
    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name="登录dtconsole")).to_be_visible()
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", ADMIN_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(f"{live_server.url}/sync/events/")
    expect(page.get_by_role("heading", name="同步事件")).to_be_visible()
    page.get_by_role("button", name="English").click()
    page.wait_for_url(f"{live_server.url}/sync/events/")
    expect(page.get_by_role("heading", name="Sync events")).to_be_visible()
