"""Department APIs: /topapi/v2/department/* and /v1.0/contact/departments/search (§2, §10.6)."""

from __future__ import annotations

import secrets
from typing import Any

from .errors import ApiError, V1Error, invalid
from .gateway import Call
from .model import ROOT_DEPT_ID, Corp, Department
from .parsing import Params, to_int
from .state import App, SandboxState

BOOL_OPTIONS = (
    "outer_dept",
    "outer_dept_only_self",
    "create_dept_group",
    "auto_approve_apply",
    "auto_add_user",
    "group_contain_sub_dept",
    "group_contain_outer_dept",
    "group_contain_hidden_dept",
)
LIST_OPTIONS = {
    "dept_permits": "int",
    "user_permits": "str",
    "outer_permit_depts": "int",
    "outer_permit_users": "str",
}
TEXT_OPTIONS = {"source_identifier": 256, "brief": 1000, "org_dept_owner": 64}
PERMIT_LIMIT = 50
DUPLICATE_NAME = "父部门下该部门名称已存在"
NAME_FORBIDDEN = "-,，"


def require_dept(corp: Corp, dept_id: int) -> Department:
    """The department, or 60003."""
    dept = corp.depts.get(dept_id)
    if dept is None:
        raise ApiError(60003, "部门不存在")
    return dept


def require_dept_scope(corp: Corp, app: App | None, dept_id: int) -> None:
    """50004 when the department is outside the app's address-book scope (§6.1)."""
    if app is not None and not corp.in_scope(dept_id, app.auth_dept_ids):
        raise ApiError(50004, "企业部门不在授权范围")


def check_name(name: str) -> None:
    """1-64 characters (60001 不合法的部门名称) without "-", "," or "，". For the forbidden
    characters we answer 60009 部门名称含有非法字符, the more specific code of §4.2."""
    if not name.strip() or len(name) > 64:
        raise ApiError(60001, "不合法的部门名称")
    if any(ch in name for ch in NAME_FORBIDDEN):
        raise ApiError(60009, "部门名称含有非法字符")


def check_unique_name(state: SandboxState, corp: Corp, parent_id: int, name: str, me: int) -> None:
    """Sibling names are unique; the code is 60008 by default, 60021 when configured (§4.3).
    Names compare exactly, case included (UNCONFIRMED)."""
    clash = corp.sibling_named(parent_id, name)
    if clash is not None and clash != me:
        raise ApiError(state.config.duplicate_dept_errcode, DUPLICATE_NAME)


def read_options(p: Params) -> dict[str, Any]:
    """The optional create/update fields that were sent, validated, before anything changes."""
    opts: dict[str, Any] = {}
    hide = p.boolean("hide_dept")
    # The 2020 Java SDK sends dept_hiding; later SDKs hide_dept (§2.1). Accept both.
    hide = p.boolean("dept_hiding") if hide is None else hide
    if hide is not None:
        opts["hide_dept"] = hide
    for name in BOOL_OPTIONS:
        if (value := p.boolean(name)) is not None:
            opts[name] = value
    for name, kind in LIST_OPTIONS.items():
        value = p.int_list(name) if kind == "int" else p.str_list(name)
        if value is not None:
            if len(value) > PERMIT_LIMIT:
                raise invalid(name)
            opts[name] = value
    for name, limit in TEXT_OPTIONS.items():
        if (text := p.text(name)) is not None:
            if len(text) > limit:
                raise invalid(name)
            opts[name] = text
    if (order := p.integer("order")) is not None:
        opts["order"] = order
    return opts


def apply_options(dept: Department, opts: dict[str, Any]) -> None:
    """Set validated options; a department group chat gets an id when it is created."""
    for name, value in opts.items():
        setattr(dept, name, value)
    if dept.create_dept_group and not dept.dept_group_chat_id:
        dept.dept_group_chat_id = "chat" + secrets.token_hex(16)


def create_department(
    state: SandboxState, corp: Corp, p: Params, app: App | None = None, dept_id: int | None = None
) -> Department:
    """Validate and create a department (the API, and the control API's seeding)."""
    name = p.text("name", required=True) or ""
    parent_id = p.integer("parent_id", required=True)
    check_name(name)
    if parent_id not in corp.depts:
        raise ApiError(60004, "父部门不存在")
    require_dept_scope(corp, app, parent_id)
    check_unique_name(state, corp, parent_id, name, -1)
    opts = read_options(p)
    if dept_id is not None and dept_id in corp.depts:
        raise ApiError(60016, "部门id已经存在")
    dept = Department(dept_id or state.new_dept_id(), name, parent_id)
    apply_options(dept, opts)
    corp.add_department(dept)
    corp.record("org_dept_create", "deptId", [dept.dept_id])
    return dept


