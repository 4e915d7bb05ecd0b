"""Sandbox control API: apps, faults, call counters, reset, state dump, seeding, events, the
read-only page and the state file (not part of DingTalk; dingtalk-api.md §10.12-10.13)."""

import threading
import time

import pytest
import requests

from connectors.dingtalk.sandbox.server import SandboxServer
from tests.sandbox_helpers import (
    APP_KEY,
    CORP_ID,
    control,
    get_token,
    make_app,
    mobile,
    oapi,
    seed_department,
    seed_user,
    start_sandbox,
    v1,
)

CREATE_DEPT = "/topapi/v2/department/create"
DEPT_GET = "/topapi/v2/department/get"


@pytest.fixture
def srv():
    server = start_sandbox()
    yield server
    server.stop()


@pytest.fixture
def token(srv):
    return get_token(srv, make_app(srv))


def fault(srv, **spec):
    resp = control(srv, "POST", "faults", spec)
    assert resp.status_code == 200, resp.text


def test_an_app_gets_every_address_book_scope_and_both_field_permissions_by_default(srv):
    app = make_app(srv)
    assert "qyapi_manage_addresslist" in app["scopes"] and "Contact.User.Read" in app["scopes"]
    assert app["field_permissions"] == ["email", "mobile"]
    assert app["allowed_ips"] is None and app["auth_dept_ids"] == [1]


def test_an_app_without_required_fields_is_refused(srv):
    resp = control(srv, "POST", "apps", {"corp_id": "c"})
    assert resp.status_code == 400 and "app_key" in resp.json()["error"]


def test_apps_are_listed_with_their_secrets(srv):
    make_app(srv)
    apps = control(srv, "GET", "apps").json()["apps"]
    assert [(a["app_key"], a["app_secret"]) for a in apps] == [(APP_KEY, "test-secret-0001")]


def test_errcode_faults_fail_the_next_n_calls_then_stop(srv, token):
    fault(srv, path=DEPT_GET, count=2, kind="errcode_-1")
    codes = [oapi(srv, token, DEPT_GET, {"dept_id": 1})["errcode"] for _ in range(3)]
    assert codes == [-1, -1, 0]


def test_a_90002_fault_uses_the_88_wrapper(srv, token):
    fault(srv, path=DEPT_GET, count=1, kind="errcode_90002")
    body = oapi(srv, token, DEPT_GET, {"dept_id": 1})
    assert (body["errcode"], body["sub_code"]) == (88, "90002")


def test_an_html_502_fault_returns_an_html_page(srv, token):
    fault(srv, path=DEPT_GET, count=1, kind="html_502")
    resp = requests.post(
        f"{srv.url}{DEPT_GET}?access_token={token}", json={"dept_id": 1}, timeout=10
    )
    assert resp.status_code == 502 and resp.headers["Content-Type"].startswith("text/html")
    assert "502 Bad Gateway" in resp.text


def test_faults_on_v1_paths_use_the_v1_envelope(srv, token):
    fault(srv, path="/v1.0/contact/users/search", count=1, kind="errcode_-1")
    resp = v1(srv, "POST", "/v1.0/contact/users/search", {"queryWord": "a"}, token=token)
    assert resp.status_code == 500 and resp.json()["code"] == "unknownError"


def test_a_slow_fault_times_the_client_out_but_the_write_still_happens(srv, token):
    fault(srv, path=CREATE_DEPT, count=1, kind="slow", delay=0.6)
    with pytest.raises(requests.Timeout):
        requests.post(
            f"{srv.url}{CREATE_DEPT}?access_token={token}",
            json={"name": "Slow", "parent_id": 1},
            timeout=0.2,
        )
    listed = oapi(srv, token, "/topapi/v2/department/listsub", {"dept_id": 1})["result"]
    assert [d["name"] for d in listed] == ["Slow"]


def test_a_slow_fault_applied_after_the_sleep_writes_late(srv, token):
    fault(srv, path=CREATE_DEPT, count=1, kind="slow", delay=0.5, apply="after")
    worker = threading.Thread(
        target=oapi, args=(srv, token, CREATE_DEPT, {"name": "Late", "parent_id": 1})
    )
    worker.start()
    time.sleep(0.2)
    assert oapi(srv, token, "/topapi/v2/department/listsub", {"dept_id": 1})["result"] == []
    worker.join()
    assert len(oapi(srv, token, "/topapi/v2/department/listsub", {"dept_id": 1})["result"]) == 1


def test_faults_can_target_one_app(srv, token):
    other = get_token(srv, make_app(srv, app_key="other", app_secret="s"))
    fault(srv, path=DEPT_GET, count=5, kind="errcode_-1", app_key="other")
    assert oapi(srv, token, DEPT_GET, {"dept_id": 1})["errcode"] == 0
    assert oapi(srv, other, DEPT_GET, {"dept_id": 1})["errcode"] == -1


