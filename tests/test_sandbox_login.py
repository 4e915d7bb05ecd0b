"""Sandbox web login: the /oauth2/auth stand-in for the QR scan, the single-use code
exchange and /v1.0/contact/users/me (dingtalk-api.md §7, §10.11)."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.sandbox_helpers import (
    APP_KEY,
    APP_SECRET,
    CORP_ID,
    get_token,
    make_app,
    mobile,
    oapi,
    seed_user,
    start_sandbox,
    v1,
)

REDIRECT = "http://console.test/login/dingtalk/callback"


@pytest.fixture
def srv():
    server = start_sandbox()
    make_app(server)
    yield server
    server.stop()


def authorize_params(**overrides):
    params = {
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "client_id": APP_KEY,
        "scope": "openid",
        "state": "xyz-123",
        "prompt": "consent",
    }
    params.update(overrides)
    return params


def log_in_as(srv, userid, **overrides):
    """Submit the login page's form for `userid`; returns the redirect's query."""
    resp = requests.post(
        srv.url + "/oauth2/auth",
        params=authorize_params(**overrides),
        data={"userid": userid},
        allow_redirects=False,
        timeout=10,
    )
    assert resp.status_code == 302, resp.text
    location = urlsplit(resp.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def exchange(srv, code, **overrides):
    body = {
        "clientId": APP_KEY,
        "clientSecret": APP_SECRET,
        "code": code,
        "grantType": "authorization_code",
    }
    body.update(overrides)
    return v1(srv, "POST", "/v1.0/oauth2/userAccessToken", body)


def test_the_login_page_lists_the_corps_users_with_a_button_each(srv):
    seed_user(srv, "Zhang San", mobile(1), [1], userid="zhangsan")
    seed_user(srv, "<b>Li</b>", mobile(2), [1], userid="li")
    resp = requests.get(srv.url + "/oauth2/auth", params=authorize_params(), timeout=10)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/html")
    assert "Zhang San" in resp.text and resp.text.count("<button type='submit'>") == 2
    assert "&lt;b&gt;Li&lt;/b&gt;" in resp.text and "<b>Li</b>" not in resp.text


def test_an_unknown_client_id_shows_an_error_page(srv):
    resp = requests.get(
        srv.url + "/oauth2/auth", params=authorize_params(client_id="nope"), timeout=10
    )
    assert resp.status_code == 400 and "client_id" in resp.text


def test_choosing_a_user_redirects_with_code_auth_code_and_state(srv):
    seed_user(srv, "Zhang San", mobile(1), [1], userid="zhangsan")
    query = log_in_as(srv, "zhangsan")
    assert query["code"] == query["authCode"] and len(query["code"]) == 32
    assert query["state"] == "xyz-123"


def test_a_code_is_exchanged_once_for_user_tokens(srv):
    seed_user(srv, "Zhang San", mobile(1), [1], userid="zhangsan")
    code = log_in_as(srv, "zhangsan")["code"]
    first = exchange(srv, code)
    assert first.status_code == 200
    body = first.json()
    assert set(body) == {"accessToken", "refreshToken", "expireIn", "corpId"}
    assert body["expireIn"] == 7200 and body["corpId"] == CORP_ID
    again = exchange(srv, code)
    assert again.status_code == 400
    assert again.json()["code"] == "invalidParameter.authCode.notFound"
    assert again.json()["message"] == "不合法的临时授权码"


def test_a_snake_case_body_is_refused(srv):
    seed_user(srv, "Zhang San", mobile(1), [1], userid="zhangsan")
    code = log_in_as(srv, "zhangsan")["code"]
    body = {
        "client_id": APP_KEY,
        "client_secret": APP_SECRET,
        "code": code,
        "grant_type": "authorization_code",
    }
    resp = v1(srv, "POST", "/v1.0/oauth2/userAccessToken", body)
    assert resp.status_code == 400 and resp.json()["code"] == "MissingClientId"


def test_a_wrong_client_secret_is_refused(srv):
    resp = exchange(srv, "whatever", clientSecret="wrong")
    assert resp.status_code == 400 and resp.json()["code"] == "invalidClientIdOrSecret"


def test_users_me_returns_the_logged_in_person(srv):
    seeded = seed_user(srv, "Zhang San", mobile(1), [1], userid="zhangsan", email="z@example.com")
    token = exchange(srv, log_in_as(srv, "zhangsan")["code"]).json()["accessToken"]
    resp = v1(srv, "GET", "/v1.0/contact/users/me", token=token)
    assert resp.status_code == 200
    me = resp.json()
    assert me["nick"] == "Zhang San" and me["unionId"] == seeded["unionid"]
    assert me["mobile"] == mobile(1) and me["stateCode"] == "86" and me["email"] == "z@example.com"
    assert me["openId"] and "avatarUrl" in me


def test_the_union_id_maps_back_to_the_userid_with_the_app_token(srv):
    seed_user(srv, "Zhang San", mobile(1), [1], userid="zhangsan")
    user_token = exchange(srv, log_in_as(srv, "zhangsan")["code"]).json()["accessToken"]
    union_id = v1(srv, "GET", "/v1.0/contact/users/me", token=user_token).json()["unionId"]
    app_token = get_token(srv, {"app_key": APP_KEY, "app_secret": APP_SECRET})
    body = oapi(srv, app_token, "/topapi/user/getbyunionid", {"unionid": union_id})
    assert body["result"] == {"contact_type": 0, "userid": "zhangsan"}


def test_users_me_omits_the_mobile_without_the_contact_mobile_scope(srv):
    make_app(srv, scopes=["qyapi_base", "Contact.User.Read", "open_app_api_base"])
    seed_user(srv, "Zhang San", mobile(1), [1], userid="zhangsan")
    token = exchange(srv, log_in_as(srv, "zhangsan")["code"]).json()["accessToken"]
    me = v1(srv, "GET", "/v1.0/contact/users/me", token=token).json()
    assert "mobile" not in me and "stateCode" not in me


def test_users_me_refuses_an_app_token(srv):
    app_token = get_token(srv, {"app_key": APP_KEY, "app_secret": APP_SECRET})
    resp = v1(srv, "GET", "/v1.0/contact/users/me", token=app_token)
    assert resp.status_code == 400 and resp.json()["code"] == "InvalidAuthentication"


def test_a_refresh_token_gives_a_new_user_token(srv):
    seed_user(srv, "Zhang San", mobile(1), [1], userid="zhangsan")
    tokens = exchange(srv, log_in_as(srv, "zhangsan")["code"]).json()
    body = {
        "clientId": APP_KEY,
        "clientSecret": APP_SECRET,
        "grantType": "refresh_token",
        "refreshToken": tokens["refreshToken"],
    }
    resp = v1(srv, "POST", "/v1.0/oauth2/userAccessToken", body)
    assert resp.status_code == 200 and resp.json()["accessToken"] != tokens["accessToken"]