def create(call: Call) -> dict[str, Any]:
    """POST /topapi/v2/department/create -> result.dept_id."""
    dept = create_department(call.state, call.corp, call.params, call.app)
    return {"result": {"dept_id": dept.dept_id}}


def update(call: Call) -> dict[str, Any]:
    """POST /topapi/v2/department/update: rename, move, options, managers. Omitted fields
    stay unchanged; the root cannot be updated (60018)."""
    p, corp = call.params, call.corp
    dept_id = p.integer("dept_id", required=True)
    if dept_id == ROOT_DEPT_ID:
        raise ApiError(60018, "不允许更新根部门")
    dept = require_dept(corp, dept_id)
    require_dept_scope(corp, call.app, dept_id)
    name = p.text("name")
    if name is not None:
        check_name(name)
    name = dept.name if name is None else name
    parent_id = target_parent(call, dept)
    check_unique_name(call.state, corp, parent_id, name, dept_id)
    opts = read_options(p)
    managers = read_managers(corp, p, dept_id)
    if "org_dept_owner" in opts and opts["org_dept_owner"] not in ("", *member_ids(corp, dept_id)):
        raise ApiError(40093, "无效的企业群群主")
    if (code := p.text("code")) is not None:
        if len(code) > 30:
            raise invalid("code")
        opts["code"] = code
    corp.place_department(dept, name, parent_id)
    apply_options(dept, opts)
    if managers is not None:
        dept.dept_manager_userid_list = managers
    corp.record("org_dept_modify", "deptId", [dept_id])
    return {}


def target_parent(call: Call, dept: Department) -> int:
    """The parent after an update: must exist (60004) and not be inside the dept (60010)."""
    parent_id = call.params.integer("parent_id")
    if parent_id is None or parent_id == dept.parent_id:
        return dept.parent_id
    corp = call.corp
    if parent_id not in corp.depts:
        raise ApiError(60004, "父部门不存在")
    if dept.dept_id in corp.ancestor_ids(parent_id):
        raise ApiError(60010, "部门存在循环关系")
    require_dept_scope(corp, call.app, parent_id)
    return parent_id


def member_ids(corp: Corp, dept_id: int) -> list[str]:
    """Userids of the department's direct members, in list order."""
    return [key[2] for key in corp.members[dept_id]]


def read_managers(corp: Corp, p: Params, dept_id: int) -> list[str] | None:
    """New dept_manager_userid_list, or None to keep it. Managers must be direct members:
    "部门主管必须在当前部门内，否则接口会报错不存在的userId" (40031)."""
    managers = p.str_list("dept_manager_userid_list")
    if managers is None:
        forced = p.str_list("force_update_fields") or []
        return [] if "dept_manager_userid_list" in forced else None
    for userid in managers:
        user = corp.users.get(userid)
        if user is None or dept_id not in user.dept_ids:
            raise ApiError(40031, "不存在的userId")
    return list(dict.fromkeys(managers))


def delete(call: Call) -> dict[str, Any]:
    """POST /topapi/v2/department/delete. Refused for the root (60007), with members anywhere
    in the subtree (60005), and with sub-departments (60006) unless configured to cascade."""
    corp = call.corp
    dept_id = call.params.integer("dept_id", required=True)
    if dept_id == ROOT_DEPT_ID:
        raise ApiError(60007, "不允许删除根部门")
    require_dept(corp, dept_id)
    require_dept_scope(corp, call.app, dept_id)
    ids = corp.subtree_ids(dept_id)
    if any(corp.members[d] for d in ids):
        raise ApiError(60005, "不允许删除有成员的部门")
    if len(ids) > 1 and call.state.config.delete_dept_with_children != "cascade":
        raise ApiError(60006, "不允许删除有子部门的部门")
    for current in reversed(ids):
        corp.remove_department(current)
        corp.record("org_dept_remove", "deptId", [current])
    return {}


