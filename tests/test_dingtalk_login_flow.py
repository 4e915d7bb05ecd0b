"""Logging in to the console with DingTalk: the Django test client plays the browser, the
DingTalk sandbox answers over real HTTP (its login page stands in for the QR code scan)."""

from __future__ import annotations

import threading
import time
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from django.test import Client
from django.urls import reverse

from connectors.dingtalk.client import DingTalkClient
from dtconsole.accounts import dingtalk_login
from dtconsole.audit.models import AuditEntry
from dtconsole.directory.models import Account
from dtconsole.providers.services import provider_client
from dtconsole.sync.models import UserLink
from tests.factories import make_account, make_org, make_provider, make_user

pytestmark = pytest.mark.django_db

LOGIN = "/login/"
CALLBACK = "/login/dingtalk/callback/"
HOME_TARGET = "/directory/"


class UserForms(HTMLParser):
    """The sandbox login page: each user's form action by the userid it posts."""

    def __init__(self) -> None:
        super().__init__()
        self.actions: dict[str, str] = {}
        self._action = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._action = a.get("action", "")
        elif tag == "input" and a.get("name") == "userid":
            self.actions[a.get("value", "")] = self._action


def start(client, provider, next_url: str | None = None):
    """GET the console's start URL (as the login page's button does)."""
    query = {"next": next_url} if next_url is not None else {}
    return client.get(reverse("accounts:dingtalk_start", args=[provider.pk]), query)


