"""DingTalk web login through DingTalkClient against the sandbox: the authorize URL, the sandbox's
login page, the code exchange (single use) and users/me."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from connectors.dingtalk.client import DINGTALK_CN, DINGTALK_IO, DingTalkClient
from connectors.dingtalk.errors import AuthError, PermissionDenied
from tests.sandbox_helpers import start_sandbox
from tests.test_dingtalk_client import SandboxApp, control, make_app, make_client

REDIRECT = "http://console.example/accounts/dingtalk/callback"


class FormParser(HTMLParser):
    """Collects each form's action, method and fields (first choice of radios and selects)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(
                {"action": a.get("action", ""), "method": a.get("method", "get"), "fields": {}}
            )
        elif not self.forms:
            return
        fields = self.forms[-1]["fields"] if self.forms else {}
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "button"):
            if a.get("type") in ("radio", "checkbox") and a["name"] in fields:
                return  # keep the first choice
            fields[a["name"]] = a.get("value", "")
        elif tag == "button" and a.get("name"):
            fields.setdefault(a["name"], a.get("value", ""))
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and self._select not in fields:
            fields[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def sign_in(url: str) -> dict[str, str]:
    """Open the sandbox's login page at ``url``, pick the first user, return the callback query."""
    page = requests.get(url, timeout=5)
    assert page.status_code == 200, page.text
    parser = FormParser()
    parser.feed(page.text)
    form = next(f for f in parser.forms if f["method"].lower() == "post")
    action = urljoin(page.url, form["action"] or page.url)
    answer = requests.post(action, data=form["fields"], allow_redirects=False, timeout=5)
    assert answer.status_code in (301, 302, 303, 307), answer.text
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@pytest.fixture(scope="module")
def sandbox_url():
    """One sandbox server for this module."""
    server = start_sandbox(qps=20)
    yield server.url
    server.stop()


@pytest.fixture
def app(sandbox_url: str) -> SandboxApp:
    """A fresh app whose org has one user who can sign in."""
    control(sandbox_url, "POST", "reset")
    app = make_app(sandbox_url)
    with make_client(app) as dt:
        dt.user_create(
            {"userid": "wangwu", "name": "王五", "mobile": "13700000001", "dept_id_list": [1]}
        )
    return app


def test_login_url_carries_every_required_parameter():
    client = DingTalkClient("dingkey", "secret")
    url = client.login_url("https://console.example/cb?x=1", "st 8")
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}" == DINGTALK_CN.login
    assert parts.path == "/oauth2/auth"
    assert query == {
        "redirect_uri": "https://console.example/cb?x=1",
        "response_type": "code",
        "client_id": "dingkey",
        "scope": "openid",
        "state": "st 8",
        "prompt": "consent",
    }
    assert "secret" not in url


def test_international_hosts_are_just_other_base_urls():
    client = DingTalkClient("k", "s", oapi_base=DINGTALK_IO.oapi, login_base=DINGTALK_IO.login)
    assert client.login_url(REDIRECT, "s").startswith("https://login.dingtalk.io/oauth2/auth?")


def test_signing_in_yields_a_code_that_exchanges_for_the_person(app):
    client = make_client(app)
    callback = sign_in(client.login_url(REDIRECT, "state-42"))
    assert callback["state"] == "state-42" and callback["code"] == callback["authCode"]
    token = client.exchange_code(callback["code"])
    assert token.access_token and token.access_token not in repr(token)
    me = client.users_me(token.access_token)
    assert me.nick == "王五"
    assert client.user_getbyunionid(me.union_id) == "wangwu"


def test_a_login_code_works_only_once(app):
    client = make_client(app)
    code = sign_in(client.login_url(REDIRECT, "s"))["code"]
    client.exchange_code(code)
    with pytest.raises(AuthError) as caught:
        client.exchange_code(code)
    assert "sign in again" in caught.value.hint


def test_an_invented_code_is_refused(app):
    with pytest.raises(AuthError):
        make_client(app).exchange_code("made-up")


def test_users_me_with_a_bad_token_is_an_auth_error(app):
    with pytest.raises(AuthError) as caught:
        make_client(app).users_me("not-a-token")
    assert "not-a-token" not in str(caught.value)


def test_users_me_without_contact_user_read_names_the_missing_scope(app):
    scopes = ["qyapi_base", "qyapi_get_member", "qyapi_manage_addresslist", "open_app_api_base"]
    make_app(app.url, scopes=scopes)
    client = make_client(app)
    token = client.exchange_code(sign_in(client.login_url(REDIRECT, "s"))["code"])
    with pytest.raises(PermissionDenied) as caught:
        client.users_me(token.access_token)
    assert caught.value.required_scopes == ["Contact.User.Read"]
    assert caught.value.http_status == 403
