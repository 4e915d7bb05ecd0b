"""DingTalkClient.check_permissions against the sandbox: what the wizard's "verify" step sees."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from connectors.dingtalk.client import DingTalkClient
from tests.sandbox_helpers import start_sandbox
from tests.test_dingtalk_client import SandboxApp, control, make_app, make_client

ADDRESS_BOOK_SCOPES = [
    "qyapi_get_department_list",
    "qyapi_get_member",
    "qyapi_get_department_member",
    "qyapi_get_member_by_mobile",
    "qyapi_manage_addresslist",
]


@pytest.fixture(scope="module")
def sandbox_url():
    """One sandbox server for this module."""
    server = start_sandbox(qps=20)
    yield server.url
    server.stop()


def fresh_app(url: str, **settings: Any) -> SandboxApp:
    """Reset the sandbox and register one app with ``settings``."""
    control(url, "POST", "reset")
    return make_app(url, **settings)


def test_an_app_with_every_permission_passes(sandbox_url):
    app = fresh_app(sandbox_url)
    report = make_client(app).check_permissions()
    assert report.ok and report.token_ok, report.messages
    assert report.missing_scopes == [] and not report.ip_blocked and not report.out_of_scope
    assert report.root_department is not None and report.root_department.dept_id == 1


def test_the_permission_check_leaves_the_address_book_unchanged(sandbox_url):
    app = fresh_app(sandbox_url)
    before = make_client(app).department_get(1)
    make_client(app).check_permissions()
    after = make_client(app).department_get(1)
    assert before == after


def test_a_wrong_secret_fails_on_the_token_and_says_so(sandbox_url):
    app = fresh_app(sandbox_url)
    client = DingTalkClient(app.app_key, "not-the-secret", oapi_base=app.url, api_base=app.url)
    report = client.check_permissions()
    assert not report.ok and not report.token_ok
    assert report.messages and "AppSecret" in " ".join(report.messages)
    assert all("not-the-secret" not in message for message in report.messages)


@pytest.mark.parametrize("missing", ADDRESS_BOOK_SCOPES)
def test_each_missing_scope_is_reported_with_an_apply_url(sandbox_url, missing):
    granted = ["qyapi_base"] + [s for s in ADDRESS_BOOK_SCOPES if s != missing]
    app = fresh_app(sandbox_url, scopes=granted)
    report = make_client(app).check_permissions()
    assert not report.ok and report.token_ok
    assert report.missing_scopes == [missing]
    assert report.apply_urls and missing in report.apply_urls[0]


def test_every_missing_scope_is_reported_at_once(sandbox_url):
    app = fresh_app(sandbox_url, scopes=["qyapi_base"])
    report = make_client(app).check_permissions()
    assert sorted(report.missing_scopes) == sorted(ADDRESS_BOOK_SCOPES)
    assert len(report.apply_urls) == len(ADDRESS_BOOK_SCOPES)
    assert any("qyapi_manage_addresslist" in message for message in report.messages)


def test_a_blocked_ip_is_reported_with_the_ip_dingtalk_saw(sandbox_url):
    app = fresh_app(sandbox_url, allowed_ips=["198.51.100.1"])
    session = requests.Session()
    session.headers["X-Forwarded-For"] = "203.0.113.7"
    report = make_client(app, session=session).check_permissions()
    assert not report.ok and report.ip_blocked
    assert report.seen_ip == "203.0.113.7"
    assert any("203.0.113.7" in message for message in report.messages)


def test_an_allowed_ip_passes(sandbox_url):
    app = fresh_app(sandbox_url, allowed_ips=["203.0.113.7"])
    session = requests.Session()
    session.headers["X-Forwarded-For"] = "203.0.113.7"
    assert make_client(app, session=session).check_permissions().ok


def test_a_root_outside_the_address_book_scope_is_out_of_scope(sandbox_url):
    app = fresh_app(sandbox_url)
    dept_id = make_client(app).department_create("试点", 1)
    make_app(sandbox_url, auth_dept_ids=[dept_id])
    report = make_client(app).check_permissions()
    assert not report.ok and report.out_of_scope


def test_a_target_department_inside_a_narrow_scope_passes(sandbox_url):
    app = fresh_app(sandbox_url)
    dept_id = make_client(app).department_create("试点", 1)
    make_app(sandbox_url, auth_dept_ids=[dept_id])
    report = make_client(app).check_permissions(dept_id)
    assert report.ok, report.messages
    assert report.root_department is not None and report.root_department.name == "试点"
