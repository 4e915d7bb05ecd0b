"""Sandbox work notifications (工作通知): send, progress, result, recall, the once-a-day rule,
the monthly quota and the control routes (dingtalk-api.md §5, §11)."""

import json

import pytest
import requests

from tests.sandbox_helpers import (
    AGENT_ID,
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
)

BASE = "/topapi/message/corpconversation/"
SEND = BASE + "asyncsend_v2"
RESULT = BASE + "getsendresult"
PROGRESS = BASE + "getsendprogress"
RECALL = BASE + "recall"


@pytest.fixture
def srv():
    server = start_sandbox(qps=0)
    yield server
    server.stop()


@pytest.fixture
def call(srv):
    token = get_token(srv, make_app(srv))
    session = requests.Session()

    def _call(path, body):
        return oapi(srv, token, path, body, session=session)

    return _call


@pytest.fixture
def people(srv):
    """Two users in the root department: alice and bob (the test app's corp is created first)."""
    make_app(srv)
    seed_user(srv, "Alice", mobile(1), [1], userid="alice")
    seed_user(srv, "Bob", mobile(2), [1], userid="bob")


def text(content):
    return {"msgtype": "text", "text": {"content": content}}


def send(call, userids, msg, **extra):
    body = {"agent_id": AGENT_ID, "userid_list": userids, "msg": msg, **extra}
    answer = call(SEND, body)
    assert answer["errcode"] == 0, answer
    return answer["task_id"]


def result(call, task_id):
    answer = call(RESULT, {"agent_id": AGENT_ID, "task_id": task_id})
    assert answer["errcode"] == 0, answer
    return answer["send_result"]


def messages(srv, query=""):
    return control(srv, "GET", "messages" + query).json()["messages"]


def test_a_send_answers_a_numeric_task_id_and_is_recorded(srv, call, people):
    task_id = send(call, "alice,bob", text("Job 7 failed"))
    assert isinstance(task_id, int) and task_id > 0
    (recorded,) = messages(srv)
    assert recorded["task_id"] == task_id and recorded["msgtype"] == "text"
    assert recorded["content"] == {"content": "Job 7 failed"}
    assert recorded["userids"] == ["alice", "bob"] and recorded["delivered"] == ["alice", "bob"]
    assert (recorded["agent_id"], recorded["app_key"], recorded["corp_id"]) == (
        AGENT_ID,
        APP_KEY,
        CORP_ID,
    )
    assert recorded["sent_ms"] > 1_600_000_000_000


def test_the_result_lists_unknown_userids_as_invalid_and_the_rest_as_unread(call, people):
    task_id = send(call, "alice,ghost", text("hello"))
    sent = result(call, task_id)
    assert sent["invalid_user_id_list"] == ["ghost"]
    assert sent["unread_user_id_list"] == ["alice"]
    assert sent["read_user_id_list"] == [] and sent["failed_user_id_list"] == []
    assert sent["forbidden_user_id_list"] == [] and sent["invalid_dept_id_list"] == []


def test_users_outside_the_apps_range_are_forbidden(srv, people):
    inside = seed_department(srv, "Inside")
    outside = seed_department(srv, "Outside")
    seed_user(srv, "In", mobile(3), [inside], userid="in")
    seed_user(srv, "Out", mobile(4), [outside], userid="out")
    token = get_token(srv, make_app(srv, auth_dept_ids=[inside]))
    body = {"agent_id": AGENT_ID, "userid_list": "in,out", "msg": text("x")}
    task_id = oapi(srv, token, SEND, body)["task_id"]
    sent = oapi(srv, token, RESULT, {"agent_id": AGENT_ID, "task_id": task_id})["send_result"]
    assert sent["forbidden_user_id_list"] == ["out"] and sent["unread_user_id_list"] == ["in"]


def test_the_same_content_reaches_a_user_once_a_day_and_later_copies_are_dropped(srv, call, people):
    first = send(call, "alice", text("Job 8 failed"))
    again = send(call, "alice,bob", text("Job 8 failed"))
    assert result(call, first)["unread_user_id_list"] == ["alice"]
    repeat = result(call, again)
    assert repeat["unread_user_id_list"] == ["bob"]
    assert "alice" not in json.dumps(repeat), "a dropped recipient is in no list"
    recorded = messages(srv)[1]
    assert recorded["delivered"] == ["bob"] and recorded["dropped"] == ["alice"]