def choose_on_sandbox(authorize_url: str, userid: str) -> dict[str, str]:
    """Open DingTalk's (the sandbox's) login page, pick ``userid``; return the callback query."""
    page = requests.get(authorize_url, timeout=5)
    assert page.status_code == 200, page.text
    forms = UserForms()
    forms.feed(page.text)
    action = urljoin(page.url, forms.actions[userid])
    answer = requests.post(action, data={"userid": userid}, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert urlsplit(location).path == CALLBACK
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def sign_in(client, provider, userid: str = "lina", next_url: str | None = None):
    """Start in the console, choose the user at DingTalk: the callback query DingTalk sends."""
    response = start(client, provider, next_url)
    assert response.status_code == 302
    return choose_on_sandbox(response["Location"], userid)


def seed_dingtalk_user(sandbox, app: dict, userid: str, mobile: str) -> str:
    """A DingTalk user in the app's organisation; returns its unionid."""
    created = sandbox.control(
        "POST",
        "users",
        corp_id=app["corp_id"],
        userid=userid,
        name=userid.title(),
        mobile=mobile,
        dept_id_list=[1],
    )
    return created["unionId"]


def link(provider, account: Account, userid: str, unionid: str = "") -> UserLink:
    return UserLink.objects.create(
        provider=provider,
        account=account,
        account_ref=account.pk,
        username=account.username,
        userid=userid,
        unionid=unionid,
    )


@pytest.fixture
def app(sandbox) -> dict:
    return sandbox.app()


@pytest.fixture
def org():
    return make_org("Engineering")


@pytest.fixture
def provider(sandbox, app, org):
    return make_provider(sandbox, app, [(org, 1)], name="Acme DingTalk", qr_logon_enabled=True)


@pytest.fixture
def lina(org) -> Account:
    return make_account("lina", orgs=[org], mobile="13900139000")


@pytest.fixture
def lina_unionid(sandbox, app) -> str:
    return seed_dingtalk_user(sandbox, app, "lina", "13900139000")


@pytest.fixture
def console_lina(db):
    return make_user("lina", "viewer")


@pytest.fixture
def ready(provider, lina, lina_unionid, console_lina):
    """Lina is in DingTalk, linked by a sync, and has a console user."""
    link(provider, lina, "lina", lina_unionid)
    return provider


@pytest.fixture
def issued_tokens(monkeypatch) -> list[str]:
    """Every user access token DingTalk issues during the test (the real exchange, observed)."""
    seen: list[str] = []
    real = DingTalkClient.exchange_code

    def observed(self, code):
        token = real(self, code)
        seen.append(token.access_token)
        return token

    monkeypatch.setattr(DingTalkClient, "exchange_code", observed)
    return seen


def refused(response, text: str) -> str:
    """Assert the login page came back as a 403 with ``text``; return the page."""
    assert response.status_code == 403
    page = response.content.decode()
    assert 'id="id_username"' in page and text in page
    assert "_auth_user_id" not in response.wsgi_request.session
    return page


# --- the login page --------------------------------------------------------------------------


def test_the_login_page_offers_dingtalk_only_for_bound_providers_with_qr_logon_on(
    client, sandbox, app, org, provider, django_assert_max_num_queries
):
    other = sandbox.app(app_key="dingotherapp0002")
    make_provider(sandbox, other, [(org, 1)], name="No QR", qr_logon_enabled=False)
    draft_app = sandbox.app(app_key="dingdraftapp0003")
    draft = make_provider(sandbox, draft_app, [(org, 1)], name="Draft", qr_logon_enabled=True)
    draft.step = draft.Step.SCENARIO
    draft.save()
    sandbox.control("POST", "calls/reset")

    with django_assert_max_num_queries(1):
        page = client.get(LOGIN).content.decode()

    assert "Log in with DingTalk — Acme DingTalk" in page
    assert reverse("accounts:dingtalk_start", args=[provider.pk]) in page
    assert "No QR" not in page and "Draft" not in page
    assert "same username" in page  # the rule for who may log in is on the page
    assert sandbox.calls() == {}


def test_the_login_page_has_no_dingtalk_button_when_no_provider_offers_it(client):
    assert "Log in with DingTalk" not in client.get(LOGIN).content.decode()


def test_the_button_carries_the_login_pages_next_url(client, provider):
    page = client.get(LOGIN, {"next": "/sync/jobs/"}).content.decode()
    assert "start/?next=/sync/jobs/" in page


def test_starting_redirects_to_dingtalks_authorize_url_with_a_fresh_state(client, provider):
    response = start(client, provider)
    assert response.status_code == 302
    url = urlsplit(response["Location"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert url.path == "/oauth2/auth" and query["client_id"] == provider.app_key
    assert query["redirect_uri"] == f"http://testserver{CALLBACK}"
    pending = client.session[dingtalk_login.SESSION_KEY]
    assert list(pending) == [query["state"]] and len(query["state"]) >= 32
    assert pending[query["state"]]["provider"] == provider.pk
    assert start(client, provider)["Location"] != response["Location"]


def test_starting_with_a_provider_without_qr_logon_is_not_found(client, sandbox, app, org):
    off = make_provider(sandbox, app, [(org, 1)], qr_logon_enabled=False)
    assert start(client, off).status_code == 404


# --- the happy path --------------------------------------------------------------------------


def test_a_linked_console_user_logs_in_and_lands_on_home(
    client, ready, lina, console_lina, issued_tokens
):
    callback = sign_in(client, ready)
    assert callback["code"] == callback["authCode"]
    before = client.session.session_key

    response = client.get(CALLBACK, callback)

    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert client.session["_auth_user_id"] == str(console_lina.pk)
    assert client.get(reverse("home"), follow=True).context["user"].username == "lina"
    assert client.session.session_key != before
    entry = AuditEntry.objects.get(action="accounts.dingtalk_login")
    assert entry.actor.username == "lina" and entry.object_id == str(lina.pk)
    assert entry.after["dingtalk_userid"] == "lina" and entry.after["provider"] == ready.name
    stored = repr(entry.before) + repr(entry.after) + entry.object_repr
    assert issued_tokens and issued_tokens[0] not in stored and callback["code"] not in stored


def test_the_code_may_come_as_authcode_only(client, ready):
    callback = sign_in(client, ready)
    response = client.get(CALLBACK, {"authCode": callback["code"], "state": callback["state"]})
    assert response.status_code == 302


def test_a_link_without_unionid_is_found_through_getbyunionid(
    client, sandbox, app, provider, lina, console_lina
):
    seed_dingtalk_user(sandbox, app, "lina", "13900139000")
    link(provider, lina, "lina")  # an older sync kept no unionid
    sandbox.control("POST", "calls/reset")

    response = client.get(CALLBACK, sign_in(client, provider))

    assert response.status_code == 302
    assert sandbox.calls()[provider.app_key]["/topapi/user/getbyunionid"] == 1


def test_a_link_with_the_unionid_spares_the_getbyunionid_call(client, sandbox, ready):
    sandbox.control("POST", "calls/reset")
    assert client.get(CALLBACK, sign_in(client, ready)).status_code == 302
    assert "/topapi/user/getbyunionid" not in sandbox.calls()[ready.app_key]


def test_a_safe_next_url_is_honoured(client, ready):
    response = client.get(CALLBACK, sign_in(client, ready, next_url="/sync/jobs/?status=failed"))
    assert response["Location"] == "/sync/jobs/?status=failed"


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", ""]
)
def test_an_unsafe_next_url_is_replaced_by_home(client, ready, next_url):
    response = client.get(CALLBACK, sign_in(client, ready, next_url=next_url))
    assert response["Location"] == reverse("home")


# --- state checks (before any DingTalk call) -------------------------------------------------


def test_a_missing_state_is_refused_before_calling_dingtalk(client, sandbox, ready):
    callback = sign_in(client, ready)
    sandbox.control("POST", "calls/reset")
    refused(client.get(CALLBACK, {"code": callback["code"]}), "not started in this browser")
    assert sandbox.calls() == {}


def test_a_forged_state_is_refused_before_calling_dingtalk(client, sandbox, ready):
    callback = sign_in(client, ready)
    sandbox.control("POST", "calls/reset")
    forged = {"code": callback["code"], "state": "forged-" + callback["state"]}
    refused(client.get(CALLBACK, forged), "not started in this browser")
    assert sandbox.calls() == {}


def test_a_state_from_another_browser_session_is_refused(client, ready):
    callback = sign_in(Client(), ready)  # someone else's login, replayed in this browser
    refused(client.get(CALLBACK, callback), "not started in this browser")


def test_an_expired_state_is_refused_before_calling_dingtalk(client, sandbox, ready):
    callback = sign_in(client, ready)
    session = client.session
    session[dingtalk_login.SESSION_KEY][callback["state"]]["at"] -= 11 * 60
    session.save()
    sandbox.control("POST", "calls/reset")
    refused(client.get(CALLBACK, callback), "took more than 10 minutes")
    assert sandbox.calls() == {}


def test_a_state_works_once(client, sandbox, ready):
    callback = sign_in(client, ready)
    assert client.get(CALLBACK, callback).status_code == 302
    sandbox.control("POST", "calls/reset")
    again = client.get(CALLBACK, callback)
    assert again.status_code == 403 and "not started in this browser" in again.content.decode()
    assert sandbox.calls() == {}


def test_a_login_started_in_another_tab_stays_valid(client, ready):
    first = start(client, ready)["Location"]
    start(client, ready)  # a second tab
    assert client.get(CALLBACK, choose_on_sandbox(first, "lina")).status_code == 302


def test_a_callback_without_a_code_is_refused(client, ready):
    callback = sign_in(client, ready)
    refused(client.get(CALLBACK, {"state": callback["state"]}), "sent no login code")


# --- DingTalk's answers ----------------------------------------------------------------------


def test_a_replayed_code_is_refused_by_dingtalk_and_explained(client, ready):
    first = sign_in(client, ready)
    assert client.get(CALLBACK, first).status_code == 302
    client.logout()
    again = sign_in(client, ready)  # a fresh state, but the code already used
    page = refused(
        client.get(CALLBACK, {"code": first["code"], "state": again["state"]}),
        "This login link was already used or has expired. Start again.",
    )
    assert first["code"] not in page


def test_a_dingtalk_user_without_a_link_is_told_to_ask_for_a_sync(
    client, sandbox, app, provider, console_lina
):
    seed_dingtalk_user(sandbox, app, "lina", "13900139000")
    page = refused(client.get(CALLBACK, sign_in(client, provider)), "not linked")
    assert "ask an administrator to run a sync" in page


def test_a_link_whose_account_was_deleted_counts_as_not_linked(client, ready, lina):
    UserLink.objects.update(account=None)
    refused(client.get(CALLBACK, sign_in(client, ready)), "not linked")


def test_a_person_who_left_the_organisation_before_the_callback_is_refused(client, provider, ready):
    callback = sign_in(client, ready)
    with provider_client(provider) as dt:
        dt.user_delete("lina")
    refused(client.get(CALLBACK, callback), "Your DingTalk account is not in this organisation.")


def test_a_person_that_getbyunionid_cannot_find_is_not_in_the_organisation(
    client, sandbox, app, provider, console_lina
):
    seed_dingtalk_user(sandbox, app, "lina", "13900139000")
    callback = sign_in(client, provider)
    # Hold getbyunionid for a moment and remove the person meanwhile: users/me has answered,
    # the organisation lookup then finds nobody (60121), as for someone who just left.
    sandbox.control(
        "POST", "faults", path="/topapi/user/getbyunionid", kind="slow", apply="after", delay=1.5
    )
    remover = threading.Thread(target=remove_when_looked_up, args=(sandbox, provider, "lina"))
    remover.start()
    response = client.get(CALLBACK, callback)
    remover.join()
    refused(response, "Your DingTalk account is not in this organisation.")


def remove_when_looked_up(sandbox, provider, userid: str) -> None:
    """Delete ``userid`` in DingTalk as soon as getbyunionid has been called."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        calls = sandbox.calls().get(provider.app_key, {})
        if calls.get("/topapi/user/getbyunionid"):
            break
        time.sleep(0.02)
    # Its own token: this thread's database connection cannot share the test's transaction.
    with provider_client(provider, shared_token=False) as dt:
        dt.user_delete(userid)


def test_a_disabled_account_is_refused(client, ready, lina):
    Account.objects.filter(pk=lina.pk).update(status=Account.Status.DISABLED)
    refused(client.get(CALLBACK, sign_in(client, ready)), "Your account is disabled.")


def test_an_account_without_a_console_user_is_refused(client, ready, console_lina):
    console_lina.delete()
    page = refused(client.get(CALLBACK, sign_in(client, ready)), "no access to this console")
    assert "ask an administrator" in page


def test_a_console_user_who_is_not_active_is_refused(client, ready, console_lina):
    console_lina.is_active = False
    console_lina.save()
    refused(client.get(CALLBACK, sign_in(client, ready)), "no access to this console")


def test_a_console_user_without_a_role_logs_in_and_sees_only_the_no_access_page(
    client, ready, console_lina
):
    console_lina.groups.clear()
    response = client.get(CALLBACK, sign_in(client, ready))
    assert response.status_code == 302
    page = client.get(reverse("directory:org_tree"))
    assert page.status_code == 403
    assert "no access to this console" in page.content.decode()


def test_a_provider_whose_secret_cannot_be_decrypted_refuses_the_login_with_a_reason(
    client, ready, settings
):
    from cryptography.fernet import Fernet

    settings.CREDENTIALS_KEY = Fernet.generate_key().decode()
    response = client.get(reverse("accounts:dingtalk_start", args=[ready.pk]))
    assert response.status_code == 403
    assert "DingTalk login is unavailable for this provider" in response.content.decode()


def test_a_dingtalk_permission_error_shows_its_hint_instead_of_failing(client, sandbox, ready):
    callback = sign_in(client, ready)
    scopes = ["qyapi_get_member", "open_app_api_base"]  # no Contact.User.Read: users/me is 403
    sandbox.app(scopes=scopes)
    page = refused(client.get(CALLBACK, callback), "DingTalk could not complete the login")
    assert "Grant the missing permissions" in page


def test_a_provider_that_turned_qr_logon_off_meanwhile_is_refused(client, ready):
    callback = sign_in(client, ready)
    ready.qr_logon_enabled = False
    ready.save()
    refused(client.get(CALLBACK, callback), "no longer enabled")


def test_no_code_or_token_appears_on_any_refusal_page(client, sandbox, ready, lina, issued_tokens):
    Account.objects.filter(pk=lina.pk).update(status=Account.Status.DISABLED)
    callback = sign_in(client, ready)
    page = refused(client.get(CALLBACK, callback), "Your account is disabled.")
    assert issued_tokens and issued_tokens[0] not in page
    assert callback["code"] not in page and callback["state"] not in page
    assert not AuditEntry.objects.filter(action="accounts.dingtalk_login").exists()
