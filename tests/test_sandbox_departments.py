"""Sandbox department APIs and tree integrity (dingtalk-api.md §2, §10.6)."""

import pytest

from tests.sandbox_helpers import (
    control,
    get_token,
    make_app,
    mobile,
    oapi,
    seed_department,
    seed_user,
    start_sandbox,
)

CREATE = "/topapi/v2/department/create"
UPDATE = "/topapi/v2/department/update"
DELETE = "/topapi/v2/department/delete"
GET = "/topapi/v2/department/get"


@pytest.fixture
def srv():
    server = start_sandbox(qps=0)
    yield server
    server.stop()


@pytest.fixture
def call(srv):
    token = get_token(srv, make_app(srv, corp_name="Acme"))

    def _call(path, body):
        return oapi(srv, token, path, body)

    return _call


def create(call, name, parent_id=1, **fields):
    body = call(CREATE, {"name": name, "parent_id": parent_id, **fields})
    assert body["errcode"] == 0, body
    return body["result"]["dept_id"]


def test_create_returns_a_server_generated_long_id(call):
    first, second = create(call, "Eng"), create(call, "Ops")
    assert isinstance(first, int) and first > 1_000_000 and second != first


def test_the_root_exists_is_named_after_the_corp_and_has_no_parent_id(call):
    root = call(GET, {"dept_id": 1})["result"]
    assert root["dept_id"] == 1 and root["name"] == "Acme" and "parent_id" not in root


def test_the_root_cannot_be_deleted_or_updated(call):
    assert call(DELETE, {"dept_id": 1})["errcode"] == 60007
    assert call(UPDATE, {"dept_id": 1, "name": "New"})["errcode"] == 60018


def test_create_under_a_missing_parent_gives_60004(call):
    assert call(CREATE, {"name": "X", "parent_id": 123})["errcode"] == 60004


def test_create_without_a_name_gives_400002(call):
    assert call(CREATE, {"parent_id": 1})["errcode"] == 400002


@pytest.mark.parametrize(
    "name,code", [("", 400002), ("x" * 65, 60001), ("A-B", 60009), ("A,B", 60009), ("A，B", 60009)]
)
def test_bad_department_names_are_refused(call, name, code):
    assert call(CREATE, {"name": name, "parent_id": 1})["errcode"] == code


def test_a_64_character_name_is_accepted(call):
    create(call, "x" * 64)


def test_sibling_names_are_unique_with_60008_by_default(call):
    create(call, "Eng")
    body = call(CREATE, {"name": "Eng", "parent_id": 1})
    assert body["errcode"] == 60008 and body["errmsg"] == "父部门下该部门名称已存在"


def test_the_duplicate_name_code_can_be_switched_to_60021(srv, call):
    control(srv, "POST", "config", {"duplicate_dept_errcode": 60021})
    create(call, "Eng")
    assert call(CREATE, {"name": "Eng", "parent_id": 1})["errcode"] == 60021


def test_the_same_name_under_different_parents_is_fine(call):
    a, b = create(call, "A"), create(call, "B")
    create(call, "Team", a)
    create(call, "Team", b)


def test_renaming_onto_a_sibling_name_is_refused(call):
    create(call, "A")
    b = create(call, "B")
    assert call(UPDATE, {"dept_id": b, "name": "A"})["errcode"] == 60008


def test_moving_a_department_under_its_own_descendant_gives_60010(call):
    a = create(call, "A")
    b = create(call, "B", a)
    c = create(call, "C", b)
    assert call(UPDATE, {"dept_id": a, "parent_id": c})["errcode"] == 60010
    assert call(UPDATE, {"dept_id": a, "parent_id": a})["errcode"] == 60010


def test_moving_a_department_keeps_its_id_and_updates_its_ancestors(call):
    a, b = create(call, "A"), create(call, "B")
    c = create(call, "C", a)
    assert call(UPDATE, {"dept_id": c, "parent_id": b})["errcode"] == 0
    parents = call("/topapi/v2/department/listparentbydept", {"dept_id": c})["result"]
    assert parents["parent_id_list"] == [c, b, 1]


def test_update_leaves_omitted_fields_unchanged(call):
    a = create(call, "A", order=7, source_identifier="org-7")
    assert call(UPDATE, {"dept_id": a, "name": "A2"})["errcode"] == 0
    got = call(GET, {"dept_id": a})["result"]
    assert (got["name"], got["order"], got["source_identifier"]) == ("A2", 7, "org-7")


def test_unknown_departments_give_60003(call):
    assert call(GET, {"dept_id": 5})["errcode"] == 60003
    assert call(UPDATE, {"dept_id": 5, "name": "x"})["errcode"] == 60003
    assert call(DELETE, {"dept_id": 5})["errcode"] == 60003


