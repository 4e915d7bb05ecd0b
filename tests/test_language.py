"""The interface language: Accept-Language by default, the header switch, the saved choice,
the API, and times shown with their UTC offset in each language's format."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from dtconsole.accounts.language import SESSION_KEY, user_language_set
from dtconsole.accounts.models import UserPreference
from dtconsole.audit.models import AuditEntry
from tests.api_helpers import V1, token_client
from tests.factories import make_org

pytestmark = pytest.mark.django_db

SWITCH = reverse("set_language")
LOGIN = reverse("login")


def page(client, name: str = "directory:org_tree", **headers) -> str:
    response = client.get(reverse(name), **headers)
    assert response.status_code == 200
    return response.content.decode()


# --- Accept-Language ----------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["zh-CN", "zh-Hans", "zh-cn", "zh", "zh-CN,zh;q=0.9,en;q=0.8"])
def test_a_chinese_browser_gets_chinese_pages(admin_client, header):
    response = admin_client.get(reverse("directory:org_tree"), HTTP_ACCEPT_LANGUAGE=header)
    html = response.content.decode()
    assert response.headers["Content-Language"] == "zh-hans"
    assert '<html lang="zh-hans">' in html
    assert "身份提供方" in html and "同步事件" in html and "Providers" not in html


@pytest.mark.parametrize("header", [None, "en-US,en;q=0.9", "fr-FR"])
def test_other_browsers_get_english_pages(admin_client, header):
    headers = {"HTTP_ACCEPT_LANGUAGE": header} if header else {}
    html = page(admin_client, **headers)
    assert "Providers" in html and "Sync events" in html and "身份提供方" not in html


def test_the_login_page_follows_accept_language_and_offers_the_switch(client):
    html = page(client, "login", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert "登录dtconsole" in html and "用户名" in html
    assert f'action="{SWITCH}"' in html and "中文" in html and "English" in html


# --- the switch -----------------------------------------------------------------------------------


def test_an_anonymous_visitor_switches_on_the_login_page_and_a_cookie_remembers_it(client):
    response = client.post(SWITCH, {"language": "zh-hans", "next": LOGIN})
    assert response.status_code == 302 and response.url == LOGIN
    assert response.cookies["django_language"].value == "zh-hans"
    assert "登录dtconsole" in page(client, "login", HTTP_ACCEPT_LANGUAGE="en")
    client.post(SWITCH, {"language": "en", "next": LOGIN})
    assert "Log in to dtconsole" in page(client, "login", HTTP_ACCEPT_LANGUAGE="zh-CN")


def test_the_switch_needs_a_csrf_token():
    client = Client(enforce_csrf_checks=True)
    assert client.post(SWITCH, {"language": "zh-hans", "next": LOGIN}).status_code == 403


def test_the_switch_changes_nothing_on_get_and_never_redirects_off_site(admin_client, admin_user):
    assert admin_client.get(SWITCH, {"language": "zh-hans"}).status_code == 405
    response = admin_client.post(SWITCH, {"language": "zh-hans", "next": "https://evil.example/"})
    assert response.status_code == 302 and response.url == "/"
    assert not UserPreference.objects.exclude(language="zh-hans").exists()


def test_a_logged_in_users_choice_is_saved_and_wins_over_accept_language(admin_client, admin_user):
    response = admin_client.post(SWITCH, {"language": "zh-hans", "next": "/directory/"})
    assert response.status_code == 302 and response.url == "/directory/"
    assert UserPreference.objects.get(user=admin_user).language == "zh-hans"
    admin_client.cookies.pop("django_language")  # not the cookie: the saved choice
    assert "身份提供方" in page(admin_client, HTTP_ACCEPT_LANGUAGE="en-US")


def test_the_saved_choice_follows_the_user_to_a_new_browser(admin_user):
    user_language_set(admin_user, "zh-hans")
    browser = Client()
    browser.force_login(admin_user)
    assert browser.session[SESSION_KEY] == "zh-hans"
    assert "身份提供方" in page(browser, HTTP_ACCEPT_LANGUAGE="en-US")
    browser.post(SWITCH, {"language": "en", "next": "/"})
    browser.cookies.pop("django_language")
    assert "Providers" in page(browser, HTTP_ACCEPT_LANGUAGE="zh-CN")


def test_a_session_from_before_the_preference_reads_it_on_its_next_page(admin_client, admin_user):
    user_language_set(admin_user, "zh-hans")
    session = admin_client.session
    session.pop(SESSION_KEY, None)
    session.save()
    assert "身份提供方" in page(admin_client, HTTP_ACCEPT_LANGUAGE="en")


def test_an_unknown_language_is_not_saved(admin_client, admin_user):
    admin_client.post(SWITCH, {"language": "fr", "next": "/"})
    admin_client.post(SWITCH, {"language": "<script>", "next": "/"})
    assert not UserPreference.objects.filter(user=admin_user).exists()


def test_without_a_saved_choice_accept_language_still_decides_after_login(admin_user):
    browser = Client()
    browser.force_login(admin_user)
    assert "身份提供方" in page(browser, HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert "Providers" in page(browser, HTTP_ACCEPT_LANGUAGE="en")


def test_other_pages_still_need_a_login(client):
    client.post(SWITCH, {"language": "zh-hans", "next": "/"})
    response = client.get(reverse("directory:org_tree"))
    assert response.status_code == 302 and response.url.startswith(LOGIN)


# --- the API --------------------------------------------------------------------------------------


def duplicate_membership(client, org, **headers):
    body = {"username": "zhangsan", "display_name": "Zhang San", "organizations": [org.pk] * 2}
    response = client.post(f"{V1}/accounts/", body, format="json", **headers)
    assert response.status_code == 400
    return response.json()["organizations"]


def test_api_errors_follow_accept_language(admin_user):
    api, org = token_client(admin_user), make_org("RD")
    assert duplicate_membership(api, org, HTTP_ACCEPT_LANGUAGE="zh-CN") == ["同一组织列出了两次。"]
    assert duplicate_membership(api, org) == ["An organisation is listed twice."]


def test_django_rest_frameworks_own_errors_follow_accept_language_too():
    response = APIClient().get(f"{V1}/accounts/", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert response.status_code == 401 and response.json()["detail"] == "身份认证信息未提供。"


def test_the_api_ignores_the_saved_choice_of_a_session_user(admin_client, admin_user):
    user_language_set(admin_user, "zh-hans")
    admin_client.force_login(admin_user)
    org = make_org("RD")
    body = {"username": "lisi", "display_name": "Li Si", "organizations": [org.pk, org.pk]}
    response = admin_client.post(
        f"{V1}/accounts/", body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.json()["organizations"] == ["An organisation is listed twice."]


# --- times ----------------------------------------------------------------------------------------


def test_times_carry_the_utc_offset_in_each_languages_format(admin_client, admin_user, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    entry = AuditEntry.objects.create(actor=admin_user, action="provider.update", object_type="p")
    moment = datetime.datetime(2026, 3, 5, 1, 2, 3, tzinfo=datetime.UTC)
    AuditEntry.objects.filter(pk=entry.pk).update(created_at=moment)
    english = page(admin_client, "audit:list", HTTP_ACCEPT_LANGUAGE="en")
    chinese = page(admin_client, "audit:list", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert "5 Mar 2026, 09:02:03 UTC+0800" in english
    assert "2026年3月5日 09:02:03（UTC+0800）" in chinese


def test_times_follow_the_configured_time_zone(admin_client, admin_user, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    entry = AuditEntry.objects.create(actor=admin_user, action="provider.update", object_type="p")
    moment = datetime.datetime(2026, 3, 5, 1, 2, 3, tzinfo=datetime.UTC)
    AuditEntry.objects.filter(pk=entry.pk).update(created_at=moment)
    assert "5 Mar 2026, 02:02:03 UTC+0100" in page(admin_client, "audit:list")


def test_the_switch_on_the_login_page_keeps_next_and_never_echoes_the_url(client):
    html = page(client, "login", data={"next": "/sync/jobs/"})
    assert 'name="next" value="/login/?next=/sync/jobs/"' in html
    html = client.get(reverse("accounts:dingtalk_callback"), {"code": "one-time-c0de"}).content
    assert b"one-time-c0de" not in html and b'name="next" value="/login/"' in html
