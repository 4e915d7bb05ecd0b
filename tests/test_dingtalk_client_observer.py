"""DingTalkClient's ``on_call`` metrics hook, against the sandbox over real HTTP."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from connectors.dingtalk.errors import AuthError, NotFound, Transient
from connectors.dingtalk.types import CallInfo
from tests.sandbox_helpers import start_sandbox
from tests.test_dingtalk_client import SandboxApp, control, fault, make_app, make_client

DEPT_GET = "/topapi/v2/department/get"
TOKEN = "/v1.0/oauth2/accessToken"


@pytest.fixture(scope="module")
def sandbox_url():
    """One sandbox server for this module (reset for every test)."""
    server = start_sandbox(qps=20)
    yield server.url
    server.stop()


@pytest.fixture
def app(sandbox_url: str) -> SandboxApp:
    """A fresh sandbox with one app."""
    control(sandbox_url, "POST", "reset")
    return make_app(sandbox_url)


def observed(app: SandboxApp, **kw) -> tuple[list[CallInfo], object]:
    """A client whose observer appends every CallInfo to the returned list."""
    seen: list[CallInfo] = []
    return seen, make_client(app, on_call=seen.append, **kw)


def test_every_attempt_is_observed_once_with_its_path_and_errcode_0(app):
    seen, dt = observed(app)
    with dt:
        dt.department_get(1)
        dt.department_get(1)
    assert [(c.path, c.errcode) for c in seen] == [(TOKEN, 0), (DEPT_GET, 0), (DEPT_GET, 0)]
    assert all(c.duration > 0 and c.waited >= 0 for c in seen)


def test_a_retried_call_is_observed_once_per_attempt_with_the_effective_code(app):
    seen, dt = observed(app)
    with dt:
        dt.access_token()
        fault(app, DEPT_GET, "errcode_90002", count=1)
        fault(app, DEPT_GET, "errcode_-1", count=1)
        dt.department_get(1)
    assert [c.errcode for c in seen if c.path == DEPT_GET] == [90002, -1, 0]


def test_a_dingtalk_refusal_is_observed_with_its_code(app):
    seen, dt = observed(app)
    with dt, pytest.raises(NotFound):
        dt.user_get("nobody")
    assert seen[-1].path == "/topapi/v2/user/get" and seen[-1].errcode == 60121


def test_a_v1_refusal_is_observed_with_its_code_string(app):
    seen: list[CallInfo] = []
    dt = make_client(dataclasses.replace(app, app_secret="wrong"), on_call=seen.append)
    with dt, pytest.raises(AuthError):
        dt.department_get(1)
    assert [(c.path, c.errcode) for c in seen] == [(TOKEN, "invalidClientIdOrSecret")]


def test_an_html_answer_is_observed_with_its_http_status(app):
    seen, dt = observed(app, max_attempts=1)
    with dt:
        dt.access_token()
        fault(app, DEPT_GET, "html_502", count=1)
        with pytest.raises(Transient):
            dt.department_get(1)
    assert seen[-1].errcode == 502


def test_a_network_failure_is_observed_as_network(app):
    seen, dt = observed(app, max_attempts=2)
    with dt:
        dt.access_token()
        dt.hosts = dt.hosts._replace(oapi="http://127.0.0.1:9")  # nothing listens there
        with pytest.raises(Transient):
            dt.department_get(1)
    assert [c.errcode for c in seen if c.path == DEPT_GET] == ["network", "network"]


def test_time_spent_in_the_pacer_is_reported_apart_from_the_exchange(app):
    seen, dt = observed(app, qps=1)
    with dt:
        dt.department_get(1)
        dt.department_get(1)
    first, second = (c for c in seen if c.path == DEPT_GET)
    assert first.waited == 0 and second.waited > 0.5
    assert second.duration < 0.5


def test_the_observer_never_sees_the_token_or_the_secret(app):
    seen, dt = observed(app)
    with dt:
        token = dt.access_token()
        dt.department_get(1)
    for info in seen:
        text = repr(info) + repr(dataclasses.astuple(info))
        assert token not in text and app.app_secret not in text


def test_a_failing_observer_is_logged_and_the_call_still_succeeds(app, caplog):
    def broken(info: CallInfo) -> None:
        raise RuntimeError("metrics backend down")

    caplog.set_level(logging.ERROR, logger="connectors.dingtalk.client")
    with make_client(app, on_call=broken) as dt:
        assert dt.department_get(1).dept_id == 1
    assert "on_call observer failed" in caplog.text and "metrics backend down" in caplog.text


def test_call_info_is_frozen():
    info = CallInfo("/p", 0, 0.1, 0.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.errcode = 1  # type: ignore[misc]