def test_deleting_a_department_with_members_in_its_subtree_is_refused_with_60005(srv, call):
    a = create(call, "A")
    b = create(call, "B", a)
    seed_user(srv, "Zhang", mobile(1), [b])
    assert call(DELETE, {"dept_id": a})["errcode"] == 60005
    assert call(DELETE, {"dept_id": b})["errcode"] == 60005


def test_deleting_a_department_with_children_is_refused_with_60006(call):
    a = create(call, "A")
    create(call, "B", a)
    assert call(DELETE, {"dept_id": a})["errcode"] == 60006


def test_deleting_with_children_can_be_configured_to_cascade(srv, call):
    a = create(call, "A")
    b = create(call, "B", a)
    control(srv, "POST", "config", {"delete_dept_with_children": "cascade"})
    assert call(DELETE, {"dept_id": a})["errcode"] == 0
    assert call(GET, {"dept_id": b})["errcode"] == 60003


def test_deleting_an_empty_leaf_works_and_frees_its_name(call):
    a = create(call, "A")
    assert call(DELETE, {"dept_id": a})["errcode"] == 0
    create(call, "A")


def test_managers_must_be_members_of_the_department(srv, call):
    a = create(call, "A")
    member = seed_user(srv, "In", mobile(1), [a])
    outsider = seed_user(srv, "Out", mobile(2), [1])
    bad = call(UPDATE, {"dept_id": a, "dept_manager_userid_list": outsider["userid"]})
    assert bad["errcode"] == 40031 and bad["errmsg"] == "不存在的userId"
    ok = call(UPDATE, {"dept_id": a, "dept_manager_userid_list": member["userid"]})
    assert ok["errcode"] == 0
    assert call(GET, {"dept_id": a})["result"]["dept_manager_userid_list"] == [member["userid"]]


def test_get_counts_subtree_members_and_direct_members(srv, call):
    a = create(call, "A")
    b = create(call, "B", a)
    seed_user(srv, "One", mobile(1), [a])
    seed_user(srv, "Two", mobile(2), [b])
    seed_user(srv, "Three", mobile(3), [a, b])
    got = call(GET, {"dept_id": a})["result"]
    assert got["member_count"] == 3 and got["owning_member_count"] == 2


def test_get_omits_empty_optional_fields_and_uses_real_types(call):
    a = create(call, "A")
    got = call(GET, {"dept_id": a})["result"]
    assert got["parent_id"] == 1 and isinstance(got["order"], int)
    assert got["hide_dept"] is False
    for absent in (
        "source_identifier",
        "dept_manager_userid_list",
        "dept_permits",
        "code",
        "outer_permit_users",
    ):
        assert absent not in got


def test_listsub_returns_one_level_in_order_then_id(call):
    late = create(call, "Late", order=20)
    early = create(call, "Early", order=10)
    same = create(call, "Same", order=20)
    create(call, "Grandchild", early)
    result = call("/topapi/v2/department/listsub", {"dept_id": 1})["result"]
    assert [d["dept_id"] for d in result] == [early, late, same]
    assert set(result[0]) == {"dept_id", "name", "parent_id", "create_dept_group", "auto_add_user"}


def test_listsub_without_dept_id_lists_the_roots_children(call):
    a = create(call, "A")
    assert [d["dept_id"] for d in call("/topapi/v2/department/listsub", {})["result"]] == [a]


def test_listsubid_returns_child_ids(call):
    a, b = create(call, "A"), create(call, "B")
    result = call("/topapi/v2/department/listsubid", {"dept_id": 1})["result"]
    assert result == {"dept_id_list": [a, b]}


def test_listparentbydept_starts_with_itself_and_ends_with_the_root(call):
    a = create(call, "A")
    b = create(call, "B", a)
    result = call("/topapi/v2/department/listparentbydept", {"dept_id": b})["result"]
    assert result == {"parent_id_list": [b, a, 1]}


def test_listparentbyuser_gives_one_chain_per_department(srv, call):
    a = create(call, "A")
    b = create(call, "B", a)
    user = seed_user(srv, "Zhang", mobile(1), [b, 1])
    result = call("/topapi/v2/department/listparentbyuser", {"userid": user["userid"]})["result"]
    assert result == {
        "parent_list": [{"parent_dept_id_list": [b, a, 1]}, {"parent_dept_id_list": [1]}]
    }


def test_department_writes_record_events(srv, call):
    a = create(call, "A")
    call(UPDATE, {"dept_id": a, "name": "A2"})
    call(DELETE, {"dept_id": a})
    events = control(srv, "GET", "events").json()["events"]
    kinds = [(e["EventType"], e["deptId"]) for e in events]
    assert kinds == [("org_dept_create", [a]), ("org_dept_modify", [a]), ("org_dept_remove", [a])]
    assert all(e["eventId"] and e["EventTime"] for e in events)


def test_seeded_departments_can_choose_their_id(srv, call):
    assert seed_department(srv, "Fixed", dept_id=777) == 777
    assert call(GET, {"dept_id": 777})["result"]["name"] == "Fixed"