def test_different_content_or_another_app_is_not_a_duplicate(srv, call, people):
    send(call, "alice", text("Job 9 failed"))
    send(call, "alice", text("Job 10 failed"))
    make_app(srv, app_key="otherapp", app_secret="s2", agent_id=AGENT_ID + 1)
    token = get_token(srv, {"app_key": "otherapp", "app_secret": "s2"})
    body = {"agent_id": AGENT_ID + 1, "userid_list": "alice", "msg": text("Job 9 failed")}
    assert oapi(srv, token, SEND, body)["errcode"] == 0
    assert [m["delivered"] for m in messages(srv)] == [["alice"], ["alice"], ["alice"]]


def test_departments_and_the_whole_company_can_be_addressed(srv, call, people):
    dept = seed_department(srv, "Ops")
    sub = seed_department(srv, "Night shift", parent_id=dept)
    seed_user(srv, "Carol", mobile(3), [sub], userid="carol")
    by_dept = send(call, "", text("ops"), dept_id_list=f"{dept},424242")
    assert result(call, by_dept)["unread_user_id_list"] == ["carol"]
    assert result(call, by_dept)["invalid_dept_id_list"] == [424242]
    everyone = send(call, "", text("all"), to_all_user=True)
    assert sorted(result(call, everyone)["unread_user_id_list"]) == ["alice", "bob", "carol"]


@pytest.mark.parametrize(
    "msg",
    [
        {"msgtype": "markdown", "markdown": {"title": "Sync", "text": "## failed"}},
        {"msgtype": "link", "link": {"messageUrl": "https://x", "title": "t", "text": "x"}},
        {"msgtype": "action_card", "action_card": {"title": "t", "markdown": "m"}},
        json.dumps({"msgtype": "text", "text": {"content": "as a JSON string"}}),
    ],
)
def test_every_documented_message_type_is_accepted(call, people, msg):
    send(call, "alice", msg)


def test_a_form_encoded_send_works_as_the_old_sdk_sends_it(srv, people):
    token = get_token(srv, make_app(srv))
    body = {"agent_id": str(AGENT_ID), "userid_list": "alice", "msg": json.dumps(text("f"))}
    assert oapi(srv, token, SEND, body, form=True)["errcode"] == 0


@pytest.mark.parametrize(
    ("msg", "code"),
    [
        (None, 400002),
        ({"msgtype": "telegram", "telegram": {}}, 40035),
        ({"msgtype": "text", "text": {"content": ""}}, 40035),
        ({"msgtype": "markdown", "markdown": {"title": "no text"}}, 40035),
    ],
)
def test_a_malformed_message_is_refused(call, people, msg, code):
    body = {"agent_id": AGENT_ID, "userid_list": "alice"}
    if msg is not None:
        body["msg"] = msg
    assert call(SEND, body)["errcode"] == code


def test_a_send_without_any_recipient_is_refused(call):
    assert call(SEND, {"agent_id": AGENT_ID, "msg": text("nobody")})["errcode"] == 400002


def test_more_than_5000_recipients_are_refused(call, people):
    body = {"agent_id": AGENT_ID, "userid_list": ",".join(f"u{n}" for n in range(5001))}
    assert call(SEND, {**body, "msg": text("crowd")})["errcode"] == 40035


@pytest.mark.parametrize(("agent_id", "code"), [(None, 41011), (12345, 40056), ("abc", 40056)])
def test_a_missing_or_foreign_agent_id_is_refused_naming_agentid(call, people, agent_id, code):
    body = {"userid_list": "alice", "msg": text("x")}
    if agent_id is not None:
        body["agent_id"] = agent_id
    answer = call(SEND, body)
    assert answer["errcode"] == code and "agentid" in answer["errmsg"]


def test_progress_is_done_at_once(call, people):
    task_id = send(call, "alice", text("p"))
    answer = call(PROGRESS, {"agent_id": AGENT_ID, "task_id": task_id})
    assert answer["progress"] == {"progress_in_percent": 100, "status": 2}


def test_an_unknown_task_id_is_refused_everywhere(call):
    for path, key in ((PROGRESS, "task_id"), (RESULT, "task_id"), (RECALL, "msg_task_id")):
        assert call(path, {"agent_id": AGENT_ID, key: 1})["errcode"] == 40035


def test_another_apps_task_is_not_visible(srv, call, people):
    task_id = send(call, "alice", text("mine"))
    make_app(srv, app_key="otherapp", app_secret="s2", agent_id=AGENT_ID + 1)
    token = get_token(srv, {"app_key": "otherapp", "app_secret": "s2"})
    answer = oapi(srv, token, RESULT, {"agent_id": AGENT_ID + 1, "task_id": task_id})
    assert answer["errcode"] == 40035


