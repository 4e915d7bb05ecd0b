"""A person logs in to the console with DingTalk in chromium (the sandbox stands in for the
QR code scan)."""

import pytest

from dtconsole.sync.models import UserLink
from tests.factories import make_account, make_org, make_provider, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_linked_console_user_logs_in_with_dingtalk_and_lands_on_the_console(
    page, live_server, sandbox, django_user_model
):
    app = sandbox.app()
    org = make_org("Engineering")
    lina = make_account("lina", orgs=[org], display_name="李娜", mobile="13900139000")
    provider = make_provider(sandbox, app, [(org, 1)], name="Acme", qr_logon_enabled=True)
    seeded = sandbox.control(
        "POST",
        "users",
        corp_id=app["corp_id"],
        userid="lina",
        name="李娜",
        mobile="13900139000",
        dept_id_list=[1],
    )
    UserLink.objects.create(
        provider=provider,
        account=lina,
        account_ref=lina.pk,
        username=lina.username,
        userid="lina",
        unionid=seeded["unionId"],
    )
    make_user("lina", "viewer")

    page.goto(f"{live_server.url}/login/")
    page.click("text=Log in with DingTalk — Acme")
    page.wait_for_url(f"{sandbox.url}/oauth2/auth**")
    page.locator("form.user", has_text="李娜").locator("button").click()

    page.wait_for_url(f"{live_server.url}/")
    assert page.inner_text("header.topbar .logout .muted") == "lina"
    assert "code=" not in page.url
