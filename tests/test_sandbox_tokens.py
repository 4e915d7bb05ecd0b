"""Sandbox access tokens: /gettoken and /v1.0/oauth2/accessToken (dingtalk-api.md §1, §10.2)."""

import re

import pytest
import requests

from tests.sandbox_helpers import control, get_token, make_app, oapi, start_sandbox, v1

DEPT_GET = "/topapi/v2/department/get"


@pytest.fixture
def srv():
    server = start_sandbox()
    yield server
    server.stop()


@pytest.fixture
def app(srv):
    return make_app(srv)


def gettoken(srv, **params):
    return requests.get(srv.url + "/gettoken", params=params, timeout=10)


def test_gettoken_returns_a_32_hex_token_with_7200_seconds(srv, app):
    resp = gettoken(srv, appkey=app["app_key"], appsecret=app["app_secret"])
    body = resp.json()
    assert resp.headers["Content-Type"] == "application/json"
    assert body["errcode"] == 0 and body["errmsg"] == "ok"
    assert re.fullmatch(r"[0-9a-f]{32}", body["access_token"])
    assert body["expires_in"] == 7200 and isinstance(body["expires_in"], int)


def test_gettoken_returns_the_same_token_within_its_lifetime(srv, app):
    assert get_token(srv, app) == get_token(srv, app)


def test_v1_access_token_returns_the_same_token_as_gettoken(srv, app):
    token = get_token(srv, app)
    resp = v1(
        srv,
        "POST",
        "/v1.0/oauth2/accessToken",
        {"appKey": app["app_key"], "appSecret": app["app_secret"]},
    )
    assert resp.status_code == 200
    assert resp.json() == {"accessToken": token, "expireIn": 7200}


def test_a_new_token_is_issued_after_the_expire_hook_and_the_old_one_is_refused(srv, app):
    old = get_token(srv, app)
    assert control(srv, "POST", "tokens/expire", {"app_key": app["app_key"]}).json()["expired"] == 1
    body = oapi(srv, old, DEPT_GET, {"dept_id": 1})
    assert (body["errcode"], body["sub_code"]) == (88, "40014")
    new = get_token(srv, app)
    assert new != old
    assert oapi(srv, new, DEPT_GET, {"dept_id": 1})["errcode"] == 0


def test_expiring_one_apps_tokens_leaves_other_apps_alone(srv, app):
    other = make_app(srv, app_key="otherkey", app_secret="othersecret")
    mine, theirs = get_token(srv, app), get_token(srv, other)
    control(srv, "POST", "tokens/expire", {"app_key": "otherkey"})
    assert oapi(srv, mine, DEPT_GET, {"dept_id": 1})["errcode"] == 0
    assert oapi(srv, theirs, DEPT_GET, {"dept_id": 1})["errcode"] == 88


def test_the_lifetime_of_new_tokens_can_be_changed(srv, app):
    control(srv, "POST", "tokens/expire", {"lifetime": 60})
    body = gettoken(srv, appkey=app["app_key"], appsecret=app["app_secret"]).json()
    assert body["expires_in"] == 60


def test_tokens_from_either_endpoint_work_on_both_hosts(srv, app):
    v1_token = v1(
        srv,
        "POST",
        "/v1.0/oauth2/accessToken",
        {"appKey": app["app_key"], "appSecret": app["app_secret"]},
    ).json()["accessToken"]
    assert oapi(srv, v1_token, DEPT_GET, {"dept_id": 1})["errcode"] == 0
    search = {"queryWord": "x", "offset": 0, "size": 10}
    resp = v1(srv, "POST", "/v1.0/contact/users/search", search, token=get_token(srv, app))
    assert resp.status_code == 200 and resp.json()["totalCount"] == 0


def test_a_wrong_secret_on_gettoken_gives_40096(srv, app):
    body = gettoken(srv, appkey=app["app_key"], appsecret="wrong").json()
    assert body["errcode"] == 40096 and body["errmsg"] == "不合法的appKey或appSecret"


