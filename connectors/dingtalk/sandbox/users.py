"""User APIs: /topapi/v2/user/*, /topapi/user/* and /v1.0/contact/users/search (§3, §10.7-10.9)."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from typing import Any

from .departments import readable_dept, require_dept, search_window
from .errors import ApiError, invalid, missing
from .gateway import Call
from .model import Corp, User, now_ms, split_mobile, unique_key
from .parsing import Params
from .state import App, SandboxState

# Length limits of the SDK's check() (§3.1), with the specific code where one exists.
TEXT_LIMITS: dict[str, tuple[int, int, str]] = {
    "telephone": (50, 40035, "不合法的参数 telephone"),
    "job_number": (50, 60123, "不合法的jobnumber"),
    "title": (200, 40035, "不合法的参数 title"),
    "email": (50, 60105, "邮箱不合法"),
    "org_email": (100, 40035, "不合法的参数 org_email"),
    "org_email_type": (20, 40035, "不合法的参数 org_email_type"),
    "work_place": (100, 40035, "不合法的参数 work_place"),
    "remark": (2000, 40035, "不合法的参数 remark"),
    "login_email": (64, 40035, "不合法的参数 login_email"),
    "manager_userid": (64, 60128, "无效的主管id"),
    "avatar": (512, 40035, "不合法的参数 avatar"),
}
UNIQUE_CODES = {
    "mobile": (60104, "手机号码在公司中已存在"),
    "email": (60106, "邮箱已存在"),
    "telephone": (40100, "分机号已经存在"),
}
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# DingTalk documents a userid only as "1-64 characters, unique, immutable" (§3.1). The
# sandbox's choice: ASCII letters, digits and "_ . @ -", starting with a letter or a digit,
# which is the console's username rule (the default userid), so no space and no Chinese
# character. Refused with 40003 不合法的UserID, the DOC table's code for exactly this.
USERID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
BAD_USERID = (40003, "不合法的UserID")
NOT_FOUND = (60121, "找不到该用户")
MOBILE_LOCKED = (
    40022,
    "企业中的手机号码和登录钉钉的手机号码不一致,暂时不支持修改用户信息,可以删除后重新添加",
)
PAGE_ORDERS = ("custom", "entry_asc", "entry_desc", "modify_asc", "modify_desc")
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


# -- validation ---------------------------------------------------------------------------------


def require_user(corp: Corp, userid: str) -> User:
    """The user, or 60121 (§4.3: the not-found code seen in real responses)."""
    user = corp.users.get(userid)
    if user is None:
        raise ApiError(*NOT_FOUND)
    return user


def require_user_scope(corp: Corp, app: App | None, user: User) -> None:
    """50002 when none of the user's departments is inside the app's data scope."""
    if app is not None and not any(corp.in_scope(d, app.auth_dept_ids) for d in user.dept_ids):
        raise ApiError(50002, "企业员工不在授权范围")


def read_name(p: Params, required: bool) -> str | None:
    """name: required on create, at most 80 characters (60112)."""
    name = p.text("name", required=required)
    if name is not None and (not name or len(name) > 80):
        raise ApiError(60112, "用户name不合法")
    return name


def read_mobile(p: Params, required: bool) -> str | None:
    """Mainland 1[3-9]xxxxxxxxx (or +86-…), or +cc-number with a real calling code and a
    plausible length (model.split_mobile); anything else is 60103 手机号码不合法."""
    mobile = p.text("mobile", required=required)
    if mobile is not None and split_mobile(mobile) is None:
        raise ApiError(60103, "手机号码不合法")
    return mobile


def read_depts(
    corp: Corp, p: Params, app: App | None, required: bool, limit: int
) -> list[int] | None:
    """dept_id_list as "2,3" or [2,3]. An unknown department gives 60003 (the code is
    UNCONFIRMED, §3.1); more than `limit` ids give 40066 不合法的部门列表 (our choice)."""
    ids = p.int_list("dept_id_list", required=required)
    if ids is None:
        return None
    if not ids:
        raise missing("dept_id_list")
    if len(ids) > limit:
        raise ApiError(40066, "不合法的部门列表")
    for dept_id in ids:
        require_dept(corp, dept_id)
    if app is not None:
        for dept_id in ids:
            if not corp.in_scope(dept_id, app.auth_dept_ids):
                raise ApiError(50004, "企业部门不在授权范围")
    return list(dict.fromkeys(ids))


def read_per_dept(p: Params, name: str, key: str) -> dict[int, Any]:
    """dept_order_list / dept_title_list: [{"dept_id": 2, key: …}] -> {2: …}."""
    out: dict[int, Any] = {}
    for item in p.objects(name) or []:
        sub = Params(item)
        dept_id = sub.integer("dept_id", required=True)
        assert dept_id is not None
        out[dept_id] = sub.integer(key) if key == "order" else sub.text(key)
        if out[dept_id] is None:
            raise invalid(name)
    return out


def read_profile(p: Params) -> dict[str, Any]:
    """The optional profile fields that were sent, validated (no uniqueness yet)."""
    changes: dict[str, Any] = {}
    for name, (limit, code, message) in TEXT_LIMITS.items():
        value = p.text(name)
        if value is not None:
            if len(value) > limit:
                raise ApiError(code, message)
            changes[name] = value
    if changes.get("email") and not EMAIL.fullmatch(changes["email"]):
        raise ApiError(60105, "邮箱不合法")
    for name in ("hide_mobile", "senior_mode"):
        if (flag := p.boolean(name)) is not None:
            changes[name] = flag
    if (hired := p.integer("hired_date")) is not None:
        if hired < 1:
            raise invalid("hired_date")
        changes["hired_date"] = hired
    if (extension := p.obj("extension")) is not None:
        if len(json.dumps(extension, ensure_ascii=False)) > 2000:
            raise ApiError(60122, "不合法的extattr")
        changes["extension"] = {str(k): v for k, v in extension.items()}
    if (i18n := p.obj("extension_i18n")) is not None:
        changes["extension_i18n"] = i18n
    if (positions := p.objects("dept_position_list")) is not None:
        changes["dept_positions"] = positions
    return changes


def check_unique(corp: Corp, values: dict[str, Any], me: str | None) -> None:
    """mobile (60104), email (60106) and telephone (40100) are unique in the corp.

    The 60104 body also names the holder (`"userid": …`): a production connector reads that
    key (§3.1), though that DingTalk sends it is UNCONFIRMED. The other codes carry no such
    key, since nothing says DingTalk ever adds one there."""
    for name, (code, message) in UNIQUE_CODES.items():
        owner = corp.owner_of(name, values.get(name) or "")
        if owner is not None and owner != me:
            raise ApiError(code, message, {"userid": owner} if name == "mobile" else None)


def check_manager(corp: Corp, manager: str | None, me: str | None) -> None:
    """manager_userid must name another existing user (60128)."""
    if manager and (manager == me or manager not in corp.users):
        raise ApiError(60128, "无效的主管id")


# -- create -------------------------------------------------------------------------------------


def new_userid(corp: Corp) -> str:
    """An auto-generated userid: 18 digits starting "01", like observed ones (UNCONFIRMED)."""
    while True:
        userid = f"01{secrets.randbelow(10**16):016d}"
        if userid not in corp.users:
            return userid


def new_unionid(corp: Corp, mobile: str) -> str:
    """28 alphanumerics ending in "iEiE". Derived from the mobile so that a person deleted
    and added again keeps the same unionid, as a DingTalk account would."""
    digest = int.from_bytes(
        hashlib.sha256(b"unionid:" + unique_key("mobile", mobile).encode()).digest()
    )
    for _ in range(4):
        body = ""
        for _ in range(24):
            digest, rest = divmod(digest, 62)
            body += BASE62[rest]
        candidate = body + "iEiE"
        if corp.owner_of("unionid", candidate) is None:
            return candidate
        digest = secrets.randbits(256)
    raise RuntimeError("could not allocate a unionid")


def create_user(
    state: SandboxState, corp: Corp, p: Params, app: App | None = None, active: bool = False
) -> User:
    """Validate and create a user (the API, and the control API's seeding)."""
    name = read_name(p, required=True) or ""
    mobile = read_mobile(p, required=True) or ""
    dept_ids = read_depts(corp, p, app, required=True, limit=100) or []
    userid = p.text("userid") or ""
    if userid and not USERID.fullmatch(userid):
        raise ApiError(*BAD_USERID)
    if userid in corp.users:
        raise ApiError(60102, "UserID在公司中已存在")
    profile = read_profile(p)
    check_unique(corp, {"mobile": mobile, **profile}, None)
    check_manager(corp, profile.get("manager_userid"), None)
    orders = read_per_dept(p, "dept_order_list", "order")
    titles = read_per_dept(p, "dept_title_list", "title")
    stamp = now_ms()
    user = User(
        userid=userid or new_userid(corp),
        unionid=new_unionid(corp, mobile),
        name=name,
        mobile=mobile,
        state_code=(split_mobile(mobile) or ("86", ""))[0],
        seq=state.new_seq(),
        created_ms=stamp,
        modified_ms=stamp,
        dept_ids=dept_ids,
        dept_orders=orders,
        dept_titles={d: t for d, t in titles.items() if d in dept_ids},
        active=active,
    )
    for key, value in profile.items():
        setattr(user, key, value)
    corp.add_user(user)
    corp.record("user_add_org", "userId", [user.userid])
    return user


def create(call: Call) -> dict[str, Any]:
    """POST /topapi/v2/user/create -> result {userid, unionId} (camelCase here, §3.1)."""
    user = create_user(call.state, call.corp, call.params, call.app)
    return {"result": {"userid": user.userid, "unionId": user.unionid}}


# -- update and delete --------------------------------------------------------------------------


def update(call: Call) -> dict[str, Any]:
    """POST /topapi/v2/user/update: omitted fields stay unchanged (§3.2)."""
    p, corp = call.params, call.corp
    user = require_user(corp, p.text("userid", required=True) or "")
    require_user_scope(corp, call.app, user)
    name, mobile = read_name(p, required=False), read_mobile(p, required=False)
    # Simulates "an activated user's mobile cannot be changed" (40022, §3.2).
    new_key = unique_key("mobile", mobile) if mobile is not None else None
    if user.active and new_key not in (None, unique_key("mobile", user.mobile)):
        raise ApiError(*MOBILE_LOCKED)
    dept_ids = read_depts(corp, p, call.app, required=False, limit=300)
    profile = read_profile(p)
    check_unique(corp, {"mobile": mobile, **profile}, user.userid)
    check_manager(corp, profile.get("manager_userid"), user.userid)
    orders = read_per_dept(p, "dept_order_list", "order")
    titles = read_per_dept(p, "dept_title_list", "title")
    append = p.integer("ext_attrs_update_mode") == 1
    forced = p.str_list("force_update_fields") or []
    apply_update(corp, user, name, mobile, profile, append)
    if dept_ids is not None or orders:
        corp.set_departments(user, user.dept_ids if dept_ids is None else dept_ids, orders)
    merged_titles = {**user.dept_titles, **titles}
    user.dept_titles = {d: t for d, t in merged_titles.items() if d in user.dept_ids}
    if "manager_userid" in forced:
        user.manager_userid = ""
    user.modified_ms = now_ms()
    corp.record("user_modify_org", "userId", [user.userid])
    return {}


def apply_update(
    corp: Corp,
    user: User,
    name: str | None,
    mobile: str | None,
    profile: dict[str, Any],
    append: bool,
) -> None:
    """Write validated changes. `extension` replaces all attributes unless append mode
    (ext_attrs_update_mode=1) merges them."""
    if name is not None:
        user.name = name
    if mobile is not None:
        corp.set_field(user, "mobile", mobile)
        user.state_code = (split_mobile(mobile) or ("86", ""))[0]
    for key, value in profile.items():
        if key in UNIQUE_CODES:
            corp.set_field(user, key, value)
        elif key == "extension" and append:
            user.extension = {**user.extension, **value}
        else:
            setattr(user, key, value)


def delete(call: Call) -> dict[str, Any]:
    """POST /topapi/v2/user/delete: removes the user from every department."""
    corp = call.corp
    user = require_user(corp, call.params.text("userid", required=True) or "")
    require_user_scope(corp, call.app, user)
    corp.remove_user(user)
    corp.record("user_leave_org", "userId", [user.userid])
    return {}


# -- reads --------------------------------------------------------------------------------------


def user_view(corp: Corp, user: User, perms: frozenset[str]) -> dict[str, Any]:
    """The result of v2/user/get. Empty fields are omitted; mobile/state_code need the
    "mobile" field permission, email/work_place/remark/extension the "email" one (§3.4)."""
    out: dict[str, Any] = {"userid": user.userid, "unionid": user.unionid, "name": user.name}
    if user.avatar:
        out["avatar"] = user.avatar
    if "mobile" in perms:
        # mobile comes back exactly as written ("138…" or "+852-…"), state_code derived
        # from it (the stored form DingTalk returns is UNCONFIRMED).
        out["state_code"], out["mobile"] = user.state_code, user.mobile
    out["hide_mobile"] = user.hide_mobile
    for name in ("manager_userid", "telephone", "job_number", "title"):
        if value := getattr(user, name):
            out[name] = value
    if "email" in perms:
        for name in ("email", "org_email", "work_place", "remark"):
            if value := getattr(user, name):
                out[name] = value
        if user.extension:
            out["extension"] = json.dumps(user.extension, ensure_ascii=False, separators=(",", ":"))
    out["exclusive_account"] = False
    out["dept_id_list"] = list(user.dept_ids)
    out["dept_order_list"] = [
        {"dept_id": d, "order": user.dept_orders.get(d, 0)} for d in user.dept_ids
    ]
    if user.hired_date is not None:
        out["hired_date"] = user.hired_date
    out.update(active=user.active, real_authed=user.active, senior=user.senior_mode)
    out.update(admin=user.admin, boss=user.boss)
    out["leader_in_dept"] = [
        {"dept_id": d, "leader": is_leader(corp, user, d)} for d in user.dept_ids
    ]
    if user.dept_positions:
        out["dept_position_list"] = user.dept_positions
    if user.extension_i18n:
        out["extension_i18n"] = user.extension_i18n
    return out


def is_leader(corp: Corp, user: User, dept_id: int) -> bool:
    """True when the user is one of the department's managers."""
    return user.userid in corp.depts[dept_id].dept_manager_userid_list


def permissions(call: Call) -> frozenset[str]:
    """The calling app's field permissions."""
    assert call.app is not None
    return call.app.field_permissions


def get(call: Call) -> dict[str, Any]:
    """POST /topapi/v2/user/get (result uses `unionid`, lower case)."""
    corp = call.corp
    user = require_user(corp, call.params.text("userid", required=True) or "")
    require_user_scope(corp, call.app, user)
    return {"result": user_view(corp, user, permissions(call))}


def getbymobile(call: Call) -> dict[str, Any]:
    """POST /topapi/v2/user/getbymobile -> result.userid. A malformed mobile gives 40104."""
    corp = call.corp
    mobile = call.params.text("mobile", required=True) or ""
    if split_mobile(mobile) is None:
        raise ApiError(40104, "企业中无效的手机号")
    user = require_user(corp, corp.owner_of("mobile", mobile) or "")
    require_user_scope(corp, call.app, user)
    return {"result": {"userid": user.userid}}


def getbyunionid(call: Call) -> dict[str, Any]:
    """POST /topapi/user/getbyunionid (no v2) -> {contact_type: 0, userid}."""
    corp = call.corp
    unionid = call.params.text("unionid", required=True) or ""
    user = require_user(corp, corp.owner_of("unionid", unionid) or "")
    require_user_scope(corp, call.app, user)
    return {"result": {"contact_type": 0, "userid": user.userid}}


def ordered_members(corp: Corp, dept_id: int, order_field: str) -> list[str] | list[tuple]:
    """Member keys (custom order) or userids (other orders, cached per corp revision)."""
    if order_field == "custom":
        return corp.members[dept_id]
    cache_key = (dept_id, order_field)
    cached = corp.sorted_members.get(cache_key)
    if cached and cached[0] == corp.revision:
        return cached[1]
    users = [corp.users[key[2]] for key in corp.members[dept_id]]
    attr = "seq" if order_field.startswith("entry") else "modified_ms"
    users.sort(key=lambda u: (getattr(u, attr), u.seq), reverse=order_field.endswith("desc"))
    ids = [u.userid for u in users]
    corp.sorted_members[cache_key] = (corp.revision, ids)
    return ids


def page_of(call: Call) -> tuple[int, list[User], dict[str, Any]]:
    """Shared paging of v2/user/list and user/listsimple: cursor from 0, size 1-100.
    A size outside 1-100 gives 40069 无效的size, a negative cursor 40068 (listsimple DOC)."""
    p, corp = call.params, call.corp
    dept = readable_dept(call)
    cursor = p.integer("cursor", required=True) or 0
    size = p.integer("size", required=True) or 0
    if not 1 <= size <= 100:
        raise ApiError(40069, "无效的size")
    if cursor < 0:
        raise ApiError(40068, "无效的偏移量")
    order_field = p.text("order_field") or "custom"
    if order_field not in PAGE_ORDERS:
        raise ApiError(40035, "不合法的参数 order_field")
    members = ordered_members(corp, dept.dept_id, order_field)
    window = members[cursor : cursor + size]
    users = [corp.users[item[2] if isinstance(item, tuple) else item] for item in window]
    result: dict[str, Any] = {"has_more": cursor + size < len(members)}
    if result["has_more"]:
        result["next_cursor"] = cursor + size
    return dept.dept_id, users, result


def list_v2(call: Call) -> dict[str, Any]:
    """POST /topapi/v2/user/list: direct members with detail, plus dept_order and leader."""
    dept_id, users, result = page_of(call)
    perms, corp = permissions(call), call.corp
    items = []
    for user in users:
        item = user_view(corp, user, perms)
        del item["leader_in_dept"], item["dept_order_list"]
        item["dept_order"] = user.dept_orders.get(dept_id, 0)
        item["leader"] = is_leader(corp, user, dept_id)
        items.append(item)
    result["list"] = items
    return {"result": result}


def listsimple(call: Call) -> dict[str, Any]:
    """POST /topapi/user/listsimple: {userid, name} pages."""
    _, users, result = page_of(call)
    result["list"] = [{"userid": u.userid, "name": u.name} for u in users]
    return {"result": result}


def listid(call: Call) -> dict[str, Any]:
    """POST /topapi/user/listid: every direct member's userid, unpaginated, not scope-limited."""
    corp = call.corp
    dept_id = call.params.integer("dept_id", required=True)
    require_dept(corp, dept_id)
    return {"result": {"userid_list": [key[2] for key in corp.members[dept_id]]}}


def count(call: Call) -> dict[str, Any]:
    """POST /topapi/user/count: only_active is required (400002 without it)."""
    only_active = call.params.boolean("only_active", required=True)
    users = call.corp.users.values()
    total = sum(1 for u in users if u.active) if only_active else len(users)
    return {"result": {"count": total}}


def search(call: Call) -> dict[str, Any]:
    """POST /v1.0/contact/users/search {queryWord, offset, size, fullMatchField}."""
    word, offset, size = search_window(call)
    exact = call.params.data.get("fullMatchField") in (1, "1")
    users = call.corp.users.values()
    hits = [u.userid for u in users if (u.name == word if exact else word in u.name)]
    page = hits[offset : offset + size]
    return {"hasMore": offset + size < len(hits), "totalCount": len(hits), "list": page}
