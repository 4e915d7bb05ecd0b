"""Roles in a real chromium: a Viewer walks the console and finds no enabled write control;
the Content-Security-Policy holds on every page, and a violation would be reported."""

from urllib.parse import urlsplit

import pytest
from django.urls import Resolver404, resolve

from dtconsole.sync.models import SyncEvent, SyncJob
from tests.factories import PASSWORD, make_account, make_org, make_provider, make_user
from tests.test_permission_matrix import PAGES, VIEWER, WHO

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Forms a Viewer may submit: leaving, and choosing the interface language.
OPEN_FORMS = ("logout", "set_language")


def login(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def write_controls(page, live_server) -> list[str]:
    """Enabled submit buttons of POST forms, and links to pages above a Viewer, on the page."""
    found = []
    forms = page.eval_on_selector_all(
        "form",
        """forms => forms.map(f => ({
            method: (f.getAttribute('method') || 'get').toLowerCase(),
            action: f.getAttribute('action') || location.pathname,
            enabled: [...f.querySelectorAll('button, input[type=submit]')]
                .filter(b => !b.disabled && b.type !== 'button').length,
        }))""",
    )
    for form in forms:
        name = url_name(form["action"])
        if form["method"] == "post" and form["enabled"] and name not in OPEN_FORMS:
            found.append(f"POST form to {form['action']} ({name})")
    for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
        if not href.startswith(live_server.url):
            continue
        name = url_name(urlsplit(href).path)
        row = PAGES.get(name)
        if row is not None and WHO.index(row.lowest) > WHO.index(VIEWER):
            found.append(f"link to {href} ({name})")
    return found


def url_name(path: str) -> str:
    try:
        return resolve(urlsplit(path).path).view_name
    except Resolver404:
        return ""


@pytest.fixture
def console(sandbox):
    company = make_org("Company", code="c1")
    team = make_org("Team", parent=company)
    ann = make_account("ann", orgs=[team], display_name="Ann")
    provider = make_provider(sandbox, sandbox.app(), [(company, 1)])
    job = SyncJob.objects.create(
        provider=provider, kind="full", trigger="manual", status="awaiting_approval"
    )
    SyncEvent.objects.create(
        job=job,
        provider=provider,
        object_type="user",
        source_id=ann.pk,
        action="delete",
        status="planned",
        source_name="Ann",
    )
    queued = SyncJob.objects.create(provider=provider, kind="full", trigger="manual")
    return {
        "company": company,
        "team": team,
        "ann": ann,
        "provider": provider,
        "jobs": [job, queued],
    }


def test_a_viewer_finds_no_enabled_write_control_on_any_page(page, live_server, console):
    make_user("vera", "viewer")
    login(page, live_server, "vera")
    provider, ann, team = console["provider"], console["ann"], console["team"]
    paths = [
        "/",
        "/directory/",
        f"/directory/orgs/{team.pk}/",
        "/directory/accounts/",
        f"/directory/accounts/{ann.pk}/",
        "/providers/",
        f"/providers/{provider.pk}/",
        "/sync/jobs/",
        *(f"/sync/jobs/{job.pk}/" for job in console["jobs"]),
        "/sync/events/",
        f"/sync/objects/user/{ann.pk}/",
        f"/sync/providers/{provider.pk}/dingtalk/",
        f"/sync/providers/{provider.pk}/pending/",
        "/audit/",
    ]
    problems = {}
    for path in paths:
        page.goto(live_server.url + path)
        assert page.locator("main").count() == 1, path
        found = write_controls(page, live_server)
        if found:
            problems[path] = found
    assert problems == {}


def test_an_administrator_sees_the_write_controls_a_viewer_does_not(page, live_server, console):
    make_user("boss", "administrator")
    login(page, live_server, "boss")
    page.goto(f"{live_server.url}/directory/accounts/{console['ann'].pk}/")
    assert any("account_disable" in c for c in write_controls(page, live_server))


def test_a_content_security_policy_violation_is_reported_to_the_test(page, live_server, console):
    make_user("vera", "viewer")
    login(page, live_server, "vera")
    page.evaluate(
        "() => document.body.insertAdjacentHTML('beforeend', "
        '\'<img src="/static/none.png" onerror="document.title=1">\')'
    )
    page.wait_for_timeout(300)
    assert any("inline event handler" in v for v in page.csp_violations)
    page.csp_violations.clear()
