"""Sandbox gateway: envelopes, unknown paths, lenient parsing, scopes, data scope and IP
allow-list, in DingTalk's order (dingtalk-api.md §0, §4.1, §6, §10.1, §10.3, §10.4)."""

import json

import pytest
import requests

from tests.sandbox_helpers import (
    APP_KEY,
    get_token,
    make_app,
    mobile,
    oapi,
    seed_department,
    seed_user,
    start_sandbox,
    v1,
)

SEARCH = "/v1.0/contact/users/search"


@pytest.fixture
def srv():
    server = start_sandbox()
    yield server
    server.stop()


@pytest.fixture
def token(srv):
    return get_token(srv, make_app(srv))


def test_oapi_success_has_errcode_errmsg_request_id_and_the_topapi_content_type(srv, token):
    resp = requests.post(
        srv.url + "/topapi/v2/department/get",
        params={"access_token": token},
        json={"dept_id": 1},
        timeout=10,
    )
    body = resp.json()
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert body["errcode"] == 0 and body["errmsg"] == "ok" and body["request_id"]


def test_oapi_business_errors_are_http_200_with_a_plain_envelope(srv, token):
    body = oapi(srv, token, "/topapi/v2/department/get", {"dept_id": 999})
    assert body["errcode"] == 60003 and "sub_code" not in body and body["request_id"]


def test_an_unknown_topapi_path_gives_errcode_22_invalid_method(srv, token):
    body = oapi(srv, token, "/topapi/v2/user/notexist", {})
    assert body["errcode"] == 22
    assert body["sub_msg"] == "不合法ApiName，ApiName = dingtalk.oapi.v2.user.notexist"
    assert body["errmsg"].startswith("Invalid method[submsg=")


def test_an_unknown_v1_path_gives_404(srv, token):
    resp = v1(srv, "GET", "/v1.0/contact/nothing", token=token)
    assert resp.status_code == 404
    assert resp.json() == {"errcode": 404, "errmsg": "请求的URI地址不存在"}


def test_v1_errors_use_requestid_code_and_message(srv, token):
    resp = v1(srv, "POST", SEARCH, {}, token=token)
    assert resp.status_code == 400
    assert set(resp.json()) == {"requestid", "code", "message"}


def test_form_and_json_bodies_are_both_accepted(srv, token):
    as_form = oapi(
        srv, token, "/topapi/v2/department/create", {"name": "A", "parent_id": "1"}, form=True
    )
    as_json = oapi(srv, token, "/topapi/v2/department/create", {"name": "B", "parent_id": 1})
    assert as_form["errcode"] == 0 and as_json["errcode"] == 0


def test_lists_as_json_strings_and_comma_strings_and_booleans_as_text_are_accepted(srv, token):
    a = seed_department(srv, "A")
    b = seed_department(srv, "B")
    form = {
        "name": "Li",
        "mobile": mobile(1),
        "dept_id_list": f"{a},{b}",
        "dept_order_list": json.dumps([{"dept_id": a, "order": 5}]),
        "hide_mobile": "true",
        "hired_date": "1600000000000",
    }
    created = oapi(srv, token, "/topapi/v2/user/create", form, form=True)
    assert created["errcode"] == 0, created
    user = oapi(srv, token, "/topapi/v2/user/get", {"userid": created["result"]["userid"]})[
        "result"
    ]
    assert user["dept_id_list"] == [a, b]
    assert {"dept_id": a, "order": 5} in user["dept_order_list"]
    assert user["hide_mobile"] is True and user["hired_date"] == 1600000000000


def test_dept_id_list_as_a_json_array_inside_json_is_accepted(srv, token):
    body = {"name": "Wu", "mobile": mobile(2), "dept_id_list": [1]}
    assert oapi(srv, token, "/topapi/v2/user/create", body)["errcode"] == 0


def test_hide_dept_and_the_old_dept_hiding_name_are_both_accepted(srv, token):
    for name, field in (("H1", "hide_dept"), ("H2", "dept_hiding")):
        made = oapi(
            srv,
            token,
            "/topapi/v2/department/create",
            {"name": name, "parent_id": "1", field: "true"},
            form=True,
        )
        got = oapi(srv, token, "/topapi/v2/department/get", {"dept_id": made["result"]["dept_id"]})
        assert got["result"]["hide_dept"] is True