def test_a_recalled_message_is_marked_recalled(srv, call, people):
    task_id = send(call, "alice", text("oops"))
    assert call(RECALL, {"agent_id": AGENT_ID, "msg_task_id": task_id})["errcode"] == 0
    assert messages(srv)[0]["recalled"] is True


def test_the_messages_route_filters_by_corp_app_and_recipient(srv, call, people):
    send(call, "alice", text("one"))
    send(call, "bob", text("two"))
    assert [m["summary"] for m in messages(srv, "?userid=bob")] == ["two"]
    assert len(messages(srv, f"?corp_id={CORP_ID}&app_key={APP_KEY}")) == 2
    assert messages(srv, "?app_key=nobody") == []


def test_messages_are_in_the_state_dump_and_reset_forgets_them(srv, call, people):
    send(call, "alice", text("dumped"))
    assert control(srv, "GET", "state").json()["messages"][0]["summary"] == "dumped"
    control(srv, "POST", "reset")
    assert control(srv, "GET", "state").json()["messages"] == []


def test_the_sandbox_page_shows_received_messages_escaped(srv, call, people):
    send(call, "alice", text("<b>Job 11</b> failed"))
    page = requests.get(srv.url + "/", timeout=10).text
    assert "Work notifications" in page and "&lt;b&gt;Job 11&lt;/b&gt; failed" in page


def test_message_calls_count_against_the_monthly_quota_and_address_book_calls_do_not(
    srv, call, people
):
    call("/topapi/v2/department/get", {"dept_id": 1})
    task_id = send(call, "alice", text("q"))
    result(call, task_id)
    (quota,) = control(srv, "GET", "quota").json()["quota"]
    assert (quota["corp_id"], quota["used"], quota["limit"]) == (CORP_ID, 2, 5000)
    assert quota["remaining"] == 4998 and len(quota["month"]) == 7


def test_a_used_up_quota_gives_88_90020_and_the_address_book_still_works(srv, call, people):
    view = control(srv, "POST", "quota", {"app_key": APP_KEY, "used": 5000}).json()
    assert view["remaining"] == 0
    answer = call(SEND, {"agent_id": AGENT_ID, "userid_list": "alice", "msg": text("late")})
    assert (answer["errcode"], answer["sub_code"]) == (88, "90020")
    assert "subcode=90020" in answer["errmsg"]
    assert call("/topapi/v2/department/get", {"dept_id": 1})["errcode"] == 0
    assert messages(srv) == []


def test_a_corp_can_get_its_own_monthly_limit(srv, call, people):
    control(srv, "POST", "quota", {"corp_id": CORP_ID, "limit": 1})
    assert (
        call(SEND, {"agent_id": AGENT_ID, "userid_list": "alice", "msg": text("1")})["errcode"] == 0
    )
    assert (
        call(SEND, {"agent_id": AGENT_ID, "userid_list": "alice", "msg": text("2")})["sub_code"]
        == "90020"
    )


def test_a_quota_request_must_name_a_known_corp_or_app(srv):
    make_app(srv)
    assert control(srv, "POST", "quota", {"app_key": "nope", "used": 1}).status_code == 404
    assert control(srv, "POST", "quota", {"corp_id": "nope", "used": 1}).status_code == 400
    assert control(srv, "POST", "quota", {"corp_id": CORP_ID, "used": -1}).status_code == 400


def test_a_90020_fault_targets_one_app(srv, call, people):
    control(srv, "POST", "faults", {"path": "*", "kind": "errcode_90020", "app_key": APP_KEY})
    answer = call(SEND, {"agent_id": AGENT_ID, "userid_list": "alice", "msg": text("f")})
    assert answer["sub_code"] == "90020"


def test_message_calls_have_the_usual_per_path_qps_limit(srv, people):
    control(srv, "POST", "config", {"qps_default": 2})
    token = get_token(srv, make_app(srv))
    codes = []
    for n in range(3):
        body = {"agent_id": AGENT_ID, "userid_list": "alice", "msg": text(f"burst {n}")}
        answer = oapi(srv, token, SEND, body)
        codes.append(answer.get("sub_code", answer["errcode"]))
    assert codes == [0, 0, "90018"]
    (quota,) = control(srv, "GET", "quota").json()["quota"]
    assert quota["used"] == 2, "a call refused for QPS is not counted"
