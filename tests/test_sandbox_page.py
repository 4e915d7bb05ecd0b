"""The sandbox's own page (GET /) in English or Simplified Chinese, by Accept-Language."""

import pytest
import requests

from connectors.dingtalk.sandbox.page import TEXTS, page_language
from tests.sandbox_helpers import (
    AGENT_ID,
    APP_KEY,
    CORP_ID,
    get_token,
    make_app,
    mobile,
    oapi,
    seed_department,
    seed_user,
    start_sandbox,
)

SEND = "/topapi/message/corpconversation/asyncsend_v2"


@pytest.fixture(scope="module")
def srv():
    """A sandbox holding one corp with a department, a member and a work notification."""
    server = start_sandbox(qps=0)
    token = get_token(server, make_app(server, name="dtconsole"))
    dept = seed_department(server, "研发部")
    seed_user(server, "张三", mobile(1), [dept], userid="zhangsan", email="zs@example.com")
    body = {"agent_id": AGENT_ID, "userid_list": "zhangsan,ghost", "msg": text("同步失败")}
    assert oapi(server, token, SEND, body)["errcode"] == 0
    yield server
    server.stop()


def text(content):
    return {"msgtype": "text", "text": {"content": content}}


def page(srv, accept_language=None):
    headers = {"Accept-Language": accept_language} if accept_language else {}
    return requests.get(srv.url + "/", headers=headers, timeout=10)


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("zh-CN", "zh"),
        ("zh-Hans", "zh"),
        ("zh", "zh"),
        ("zh-Hans-CN", "zh"),
        ("zh-SG", "zh"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("fr-FR, zh;q=0.8", "zh"),
        ("en-US", "en"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("zh-CN;q=0.5, en;q=0.9", "en"),
        ("zh-TW", "en"),
        ("zh-Hant", "en"),
        ("de-DE", "en"),
        ("zh-CN;q=0", "en"),
        ("", "en"),
    ],
)
def test_the_language_is_the_most_preferred_of_simplified_chinese_and_english(header, lang):
    assert page_language(header) == lang


def test_both_languages_have_the_same_strings():
    assert set(TEXTS["zh"]) == set(TEXTS["en"])


def test_without_accept_language_the_page_is_english(srv):
    resp = page(srv)
    html = resp.text
    assert "<html lang='en'>" in html and "<title>DingTalk sandbox</title>" in html
    for words in ("Internal apps", "Departments and members", "Mobile", "Work notifications"):
        assert words in html
    assert "部门与成员" not in html and "工作通知" not in html
    assert resp.headers["Content-Language"] == "en" and "Accept-Language" in resp.headers["Vary"]


def test_a_chinese_browser_gets_the_page_in_simplified_chinese(srv):
    resp = page(srv, "zh-CN,zh;q=0.9,en;q=0.8")
    html = resp.text
    assert "<html lang='zh-Hans'>" in html and "<title>钉钉沙箱</title>" in html
    for words in ("企业内部应用", "部门与成员", "名成员", "手机号", "应用", "工作通知", "已送达"):
        assert words in html
    assert "Departments and members" not in html and "Work notifications" not in html
    assert resp.headers["Content-Language"] == "zh-Hans"


@pytest.mark.parametrize("header", [None, "zh-CN"])
def test_the_data_is_the_same_in_both_languages(srv, header):
    html = page(srv, header).text
    for value in ("研发部", "张三", "zhangsan", mobile(1), "zs@example.com", CORP_ID, APP_KEY):
        assert value in html
    assert "同步失败" in html and "ghost" in html  # the message and its unknown recipient
