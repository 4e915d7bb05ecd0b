"""The DingTalk API surface the sandbox serves: path -> Route (family, auth, scope, handler)."""

from __future__ import annotations

from typing import Any

from . import departments, login, messages, tokens, users
from .gateway import Call, Route
from .wire import PLAIN_JSON

MANAGE = "qyapi_manage_addresslist"
DEPT_READ = "qyapi_get_department_list"
MEMBER_READ = "qyapi_get_member"
DEPT_MEMBER_READ = "qyapi_get_department_member"
# auth_user_field of /auth/scopes. The exact list is UNCONFIRMED; mobile and email follow
# the app's field permissions.
BASE_USER_FIELDS = ["jobnumber", "isLeader", "name", "position", "isAdmin", "avatar", "department"]


def auth_scopes(call: Call) -> dict[str, Any]:
    """GET /auth/scopes: the app's address-book data scope (§6.1)."""
    assert call.app is not None
    fields = list(BASE_USER_FIELDS)
    fields += [name for name in ("mobile", "email") if name in call.app.field_permissions]
    return {
        "auth_user_field": fields,
        "condition_field": [],
        "auth_org_scopes": {"authed_user": [], "authed_dept": sorted(call.app.auth_dept_ids)},
    }


def _oapi(path: str, handler: Any, scope: str, mutating: bool = False) -> Route:
    return Route(path, "oapi", "app", handler, scope, mutating)


def _message(name: str, handler: Any) -> Route:
    """A work-notification API: internal apps hold its permission by default (no scope to
    check, §11), it counts against the monthly quota, and messages are not in the state file
    (so nothing to save)."""
    path = f"/topapi/message/corpconversation/{name}"
    return Route(path, "oapi", "app", handler, None, quota=True)


ROUTE_LIST = [
    Route(
        "/gettoken",
        "oapi",
        "none",
        tokens.gettoken,
        content_type=PLAIN_JSON,
        app_key_of=tokens.gettoken_app_key,
    ),
    _oapi("/auth/scopes", auth_scopes, "qyapi_base"),
    _oapi("/topapi/v2/department/create", departments.create, MANAGE, True),
    _oapi("/topapi/v2/department/update", departments.update, MANAGE, True),
    _oapi("/topapi/v2/department/delete", departments.delete, MANAGE, True),
    _oapi("/topapi/v2/department/get", departments.get, DEPT_READ),
    _oapi("/topapi/v2/department/listsub", departments.listsub, DEPT_READ),
    _oapi("/topapi/v2/department/listsubid", departments.listsubid, DEPT_READ),
    _oapi("/topapi/v2/department/listparentbydept", departments.listparentbydept, DEPT_READ),
    _oapi("/topapi/v2/department/listparentbyuser", departments.listparentbyuser, DEPT_READ),
    _oapi("/topapi/v2/user/create", users.create, MANAGE, True),
    _oapi("/topapi/v2/user/update", users.update, MANAGE, True),
    _oapi("/topapi/v2/user/delete", users.delete, MANAGE, True),
    _oapi("/topapi/v2/user/get", users.get, MEMBER_READ),
    _oapi("/topapi/v2/user/getbymobile", users.getbymobile, "qyapi_get_member_by_mobile"),
    _oapi("/topapi/v2/user/list", users.list_v2, DEPT_MEMBER_READ),
    _oapi("/topapi/user/listsimple", users.listsimple, DEPT_MEMBER_READ),
    _oapi("/topapi/user/listid", users.listid, MEMBER_READ),
    _oapi("/topapi/user/count", users.count, MEMBER_READ),
    _oapi("/topapi/user/getbyunionid", users.getbyunionid, MEMBER_READ),
    _message("asyncsend_v2", messages.asyncsend_v2),
    _message("getsendprogress", messages.getsendprogress),
    _message("getsendresult", messages.getsendresult),
    _message("recall", messages.recall),
    Route(
        "/v1.0/oauth2/accessToken",
        "v1",
        "none",
        tokens.access_token,
        methods=("POST",),
        app_key_of=tokens.access_token_app_key,
    ),
    Route(
        "/v1.0/oauth2/userAccessToken",
        "v1",
        "none",
        login.user_access_token,
        methods=("POST",),
        app_key_of=login.client_id_of,
    ),
    Route(
        "/v1.0/contact/users/me",
        "v1",
        "user",
        login.users_me,
        "Contact.User.Read",
        methods=("GET",),
    ),
    Route(
        "/v1.0/contact/users/search",
        "v1",
        "app",
        users.search,
        "qyapi_addresslist_search",
        methods=("POST",),
    ),
    Route(
        "/v1.0/contact/departments/search",
        "v1",
        "app",
        departments.search,
        "qyapi_addresslist_search",
        methods=("POST",),
    ),
]
ROUTES: dict[str, Route] = {route.path: route for route in ROUTE_LIST}