def test_random_faults_hit_a_seeded_fraction_of_calls(srv, token):
    control(srv, "POST", "config", {"qps_default": 0})
    fault(srv, path="*", kind="random", rate=0.5, seed=7)
    session = requests.Session()
    url = f"{srv.url}{DEPT_GET}?access_token={token}"
    outcomes = set()
    for _ in range(40):
        resp = session.post(url, json={"dept_id": 1}, timeout=10)
        outcomes.add(resp.json()["errcode"] if resp.status_code == 200 else resp.status_code)
    assert outcomes <= {0, -1, 88, 502} and 0 in outcomes and len(outcomes) >= 3


def test_clearing_faults_stops_them(srv, token):
    fault(srv, path=DEPT_GET, count=5, kind="errcode_-1")
    assert len(control(srv, "GET", "faults").json()["faults"]) == 1
    control(srv, "DELETE", "faults")
    assert oapi(srv, token, DEPT_GET, {"dept_id": 1})["errcode"] == 0


def test_a_bad_fault_spec_is_refused(srv):
    assert control(srv, "POST", "faults", {"path": DEPT_GET, "kind": "boom"}).status_code == 400


def test_call_counters_count_every_api_call_per_app_and_path_refused_ones_included(srv, token):
    fault(srv, path=DEPT_GET, count=1, kind="errcode_-1")
    for _ in range(3):
        oapi(srv, token, DEPT_GET, {"dept_id": 1})
    control(srv, "GET", "state")
    calls = control(srv, "GET", "calls").json()
    assert calls == {APP_KEY: {"/gettoken": 1, DEPT_GET: 3}}
    control(srv, "POST", "calls/reset")
    assert control(srv, "GET", "calls").json() == {}


def test_reset_wipes_data_but_keeps_the_config(srv, token):
    control(srv, "POST", "config", {"duplicate_dept_errcode": 60021})
    control(srv, "POST", "reset")
    assert control(srv, "GET", "apps").json()["apps"] == []
    assert oapi(srv, token, DEPT_GET, {"dept_id": 1})["sub_code"] == "40014"
    assert control(srv, "GET", "config").json()["duplicate_dept_errcode"] == 60021


def test_the_state_dump_holds_apps_departments_users_and_events(srv, token):
    dept = seed_department(srv, "Eng")
    seed_user(srv, "Zhang", mobile(1), [dept], userid="z")
    state = control(srv, "GET", "state").json()
    corp = state["corps"][0]
    assert state["apps"][0]["app_secret"] == "test-secret-0001"
    assert [d["name"] for d in corp["departments"]] == ["dingcorp0000test01", "Eng"]
    assert corp["users"][0]["userid"] == "z" and len(corp["events"]) == 2


def test_seeding_refuses_duplicates_with_the_dingtalk_code(srv, token):
    seed_user(srv, "Zhang", mobile(1), [1])
    resp = control(
        srv,
        "POST",
        "users",
        {"corp_id": CORP_ID, "name": "B", "mobile": mobile(1), "dept_id_list": [1]},
    )
    assert resp.status_code == 400 and resp.json()["errcode"] == 60104


def test_seeding_an_unknown_corp_is_refused(srv):
    resp = control(srv, "POST", "departments", {"corp_id": "nope", "name": "x", "parent_id": 1})
    assert resp.status_code == 400


def test_events_can_be_filtered_by_corp(srv, token):
    seed_department(srv, "Eng")
    make_app(srv, corp_id="othercorp", app_key="k2", app_secret="s2")
    assert len(control(srv, "GET", "events?corp_id=othercorp").json()["events"]) == 0
    assert len(control(srv, "GET", f"events?corp_id={CORP_ID}").json()["events"]) == 1


def test_the_index_page_shows_corps_apps_departments_and_users_escaped(srv, token):
    dept = seed_department(srv, "R&D")
    seed_user(srv, "<Zhang>", mobile(1), [dept], userid="zhang", email="z@example.com")
    page = requests.get(srv.url + "/", timeout=10).text
    assert CORP_ID in page and APP_KEY in page and "R&amp;D" in page
    assert "&lt;Zhang&gt;" in page and mobile(1) in page and "z@example.com" in page
    assert "test-secret-0001" not in page, "only the demo app's secret is shown"


def test_the_state_file_survives_a_restart(tmp_path):
    path = str(tmp_path / "state.json")
    first = start_sandbox(state_file=path)
    app = make_app(first)
    dept = seed_department(first, "Eng")
    token = get_token(first, app)
    created = oapi(
        first,
        token,
        "/topapi/v2/user/create",
        {"name": "Z", "mobile": mobile(1), "dept_id_list": [dept]},
    )
    first.stop()
    with SandboxServer(port=0, state_file=path) as second:
        token = get_token(second, app)
        user = oapi(second, token, "/topapi/v2/user/get", {"userid": created["result"]["userid"]})
        assert user["result"]["unionid"] == created["result"]["unionId"]
        assert user["result"]["dept_id_list"] == [dept]
        assert (
            oapi(
                second, token, "/topapi/user/getbyunionid", {"unionid": user["result"]["unionid"]}
            )["errcode"]
            == 0
        )
        again = oapi(second, token, CREATE_DEPT, {"name": "Eng", "parent_id": 1})
        assert again["errcode"] == 60008, "indexes are rebuilt on load"