def test_a_missing_scope_gives_88_60011_in_the_documented_shape(srv):
    app = make_app(srv, scopes=["qyapi_base", "qyapi_get_department_list"])
    body = oapi(srv, get_token(srv, app), "/topapi/v2/user/getbymobile", {"mobile": mobile(1)})
    scope = "qyapi_get_member_by_mobile"
    assert body["errcode"] == 88 and body["sub_code"] == "60011"
    assert body["sub_msg"] == (
        f"应用尚未开通所需的权限：[{scope}]，点击链接申请并开通即可："
        f"https://open-dev.dingtalk.com/appscope/apply?content={APP_KEY}%23{scope}, "
        f"{{requiredScopes=[{scope}]}}"
    )
    assert body["errmsg"] == f"ding talk error[subcode=60011,submsg={body['sub_msg']}]"


def test_the_scope_check_happens_before_body_validation(srv):
    app = make_app(srv, scopes=["qyapi_base"])
    body = oapi(srv, get_token(srv, app), "/topapi/v2/department/update", {})
    assert body["sub_code"] == "60011" and "qyapi_manage_addresslist" in body["sub_msg"]


def test_the_write_probe_on_the_root_gives_60018_when_the_scope_is_granted(srv, token):
    assert oapi(srv, token, "/topapi/v2/department/update", {"dept_id": 1})["errcode"] == 60018


def test_a_missing_scope_on_v1_gives_403_with_required_scopes(srv):
    app = make_app(srv, scopes=["qyapi_base"])
    resp = v1(srv, "POST", SEARCH, {}, token=get_token(srv, app))
    assert resp.status_code == 403
    assert resp.json()["code"] == "Forbidden.AccessDenied.AccessTokenPermissionDenied"
    assert resp.json()["accessdenieddetail"] == {"requiredScopes": ["qyapi_addresslist_search"]}


def test_an_ip_outside_the_allow_list_gives_88_60020_before_body_validation(srv):
    app = make_app(srv, allowed_ips=["10.0.0.1"])
    token = get_token(srv, app)
    resp = requests.post(
        srv.url + "/topapi/v2/user/create",
        params={"access_token": token},
        json={},
        headers={"X-Forwarded-For": "14.153.172.241"},
        timeout=10,
    )
    body = resp.json()
    assert body["sub_code"] == "60020"
    assert body["sub_msg"] == f"访问ip不在白名单之中,request ip=14.153.172.241 appKey({APP_KEY})"


def test_an_allowed_ip_passes_and_cidr_blocks_work(srv):
    app = make_app(srv, allowed_ips=["10.0.0.0/24"])
    token = get_token(srv, app)
    resp = requests.post(
        srv.url + "/topapi/v2/department/get",
        params={"access_token": token},
        json={"dept_id": 1},
        headers={"X-Forwarded-For": "10.0.0.7"},
        timeout=10,
    )
    assert resp.json()["errcode"] == 0


def test_an_ip_outside_the_allow_list_on_v1_gives_403_ip_not_in_white_list(srv):
    app = make_app(srv, allowed_ips=["10.0.0.1"])
    resp = requests.post(
        srv.url + SEARCH,
        json={"queryWord": "a"},
        headers={"x-acs-dingtalk-access-token": get_token(srv, app), "X-Forwarded-For": "1.2.3.4"},
        timeout=10,
    )
    assert (
        resp.status_code == 403 and resp.json()["code"] == "Forbidden.AccessDenied.IpNotInWhiteList"
    )


def test_auth_scopes_reports_the_data_scope(srv):
    app = make_app(srv)
    dept = seed_department(srv, "Sales")
    make_app(srv, auth_dept_ids=[dept])
    resp = requests.get(
        srv.url + "/auth/scopes", params={"access_token": get_token(srv, app)}, timeout=10
    )
    body = resp.json()
    assert body["errcode"] == 0
    assert body["auth_org_scopes"] == {"authed_user": [], "authed_dept": [dept]}
    assert body["condition_field"] == [] and "mobile" in body["auth_user_field"]


def test_reads_and_writes_outside_the_data_scope_give_50004_and_50002(srv):
    make_app(srv)
    inside, outside = seed_department(srv, "In"), seed_department(srv, "Out")
    stranger = seed_user(srv, "Stranger", mobile(9), [outside])
    token = get_token(srv, make_app(srv, auth_dept_ids=[inside]))
    assert oapi(srv, token, "/topapi/v2/department/get", {"dept_id": outside})["errcode"] == 50004
    assert oapi(srv, token, "/topapi/v2/department/get", {"dept_id": inside})["errcode"] == 0
    create = {"name": "X", "parent_id": outside}
    assert oapi(srv, token, "/topapi/v2/department/create", create)["errcode"] == 50004
    got = oapi(srv, token, "/topapi/v2/user/get", {"userid": stranger["userid"]})
    assert got["errcode"] == 50002
    # listsubid and listid are documented as not limited by the data scope.
    assert oapi(srv, token, "/topapi/v2/department/listsubid", {"dept_id": 1})["errcode"] == 0