def test_an_unknown_appkey_on_gettoken_gives_40096(srv, app):
    assert gettoken(srv, appkey="nope", appsecret="wrong").json()["errcode"] == 40096


def test_gettoken_parameters_in_the_body_give_40035(srv, app):
    data = {"appkey": app["app_key"], "appsecret": app["app_secret"]}
    body = requests.post(srv.url + "/gettoken", data=data, timeout=10).json()
    assert body["errcode"] == 40035 and "缺少参数" in body["errmsg"]


def test_a_wrong_secret_on_v1_gives_400_invalid_client_id_or_secret(srv, app):
    resp = v1(srv, "POST", "/v1.0/oauth2/accessToken", {"appKey": app["app_key"], "appSecret": "x"})
    body = resp.json()
    assert resp.status_code == 400
    assert body["code"] == "invalidClientIdOrSecret"
    assert body["message"] == "无效的clientId或者clientSecret"
    assert "requestid" in body and "request_id" not in body


def test_a_form_body_on_v1_access_token_is_refused_as_missing_body(srv, app):
    data = {"appKey": app["app_key"], "appSecret": app["app_secret"]}
    resp = requests.post(srv.url + "/v1.0/oauth2/accessToken", data=data, timeout=10)
    assert resp.status_code == 400 and resp.json()["code"] == "MissingBody"


def test_a_missing_app_key_on_v1_access_token_is_named(srv, app):
    resp = v1(srv, "POST", "/v1.0/oauth2/accessToken", {"appSecret": "x"})
    assert resp.status_code == 400 and resp.json()["code"] == "MissingAppKey"


def test_an_unknown_token_on_topapi_gives_88_40014(srv, app):
    body = oapi(srv, "0" * 32, DEPT_GET, {"dept_id": 1})
    assert body["errcode"] == 88
    assert body["sub_code"] == "40014" and body["sub_msg"] == "不合法的access_token"
    assert body["errmsg"] == "ding talk error[subcode=40014,submsg=不合法的access_token]"
    assert body["request_id"]


def test_a_missing_token_on_topapi_gives_88_40000_access_token_is_blank(srv, app):
    body = oapi(srv, None, DEPT_GET, {"dept_id": 1})
    assert (body["errcode"], body["sub_code"], body["sub_msg"]) == (
        88,
        "40000",
        "access_token is blank",
    )


def test_the_v1_header_is_not_accepted_on_oapi(srv, app):
    token = get_token(srv, app)
    headers = {"x-acs-dingtalk-access-token": token}
    resp = requests.post(srv.url + DEPT_GET, json={"dept_id": 1}, headers=headers, timeout=10)
    assert resp.json()["sub_code"] == "40000"


def test_the_token_is_accepted_in_a_form_body_on_oapi(srv, app):
    token = get_token(srv, app)
    resp = requests.post(
        srv.url + DEPT_GET, data={"access_token": token, "dept_id": "1"}, timeout=10
    )
    assert resp.json()["errcode"] == 0


def test_a_missing_header_on_v1_gives_400_missing_parameter(srv, app):
    resp = v1(srv, "POST", "/v1.0/contact/users/search", {"queryWord": "a"})
    assert resp.status_code == 400
    assert resp.json()["code"] == "AuthenticationFailed.MissingParameter"


def test_a_query_token_on_v1_is_not_accepted(srv, app):
    token = get_token(srv, app)
    url = srv.url + "/v1.0/contact/users/search?access_token=" + token
    resp = requests.post(url, json={"queryWord": "a"}, timeout=10)
    assert resp.json()["code"] == "AuthenticationFailed.MissingParameter"


def test_a_bad_token_on_v1_gives_400_invalid_authentication(srv, app):
    resp = v1(srv, "POST", "/v1.0/contact/users/search", {"queryWord": "a"}, token="f" * 32)
    assert resp.status_code == 400
    assert resp.json()["code"] == "InvalidAuthentication"
    assert resp.json()["message"] == "不合法的access_token"