def dept_view(corp: Corp, dept: Department) -> dict[str, Any]:
    """The result of department/get. Empty optional fields are omitted (§2.4); the root has
    no parent_id (its value is UNCONFIRMED, so we leave the key out)."""
    out: dict[str, Any] = {"dept_id": dept.dept_id, "name": dept.name}
    if dept.parent_id:
        out["parent_id"] = dept.parent_id
    out["order"] = dept.order
    for name in ("create_dept_group", "auto_add_user", "hide_dept", "outer_dept"):
        out[name] = getattr(dept, name)
    out["from_union_org"] = False
    for name in ("group_contain_sub_dept", "group_contain_outer_dept", "auto_approve_apply"):
        out[name] = getattr(dept, name)
    for name in ("source_identifier", "org_dept_owner", "code", "brief", "dept_group_chat_id"):
        if value := getattr(dept, name):
            out[name] = value
    if dept.dept_manager_userid_list:
        out["dept_manager_userid_list"] = list(dept.dept_manager_userid_list)
    if dept.hide_dept:
        out["dept_permits"], out["user_permits"] = dept.dept_permits, dept.user_permits
    if dept.outer_dept:
        out["outer_dept_only_self"] = dept.outer_dept_only_self
        out["outer_permit_depts"] = dept.outer_permit_depts
        out["outer_permit_users"] = dept.outer_permit_users
    out["member_count"] = corp.member_count(dept.dept_id)
    out["owning_member_count"] = len(corp.members[dept.dept_id])
    return out


def readable_dept(call: Call, required: bool = True) -> Department:
    """The department named by dept_id, checked for existence and scope."""
    dept_id = call.params.integer("dept_id", required=required)
    dept = require_dept(call.corp, ROOT_DEPT_ID if dept_id is None else dept_id)
    require_dept_scope(call.corp, call.app, dept.dept_id)
    return dept


def get(call: Call) -> dict[str, Any]:
    """POST /topapi/v2/department/get."""
    return {"result": dept_view(call.corp, readable_dept(call))}


def listsub(call: Call) -> dict[str, Any]:
    """POST /topapi/v2/department/listsub: one level, `order` then id. Without dept_id it
    lists the root's children (3P MCP wrapper; UNCONFIRMED)."""
    corp = call.corp
    dept = readable_dept(call, required=False)
    items = []
    for child_id in corp.child_ids(dept.dept_id):
        child = corp.depts[child_id]
        items.append(
            {
                "dept_id": child.dept_id,
                "name": child.name,
                "parent_id": child.parent_id,
                "create_dept_group": child.create_dept_group,
                "auto_add_user": child.auto_add_user,
            }
        )
    return {"result": items}


def listsubid(call: Call) -> dict[str, Any]:
    """POST /topapi/v2/department/listsubid: child ids, not limited by the data scope."""
    dept_id = call.params.integer("dept_id", required=True)
    require_dept(call.corp, dept_id)
    return {"result": {"dept_id_list": call.corp.child_ids(dept_id)}}


def listparentbydept(call: Call) -> dict[str, Any]:
    """POST /topapi/v2/department/listparentbydept: [self, …, 1]."""
    dept_id = call.params.integer("dept_id", required=True)
    require_dept(call.corp, dept_id)
    return {"result": {"parent_id_list": call.corp.ancestor_ids(dept_id)}}


def listparentbyuser(call: Call) -> dict[str, Any]:
    """POST /topapi/v2/department/listparentbyuser: one ancestor chain per department.
    An unknown userid gives 60121, the generic not-found we use everywhere (DOC says 33012)."""
    userid = call.params.text("userid", required=True) or ""
    user = call.corp.users.get(userid)
    if user is None:
        raise ApiError(60121, "找不到该用户")
    chains = [{"parent_dept_id_list": call.corp.ancestor_ids(d)} for d in user.dept_ids]
    return {"result": {"parent_list": chains}}


def search_window(call: Call) -> tuple[str, int, int]:
    """queryWord, offset, size of a v1.0 search body (JSON)."""
    data = call.params.data if call.body_kind == "json" else {}
    word = data.get("queryWord")
    if not isinstance(word, str) or not word:
        raise V1Error(400, "MissingQueryWord", "queryWord is mandatory for this action.")
    offset, size = to_int(data.get("offset", 0)), to_int(data.get("size", 10))
    if offset is None or offset < 0 or size is None or not 1 <= size <= 100:
        raise V1Error(400, "invalidParameter", "offset or size is invalid")
    return word, offset, size


def search(call: Call) -> dict[str, Any]:
    """POST /v1.0/contact/departments/search {queryWord, offset, size} (§2.7, name contains)."""
    word, offset, size = search_window(call)
    corp = call.corp
    hits = [d for d, dept in corp.depts.items() if d != ROOT_DEPT_ID and word in dept.name]
    page = hits[offset : offset + size]
    return {"hasMore": offset + size < len(hits), "totalCount": len(hits), "list": page}
