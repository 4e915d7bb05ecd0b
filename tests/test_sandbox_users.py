"""Sandbox user APIs: create/update/delete/get, lookups, paging, field visibility
(dingtalk-api.md §3, §10.7-10.10)."""

import json
import re

import pytest
import requests

from tests.sandbox_helpers import (
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

CREATE = "/topapi/v2/user/create"
UPDATE = "/topapi/v2/user/update"
GET = "/topapi/v2/user/get"
LIST = "/topapi/v2/user/list"
SIMPLE = "/topapi/user/listsimple"


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


def create(call, name="Zhang", n=1, depts=(1,), **fields):
    body = call(CREATE, {"name": name, "mobile": mobile(n), "dept_id_list": list(depts), **fields})
    assert body["errcode"] == 0, body
    return body["result"]


def test_create_returns_userid_and_camel_case_union_id(call):
    result = create(call, userid="zhangsan")
    assert set(result) == {"userid", "unionId"} and result["userid"] == "zhangsan"
    assert re.fullmatch(r"[0-9A-Za-z]{24}iEiE", result["unionId"])


def test_a_missing_userid_is_generated_as_16_to_20_digits(call):
    assert re.fullmatch(r"\d{16,20}", create(call)["userid"])


def test_get_returns_lower_case_unionid_and_real_types(call):
    made = create(
        call, userid="li", title="Engineer", hired_date=1600000000000, extension={"a": "1"}
    )
    user = call(GET, {"userid": "li"})["result"]
    assert user["unionid"] == made["unionId"] and "unionId" not in user
    assert user["dept_id_list"] == [1] and user["dept_order_list"] == [{"dept_id": 1, "order": 0}]
    assert user["hired_date"] == 1600000000000 and user["active"] is False
    assert user["extension"] == '{"a":"1"}' and json.loads(user["extension"]) == {"a": "1"}
    assert user["mobile"] == mobile(1) and user["state_code"] == "86"
    for absent in ("email", "telephone", "job_number", "manager_userid", "avatar", "remark"):
        assert absent not in user


@pytest.mark.parametrize("missing", ["name", "mobile", "dept_id_list"])
def test_create_requires_name_mobile_and_departments(call, missing):
    body = {"name": "Zhang", "mobile": mobile(1), "dept_id_list": [1]}
    del body[missing]
    assert call(CREATE, body)["errcode"] == 400002


def test_create_in_an_unknown_department_gives_60003(call):
    assert (
        call(CREATE, {"name": "Z", "mobile": mobile(1), "dept_id_list": [42]})["errcode"] == 60003
    )


def test_create_in_more_than_100_departments_is_refused(srv, call):
    depts = control(
        srv,
        "POST",
        "departments",
        {
            "corp_id": CORP_ID,
            "departments": [{"name": f"D{i}", "parent_id": 1} for i in range(101)],
        },
    ).json()["dept_ids"]
    assert (
        call(CREATE, {"name": "Z", "mobile": mobile(1), "dept_id_list": depts})["errcode"] == 40066
    )
    assert (
        call(CREATE, {"name": "Z", "mobile": mobile(1), "dept_id_list": depts[:100]})["errcode"]
        == 0
    )


@pytest.mark.parametrize(
    "bad",
    [
        "12345",
        "23800000000",
        "1380000000",  # 10 digits
        "138000000000",  # 12 digits
        "+86-123",
        "+86-23800000000",
        "138 0000 0000",
        "+999-12345678",  # no such country calling code
        "+85-212345678",  # +85 is not a calling code either
        "+852-5123",  # too short for Hong Kong
        "+852-512345678901",  # too long for Hong Kong
        "+1-202555",  # too short for North America
        "852-51234567",  # no plus sign
        "+852 51234567",  # no dash
    ],
)
def test_invalid_mobiles_give_60103(call, bad):
    body = call(CREATE, {"name": "Z", "mobile": bad, "dept_id_list": [1]})
    assert (body["errcode"], body["errmsg"]) == (60103, "手机号码不合法")


@pytest.mark.parametrize(
    ("good", "state_code"),
    [
        ("13950052493", "86"),
        ("+86-13950052493", "86"),
        ("+852-56912345", "852"),
        ("+853-61234567", "853"),
        ("+886-912345678", "886"),
        ("+65-89123456", "65"),
        ("+1-2025550123", "1"),
        ("+44-7911123456", "44"),
    ],
)
def test_mainland_and_international_mobiles_are_accepted(call, good, state_code):
    create(call, userid="ok", mobile=good)
    user = call(GET, {"userid": "ok"})["result"]
    assert (user["mobile"], user["state_code"]) == (good, state_code)


def test_international_mobiles_are_accepted_with_their_state_code(call):
    create(call, userid="hk", mobile="+852-51234567")
    user = call(GET, {"userid": "hk"})["result"]
    assert user["state_code"] == "852" and user["mobile"] == "+852-51234567"


def test_duplicate_userid_gives_60102(call):
    create(call, userid="dup", n=1)
    assert (
        call(CREATE, {"userid": "dup", "name": "B", "mobile": mobile(2), "dept_id_list": [1]})[
            "errcode"
        ]
        == 60102
    )


def test_duplicate_mobile_gives_60104_even_written_with_plus_86(call):
    create(call, n=1)
    again = {"name": "B", "mobile": "+86-" + mobile(1), "dept_id_list": [1]}
    assert call(CREATE, again)["errcode"] == 60104


def test_a_mobile_written_with_plus_86_clashes_with_the_bare_number_too(call):
    create(call, mobile="+86-13950052493")
    again = {"name": "B", "mobile": "13950052493", "dept_id_list": [1]}
    assert call(CREATE, again)["errcode"] == 60104


def test_the_60104_body_names_the_user_who_holds_the_mobile(call):
    create(call, userid="holder", n=1)
    body = call(CREATE, {"name": "B", "mobile": mobile(1), "dept_id_list": [1]})
    assert (body["errcode"], body["userid"]) == (60104, "holder")


@pytest.mark.parametrize(
    "bad",
    ["zhang san", "张三", "x" * 65, "_lead", ".lead", "-lead", "a/b", "a#b", "a+b", "é"],
)
def test_userids_outside_letters_digits_and_underscore_dot_at_dash_give_40003(call, bad):
    body = call(CREATE, {"userid": bad, "name": "Z", "mobile": mobile(1), "dept_id_list": [1]})
    assert (body["errcode"], body["errmsg"]) == (40003, "不合法的UserID")


@pytest.mark.parametrize("good", ["a", "zhang.san", "z_s-1@corp", "0123456789", "Z" * 64])
def test_userids_of_letters_digits_and_underscore_dot_at_dash_are_accepted(call, good):
    assert create(call, userid=good)["userid"] == good


def test_duplicate_email_gives_60106(call):
    create(call, n=1, email="a@example.com")
    body = {"name": "B", "mobile": mobile(2), "dept_id_list": [1], "email": "A@example.com"}
    assert call(CREATE, body)["errcode"] == 60106


def test_duplicate_telephone_gives_40100(call):
    create(call, n=1, telephone="8001")
    body = {"name": "B", "mobile": mobile(2), "dept_id_list": [1], "telephone": "8001"}
    assert call(CREATE, body)["errcode"] == 40100


def test_unknown_userids_give_60121(call):
    for path in (GET, UPDATE, "/topapi/v2/user/delete"):
        body = call(path, {"userid": "ghost", "name": "x"})
        assert (body["errcode"], body["errmsg"]) == (60121, "找不到该用户")


def test_update_leaves_omitted_fields_unchanged(call):
    create(call, userid="u1", title="Engineer", email="u1@example.com")
    assert call(UPDATE, {"userid": "u1", "name": "New Name"})["errcode"] == 0
    user = call(GET, {"userid": "u1"})["result"]
    assert (user["name"], user["title"], user["email"]) == (
        "New Name",
        "Engineer",
        "u1@example.com",
    )


def test_update_to_another_users_mobile_gives_60104(call):
    create(call, userid="a", n=1)
    create(call, userid="b", n=2)
    assert call(UPDATE, {"userid": "b", "mobile": mobile(1)})["errcode"] == 60104
    assert call(UPDATE, {"userid": "b", "mobile": mobile(2)})["errcode"] == 0


def test_extension_replaces_by_default_and_merges_in_append_mode(call):
    create(call, userid="x", extension={"a": "1", "b": "2"})
    call(UPDATE, {"userid": "x", "extension": json.dumps({"c": "3"})})
    assert json.loads(call(GET, {"userid": "x"})["result"]["extension"]) == {"c": "3"}
    call(UPDATE, {"userid": "x", "extension": {"d": "4"}, "ext_attrs_update_mode": 1})
    assert json.loads(call(GET, {"userid": "x"})["result"]["extension"]) == {"c": "3", "d": "4"}


def test_force_update_fields_clears_the_manager(call):
    create(call, userid="boss", n=1)
    create(call, userid="emp", n=2, manager_userid="boss")
    assert call(GET, {"userid": "emp"})["result"]["manager_userid"] == "boss"
    call(UPDATE, {"userid": "emp", "force_update_fields": "manager_userid"})
    assert "manager_userid" not in call(GET, {"userid": "emp"})["result"]


def test_an_activated_users_mobile_cannot_change(srv, call):
    create(call, userid="act", n=1)
    control(srv, "POST", "users/act/active", {"active": True})
    assert call(UPDATE, {"userid": "act", "mobile": mobile(5)})["errcode"] == 40022
    assert call(UPDATE, {"userid": "act", "name": "Still fine"})["errcode"] == 0


def test_update_moves_a_user_between_departments(srv, call):
    a, b = seed_department(srv, "A"), seed_department(srv, "B")
    create(call, userid="m", depts=[a])
    call(UPDATE, {"userid": "m", "dept_id_list": str(b)})
    assert call("/topapi/user/listid", {"dept_id": a})["result"]["userid_list"] == []
    assert call("/topapi/user/listid", {"dept_id": b})["result"]["userid_list"] == ["m"]


def test_delete_removes_the_user_from_every_department(srv, call):
    a = seed_department(srv, "A")
    create(call, userid="gone", depts=[1, a])
    assert call("/topapi/v2/user/delete", {"userid": "gone"})["errcode"] == 0
    assert call("/topapi/user/listid", {"dept_id": a})["result"]["userid_list"] == []
    assert call(GET, {"userid": "gone"})["errcode"] == 60121


def test_getbymobile_finds_the_user_or_gives_60121(call):
    create(call, userid="mob", n=7)
    assert call("/topapi/v2/user/getbymobile", {"mobile": mobile(7)})["result"] == {"userid": "mob"}
    assert call("/topapi/v2/user/getbymobile", {"mobile": mobile(8)})["errcode"] == 60121


@pytest.mark.parametrize(
    ("stored", "asked"),
    [("13950052493", "+86-13950052493"), ("+86-13950052493", "13950052493")],
)
def test_getbymobile_treats_plus_86_and_the_bare_number_as_one(call, stored, asked):
    create(call, userid="same", mobile=stored)
    assert call("/topapi/v2/user/getbymobile", {"mobile": asked})["result"] == {"userid": "same"}


def test_getbymobile_with_a_malformed_number_gives_40104(call):
    assert call("/topapi/v2/user/getbymobile", {"mobile": "+999-12345678"})["errcode"] == 40104


def test_getbyunionid_has_no_v2_and_returns_contact_type_0(call):
    made = create(call, userid="uni")
    body = call("/topapi/user/getbyunionid", {"unionid": made["unionId"]})
    assert body["result"] == {"contact_type": 0, "userid": "uni"}
    assert call("/topapi/user/getbyunionid", {"unionid": "nobodyiEiE"})["errcode"] == 60121


def test_the_unionid_is_stable_when_the_same_person_is_added_again(call):
    first = create(call, userid="p1", n=3)["unionId"]
    call("/topapi/v2/user/delete", {"userid": "p1"})
    assert create(call, userid="p2", n=3)["unionId"] == first


def test_count_requires_only_active(srv, call):
    create(call, userid="c1", n=1)
    create(call, userid="c2", n=2)
    control(srv, "POST", "users/c1/active", {"active": True})
    assert call("/topapi/user/count", {})["errcode"] == 400002
    assert call("/topapi/user/count", {"only_active": False})["result"] == {"count": 2}
    assert call("/topapi/user/count", {"only_active": "true"})["result"] == {"count": 1}


def test_field_permissions_hide_mobile_and_email_groups(srv):
    token = get_token(srv, make_app(srv, field_permissions=[]))
    seed_user(
        srv,
        "Hidden",
        mobile(1),
        [1],
        userid="h",
        email="h@example.com",
        work_place="HQ",
        remark="r",
    )
    user = oapi(srv, token, GET, {"userid": "h"})["result"]
    for absent in ("mobile", "state_code", "email", "work_place", "remark", "extension"):
        assert absent not in user
    item = oapi(srv, token, LIST, {"dept_id": 1, "cursor": 0, "size": 10})["result"]["list"][0]
    assert "mobile" not in item and "email" not in item


def seed_members(srv, dept_id, count):
    users = [
        {"name": f"U{i:03d}", "mobile": mobile(i), "dept_id_list": [dept_id]} for i in range(count)
    ]
    resp = control(srv, "POST", "users", {"corp_id": CORP_ID, "users": users})
    assert resp.status_code == 200, resp.text


def collect(call, path, dept_id, size):
    seen, cursor, pages = [], 0, 0
    while True:
        result = call(path, {"dept_id": dept_id, "cursor": cursor, "size": size})["result"]
        pages += 1
        seen += [u["userid"] for u in result["list"]]
        if not result["has_more"]:
            assert "next_cursor" not in result
            return seen, pages
        cursor = result["next_cursor"]


@pytest.mark.parametrize("members,pages", [(0, 1), (1, 1), (100, 1), (101, 2), (250, 3)])
def test_paging_walks_every_direct_member_once(srv, call, members, pages):
    dept = seed_department(srv, "Paged")
    seed_members(srv, dept, members)
    ids, walked = collect(call, LIST, dept, 100)
    assert len(ids) == members and len(set(ids)) == members and walked == pages
    simple, _ = collect(call, SIMPLE, dept, 100)
    assert simple == ids


def test_list_items_carry_dept_order_and_leader(srv, call):
    dept = seed_department(srv, "D")
    create(call, userid="lead", depts=[dept])
    call("/topapi/v2/department/update", {"dept_id": dept, "dept_manager_userid_list": "lead"})
    item = call(LIST, {"dept_id": dept, "cursor": 0, "size": 1})["result"]["list"][0]
    assert item["leader"] is True and item["dept_order"] == 0 and "leader_in_dept" not in item


def test_listsimple_items_are_userid_and_name(srv, call):
    create(call, userid="s1")
    assert call(SIMPLE, {"dept_id": 1, "cursor": 0, "size": 5})["result"] == {
        "has_more": False,
        "list": [{"userid": "s1", "name": "Zhang"}],
    }


def test_members_are_ordered_by_their_order_in_the_department_then_by_creation(call):
    create(call, userid="first", n=1)
    create(call, userid="second", n=2)
    create(call, userid="top", n=3, dept_order_list=[{"dept_id": 1, "order": 10}])
    ids = [
        u["userid"] for u in call(SIMPLE, {"dept_id": 1, "cursor": 0, "size": 10})["result"]["list"]
    ]
    assert ids == ["top", "first", "second"]


def test_list_shows_direct_members_only(srv, call):
    parent = seed_department(srv, "P")
    child = seed_department(srv, "C", parent)
    create(call, userid="kid", depts=[child])
    assert call(LIST, {"dept_id": parent, "cursor": 0, "size": 10})["result"]["list"] == []


@pytest.mark.parametrize("size", [0, 101])
def test_page_sizes_outside_1_to_100_give_40069(call, size):
    assert call(LIST, {"dept_id": 1, "cursor": 0, "size": size})["errcode"] == 40069


def test_user_writes_record_events(srv, call):
    create(call, userid="ev")
    call(UPDATE, {"userid": "ev", "name": "Ev2"})
    call("/topapi/v2/user/delete", {"userid": "ev"})
    events = control(srv, "GET", "events", None).json()["events"]
    assert [(e["EventType"], e["userId"]) for e in events] == [
        ("user_add_org", ["ev"]),
        ("user_modify_org", ["ev"]),
        ("user_leave_org", ["ev"]),
    ]
