"""Sandbox rate limits: per-app per-API QPS (90018), the global per-API limiter (90002) and
the per-IP flood ban (dingtalk-api.md §5, §10.5)."""

import time

import pytest
import requests

from tests.sandbox_helpers import control, get_token, make_app, oapi, start_sandbox, v1

DEPT_GET = "/topapi/v2/department/get"


@pytest.fixture
def srv():
    server = start_sandbox()
    yield server
    server.stop()


def burst(srv, token, count, path=DEPT_GET, session=None):
    session = session or requests.Session()
    return [oapi(srv, token, path, {"dept_id": 1}, session=session) for _ in range(count)]


def test_the_21st_call_in_a_second_gives_88_90018_and_the_next_second_recovers(srv):
    token = get_token(srv, make_app(srv))
    started = time.monotonic()
    bodies = burst(srv, token, 21)
    assert time.monotonic() - started < 1, "the burst must fit in one second"
    assert [b["errcode"] for b in bodies[:20]] == [0] * 20
    assert (bodies[20]["errcode"], bodies[20]["sub_code"]) == (88, "90018")
    assert "subcode=90018" in bodies[20]["errmsg"]
    time.sleep(max(0.0, started + 1.05 - time.monotonic()))
    assert burst(srv, token, 1)[0]["errcode"] == 0


def test_refused_calls_do_not_consume_the_next_seconds_budget(srv):
    token = get_token(srv, make_app(srv, qps=3))
    started = time.monotonic()
    codes = [b["errcode"] for b in burst(srv, token, 8)]
    assert codes == [0, 0, 0, 88, 88, 88, 88, 88]
    time.sleep(max(0.0, started + 1.05 - time.monotonic()))
    assert [b["errcode"] for b in burst(srv, token, 3)] == [0, 0, 0]


def test_the_limit_is_per_api_path_and_per_app(srv):
    app = make_app(srv, qps=2)
    other = make_app(srv, app_key="other", app_secret="other-secret", qps=2)
    token, other_token = get_token(srv, app), get_token(srv, other)
    assert [b["errcode"] for b in burst(srv, token, 3)] == [0, 0, 88]
    listsub = burst(srv, token, 1, "/topapi/v2/department/listsub")
    assert listsub[0]["errcode"] == 0
    assert burst(srv, other_token, 1)[0]["errcode"] == 0


def test_qps_zero_turns_the_limiter_off(srv):
    token = get_token(srv, make_app(srv, qps=0))
    assert all(b["errcode"] == 0 for b in burst(srv, token, 30))


def test_the_server_default_can_be_changed(srv):
    control(srv, "POST", "config", {"qps_default": 2})
    token = get_token(srv, make_app(srv))
    assert [b["errcode"] for b in burst(srv, token, 3)] == [0, 0, 88]


def test_v1_qps_overflow_gives_403_qps_limit_for_appkey_and_api(srv):
    token = get_token(srv, make_app(srv, qps=1))
    body = {"queryWord": "a"}
    assert v1(srv, "POST", "/v1.0/contact/users/search", body, token=token).status_code == 200
    resp = v1(srv, "POST", "/v1.0/contact/users/search", body, token=token)
    assert resp.status_code == 403
    assert resp.json()["code"] == "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"


def test_the_global_limiter_gives_88_90002_across_apps(srv):
    control(srv, "POST", "config", {"global_qps": 3, "qps_default": 0})
    one = get_token(srv, make_app(srv))
    two = get_token(srv, make_app(srv, app_key="two", app_secret="two-secret"))
    bodies = burst(srv, one, 2) + burst(srv, two, 2)
    assert [b["errcode"] for b in bodies] == [0, 0, 0, 88]
    assert bodies[3]["sub_code"] == "90002"
    assert "请求总次数超过 3 次, 限制将在" in bodies[3]["sub_msg"]
    assert "apiPath(dingtalk.oapi.v2.department.get)" in bodies[3]["sub_msg"]


def test_the_ip_limiter_bans_a_flooding_ip_with_the_x5_body(srv):
    control(srv, "POST", "config", {"ip_limit": {"calls": 3, "window": 20, "ban": 300}})
    token = get_token(srv, make_app(srv))
    headers = {"X-Forwarded-For": "203.0.113.9"}
    url = f"{srv.url}{DEPT_GET}?access_token={token}"
    bodies = [
        requests.post(url, json={"dept_id": 1}, headers=headers, timeout=10).json()
        for _ in range(5)
    ]
    assert [b.get("errcode") for b in bodies[:3]] == [0, 0, 0]
    assert {k: bodies[3][k] for k in ("status", "wait", "source", "punish")} == {
        "status": 1111,
        "wait": 5,
        "source": "x5",
        "punish": "deny",
    }
    assert bodies[4]["status"] == 1111, "the ban lasts"
    other = requests.post(
        url, json={"dept_id": 1}, headers={"X-Forwarded-For": "203.0.113.10"}, timeout=10
    )
    assert other.json()["errcode"] == 0
