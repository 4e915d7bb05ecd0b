"""DingTalkClient work notifications (工作通知) against the sandbox over real HTTP (§11)."""

from __future__ import annotations

import pytest

from connectors.dingtalk.errors import BadRequest, QuotaExhausted, RateLimited
from connectors.dingtalk.types import SendProgress, SendResult
from tests.sandbox_helpers import start_sandbox
from tests.test_dingtalk_client import SandboxApp, calls, control, make_app, make_client

AGENT_ID = 1001  # make_app registers every app with AgentId "1001"
SEND = "/topapi/message/corpconversation/asyncsend_v2"


@pytest.fixture(scope="module")
def sandbox_url():
    """One sandbox server for this module (reset for every test)."""
    server = start_sandbox(qps=20)
    yield server.url
    server.stop()


@pytest.fixture
def app(sandbox_url: str) -> SandboxApp:
    """A fresh sandbox with one app and two users, alice and bob."""
    control(sandbox_url, "POST", "reset")
    app = make_app(sandbox_url)
    for n, userid in enumerate(("alice", "bob")):
        body = {"corp_id": app.corp_id, "userid": userid, "name": userid, "dept_id_list": [1]}
        control(sandbox_url, "POST", "users", {**body, "mobile": f"1390000000{n}"})
    return app


@pytest.fixture
def client(app: SandboxApp):
    with make_client(app) as dt:
        yield dt


def text(content: str) -> dict:
    return {"msgtype": "text", "text": {"content": content}}


def received(app: SandboxApp) -> list[dict]:
    return control(app.url, "GET", "messages")["messages"]


def test_a_sent_notification_reaches_the_userids_as_one_comma_separated_list(app, client):
    task_id = client.message_send(AGENT_ID, ["alice", "bob"], text("Job 1 failed"))
    (message,) = received(app)
    assert message["task_id"] == task_id and message["delivered"] == ["alice", "bob"]
    assert message["agent_id"] == AGENT_ID and message["content"] == {"content": "Job 1 failed"}


def test_a_single_userid_given_as_a_string_is_one_recipient(app, client):
    client.message_send(AGENT_ID, "alice", text("just alice"))
    assert received(app)[0]["userids"] == ["alice"]


def test_an_agent_id_given_as_text_is_sent_as_a_number(app, client):
    client.message_send(str(AGENT_ID), ["alice"], text("as text"))
    assert received(app)[0]["agent_id"] == AGENT_ID


def test_the_send_result_is_typed_with_unknown_userids_as_invalid(client):
    task_id = client.message_send(AGENT_ID, ["alice", "ghost"], text("Job 2 failed"))
    result = client.message_send_result(AGENT_ID, task_id)
    assert isinstance(result, SendResult)
    assert (result.invalid, result.unread, result.delivered) == (["ghost"], ["alice"], ["alice"])
    assert result.forbidden == result.failed == result.read == [] and result.invalid_dept_ids == []


def test_a_same_day_duplicate_is_delivered_to_nobody(client):
    client.message_send(AGENT_ID, ["alice"], text("Job 3 failed"))
    again = client.message_send(AGENT_ID, ["alice"], text("Job 3 failed"))
    assert client.message_send_result(AGENT_ID, again).delivered == []


def test_progress_says_done(client):
    task_id = client.message_send(AGENT_ID, ["alice"], text("Job 4 failed"))
    progress = client.message_progress(AGENT_ID, task_id)
    assert progress == SendProgress(percent=100, status=2) and progress.done


def test_a_recalled_notification_is_marked_so(app, client):
    task_id = client.message_send(AGENT_ID, ["alice"], text("Job 5 failed"))
    client.message_recall(AGENT_ID, task_id)
    assert received(app)[0]["recalled"] is True


def test_a_wrong_agent_id_is_a_bad_request_with_dingtalks_text_and_a_hint(client):
    with pytest.raises(BadRequest) as caught:
        client.message_send(999, ["alice"], text("x"))
    assert caught.value.errcode == 40056 and "agentid" in caught.value.message
    assert "AgentId" in caught.value.sentence()


def test_a_used_up_quota_is_quota_exhausted_at_once_and_not_retried(app, client):
    control(app.url, "POST", "quota", {"app_key": app.app_key, "used": 5000})
    with pytest.raises(QuotaExhausted) as caught:
        client.message_send(AGENT_ID, ["alice"], text("late"))
    err = caught.value
    assert isinstance(err, RateLimited) and not err.retryable and err.errcode == 90020
    assert calls(app, SEND) == 1
    assert client.department_get(1).dept_id == 1, "the address book is exempt from the quota"


def test_a_transient_rate_limit_is_still_retried(app, client):
    client.access_token()
    control(app.url, "POST", "faults", {"path": SEND, "kind": "errcode_90002", "count": 1})
    client.message_send(AGENT_ID, ["alice"], text("after a throttle"))
    assert calls(app, SEND) == 2 and len(received(app)) == 1
