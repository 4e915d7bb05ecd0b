"""The control API under /_sandbox/ (not part of DingTalk): apps, seeding, faults, counters,
token expiry, config, state dumps, received work notifications and the monthly quota, for
tests and demos. JSON in, JSON out, no auth."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from .departments import create_department, dept_view
from .errors import ApiError
from .faults import FaultSpecError, parse_rule
from .limits import beijing_month
from .model import Corp
from .parsing import Params, to_bool, to_int
from .state import FIELD_PERMISSIONS, SandboxState, app_from_dict
from .users import create_user, user_view
from .wire import Request, Response, json_response

ACTIVE_PATH = re.compile(r"/_sandbox/users/([^/]+)/active")
ALL_FIELDS = frozenset(FIELD_PERMISSIONS)


class ControlError(Exception):
    """A bad control request: rendered as {"error": ...} with an HTTP status."""

    def __init__(self, message: str, status: int = 400, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra


Handler = Callable[[SandboxState, Request, dict[str, Any]], Any]


def handle(state: SandboxState, req: Request) -> Response:
    """Dispatch a /_sandbox/ request."""
    try:
        body = read_json(req)
        handler = find_handler(req)
        with state.lock:
            payload = handler(state, req, body)
    except ControlError as exc:
        return json_response({"error": str(exc), **exc.extra}, exc.status)
    except ApiError as exc:
        return json_response({"error": exc.errmsg, "errcode": exc.errcode}, 400)
    return json_response(payload)


def read_json(req: Request) -> dict[str, Any]:
    """The JSON object body ({} when empty)."""
    if not req.body.strip():
        return {}
    try:
        data = json.loads(req.body)
    except ValueError as exc:
        raise ControlError("body must be JSON") from exc
    if not isinstance(data, dict):
        raise ControlError("body must be a JSON object")
    return data


def find_handler(req: Request) -> Handler:
    """The handler for (method, path), or a 404/405 ControlError."""
    match = ACTIVE_PATH.fullmatch(req.path)
    if match and req.method == "POST":
        return lambda state, req, body: set_active(state, unquote(match.group(1)), body)
    methods = HANDLERS.get(req.path)
    if methods is None:
        raise ControlError(f"no control endpoint {req.path}", 404)
    handler = methods.get(req.method)
    if handler is None:
        raise ControlError(f"{req.method} not allowed on {req.path}", 405)
    return handler


# -- apps -----------------------------------------------------------------------------------------


def put_app(state: SandboxState, req: Request, body: dict[str, Any]) -> dict[str, Any]:
    """Create or update an app (keyed by app_key), creating its corp on first use."""
    for name in ("corp_id", "app_key", "app_secret", "agent_id"):
        if body.get(name) in (None, ""):
            raise ControlError(f"{name} is required")
    check_list(body, "scopes", str)
    check_list(body, "allowed_ips", str)
    check_list(body, "auth_dept_ids", int)
    check_list(body, "field_permissions", str)
    if not set(body.get("field_permissions") or []) <= ALL_FIELDS:
        raise ControlError("field_permissions may only hold mobile and email")
    if body.get("qps") is not None and (to_int(body["qps"]) is None or to_int(body["qps"]) < 0):
        raise ControlError("qps must be a non-negative integer or null")
    state.ensure_corp(str(body["corp_id"]), body.get("corp_name"))
    return state.put_app(app_from_dict(body)).to_dict()


def check_list(body: dict[str, Any], name: str, kind: type) -> None:
    """`name` is absent, null, or a list of `kind`."""
    value = body.get(name)
    if value is None:
        return
    if not isinstance(value, list) or not all(
        isinstance(v, kind) and not isinstance(v, bool) for v in value
    ):
        raise ControlError(f"{name} must be a list of {kind.__name__}")


def list_apps(state: SandboxState, req: Request, body: dict[str, Any]) -> dict[str, Any]:
    """Every app, secrets included."""
    return {"apps": [app.to_dict() for app in state.apps.values()]}


def reset(state: SandboxState, req: Request, body: dict[str, Any]) -> dict[str, Any]:
    """Wipe all data; the server config stays."""
    state.reset()
    return {"ok": True}


def dump_state(state: SandboxState, req: Request, body: dict[str, Any]) -> dict[str, Any]:
    """The whole state: config, apps (with secrets), corps with departments, users, events,
    the work notifications received and each corp's quota use this month."""
    return {
        **state.snapshot(),
        "config": state.config.to_dict(),
        "messages": [m.to_dict() for m in state.messages.tasks.values()],
        "quota": quota_views(state),
    }


# -- faults, calls, tokens, config -----------------------------------------------------------------


def add_fault(state: SandboxState, req: Request, body: dict[str, Any]) -> dict[str, Any]:
    """Queue a fault for the next calls to a path."""
    try:
        rule = parse_rule(body)
    except FaultSpecError as exc:
        raise ControlError(str(exc)) from exc
    state.faults.add(rule)
    return rule.to_dict()


def list_faults(state: SandboxState, req: Request, body: dict[str, Any]) -> dict[str, Any]:
    """The pending fault rules."""
    return {"faults": [rule.to_dict() for rule in state.faults.rules]}


def clear_faults(state: SandboxState, req: Request, body: dict[str, Any]) -> dict[str, Any]:
    """Drop every fault rule."""
    state.faults.clear()
    return {"ok": True}


def get_calls(state: SandboxState, req: Request, body: dict[str, Any]) -> dict[str, Any]:
    """{app_key: {path: count}} of DingTalk API calls, refused ones included."""
    return {app_key: dict(paths) for app_key, paths in state.calls.items()}


def reset_calls(state: SandboxState, req: Request, body: dict[str, Any]) -> dict[str, Any]:
    """Zero the call counters."""
    state.calls.clear()
    return {"ok": True}


def expire_tokens(state: SandboxState, req: Request, body: dict[str, Any]) -> dict[str, Any]:
    """Expire live tokens now (all, or `app_key`'s); `lifetime` changes the lifetime of new
    tokens; `"expire": false` changes only the lifetime."""
    if "lifetime" in body:
        lifetime = to_int(body["lifetime"])
        if lifetime is None or lifetime < 1:
            raise ControlError("lifetime must be a positive number of seconds")
        state.config.token_lifetime = lifetime
    expired = 0
    if body.get("expire", True):
        expired = state.expire_tokens(body.get("app_key"))
    return {"expired": expired, "lifetime": state.config.token_lifetime}


def get_config(state: SandboxState, req: Request, body: dict[str, Any]) -> dict[str, Any]:
    """The server config."""
    return state.config.to_dict()


def set_config(state: SandboxState, req: Request, body: dict[str, Any]) -> dict[str, Any]:
    """Change server config keys; unknown keys and bad values are refused."""
    updates = {key: validate_config(key, value) for key, value in body.items()}
    for key, value in updates.items():
        setattr(state.config, key, value)
    return state.config.to_dict()


def validate_config(key: str, value: Any) -> Any:
    """One config value, checked."""
    number = to_int(value)
    counts = ("qps_default", "token_lifetime", "monthly_quota")
    if key in counts and number is not None and number >= 0:
        return number
    if key == "global_qps" and (value is None or (number is not None and number > 0)):
        return number
    if key == "duplicate_dept_errcode" and number in (60008, 60021):
        return number
    if key == "delete_dept_with_children" and value in ("refuse", "cascade"):
        return value
    if key == "trust_forwarded_for" and to_bool(value) is not None:
        return to_bool(value)
    if key == "ip_limit" and (value is None or isinstance(value, dict)):
        return value if value is None else ip_limit(value)
    raise ControlError(f"bad config value for {key}: {value!r}")


def ip_limit(value: dict[str, Any]) -> dict[str, Any]:
    """Per-IP limiter settings with DingTalk's documented defaults (10000 per 20 s, 300 s ban)."""
    out = {"calls": 10000, "window": 20, "ban": 300}
    for key, raw in value.items():
        if key not in out or to_int(raw) is None or to_int(raw) < 1:
            raise ControlError(f"ip_limit.{key} must be a positive integer")
        out[key] = to_int(raw)
    return out


# -- seeding --------------------------------------------------------------------------------


def seed_corp(state: SandboxState, body: dict[str, Any]) -> Corp:
    """The corp named by corp_id; it must exist (create an app first)."""
    corp = state.corps.get(str(body.get("corp_id") or ""))
    if corp is None:
        raise ControlError("unknown corp_id: create an app for it first (POST /_sandbox/apps)")
    return corp


def seed_users(state: SandboxState, req: Request, body: dict[str, Any]) -> dict[str, Any]:
    """Create users directly (no token, no QPS): one from the body, or a "users" list."""
    corp = seed_corp(state, body)
    state.changed()  # before the loop: a batch that fails half-way keeps its first users
    items = body.get("users")
    batch = items if isinstance(items, list) else [body]
    created = []
    for index, item in enumerate(batch):
        try:
            active = bool(to_bool(item.get("active")))
            user = create_user(state, corp, Params(item), active=active)
        except ApiError as exc:
            raise ControlError(exc.errmsg, errcode=exc.errcode, index=index) from exc
        created.append(user)
    if items is None:
        return {**user_view(corp, created[0], ALL_FIELDS), "unionId": created[0].unionid}
    return {
        "created": len(created),
        "users": [{"userid": u.userid, "unionid": u.unionid} for u in created],
    }


def seed_departments(state: SandboxState, req: Request, body: dict[str, Any]) -> dict[str, Any]:
    """Create departments directly: one from the body (optional explicit dept_id), or a
    "departments" list (parents before children)."""
    corp = seed_corp(state, body)
    state.changed()
    items = body.get("departments")
    batch = items if isinstance(items, list) else [body]
    created = []
    for index, item in enumerate(batch):
        try:
            dept = create_department(state, corp, Params(item), dept_id=to_int(item.get("dept_id")))
        except ApiError as exc:
            raise ControlError(exc.errmsg, errcode=exc.errcode, index=index) from exc
        created.append(dept)
    if items is None:
        return dept_view(corp, created[0])
    return {"created": len(created), "dept_ids": [d.dept_id for d in created]}


def set_active(state: SandboxState, userid: str, body: dict[str, Any]) -> dict[str, Any]:
    """Mark a user activated (joined DingTalk) or not; activated users cannot change mobile."""
    corps = (
        [state.corps.get(body["corp_id"])] if body.get("corp_id") else list(state.corps.values())
    )
    for corp in corps:
        user = corp.users.get(userid) if corp else None
        if corp is not None and user is not None:
            user.active = bool(to_bool(body.get("active", True)))
            if user.active:
                corp.record("user_active_org", "userId", [userid])
            state.changed()
            return {"corp_id": corp.corp_id, "userid": userid, "active": user.active}
    raise ControlError(f"unknown userid {userid}", 404)


def list_events(state: SandboxState, req: Request, body: dict[str, Any]) -> dict[str, Any]:
    """Recorded address-book events, oldest first (?corp_id= to filter, ?type= by EventType)."""
    corp_id, kind = req.query.get("corp_id"), req.query.get("type")
    corps = [c for c in state.corps.values() if not corp_id or c.corp_id == corp_id]
    events = [e for c in corps for e in c.events if not kind or e["EventType"] == kind]
    return {"events": events}


# -- work notifications and the monthly quota ----------------------------------------------


def list_messages(state: SandboxState, req: Request, body: dict[str, Any]) -> dict[str, Any]:
    """Received work notifications, oldest first; ?corp_id=, ?app_key= and ?userid= (a
    delivered recipient) filter them."""
    query = req.query
    found = [
        m.to_dict()
        for m in state.messages.tasks.values()
        if query.get("corp_id", m.corp_id) == m.corp_id
        and query.get("app_key", m.app_key) == m.app_key
        and ("userid" not in query or query["userid"] in m.delivered)
    ]
    return {"messages": found}


def quota_views(state: SandboxState) -> list[dict[str, Any]]:
    """This month's quota use of every corp."""
    default, month = state.config.monthly_quota, beijing_month()
    return [state.quota.view(corp_id, default, month) for corp_id in state.corps]


def get_quota(state: SandboxState, req: Request, body: dict[str, Any]) -> dict[str, Any]:
    """{"quota": [{corp_id, month, used, limit, remaining}, …]} for every corp."""
    return {"quota": quota_views(state)}


def set_quota(state: SandboxState, req: Request, body: dict[str, Any]) -> dict[str, Any]:
    """Set one corp's monthly `limit` and/or this month's `used` count. The corp is named by
    `corp_id` or by `app_key` (its app's corp): `{"app_key": k, "used": 5000}` makes the
    quota run out, so the next quota-bound call of that corp's apps gets 90020."""
    corp_id = quota_corp(state, body)
    month = beijing_month()
    for name in ("limit", "used"):
        if name in body and (to_int(body[name]) is None or to_int(body[name]) < 0):
            raise ControlError(f"{name} must be a non-negative integer")
    if "limit" in body:
        state.quota.limits[corp_id] = to_int(body["limit"])
    if "used" in body:
        state.quota.used[(corp_id, month)] = to_int(body["used"])
    return state.quota.view(corp_id, state.config.monthly_quota, month)


def quota_corp(state: SandboxState, body: dict[str, Any]) -> str:
    """The corp a quota request names, directly or through one of its apps."""
    if body.get("app_key"):
        app = state.apps.get(str(body["app_key"]))
        if app is None:
            raise ControlError(f"unknown app_key {body['app_key']}", 404)
        return app.corp_id
    if str(body.get("corp_id") or "") not in state.corps:
        raise ControlError("name an existing corp_id or app_key")
    return str(body["corp_id"])


HANDLERS: dict[str, dict[str, Handler]] = {
    "/_sandbox/apps": {"GET": list_apps, "POST": put_app},
    "/_sandbox/reset": {"POST": reset},
    "/_sandbox/state": {"GET": dump_state},
    "/_sandbox/faults": {"GET": list_faults, "POST": add_fault, "DELETE": clear_faults},
    "/_sandbox/calls": {"GET": get_calls},
    "/_sandbox/calls/reset": {"POST": reset_calls},
    "/_sandbox/tokens/expire": {"POST": expire_tokens},
    "/_sandbox/config": {"GET": get_config, "POST": set_config},
    "/_sandbox/users": {"POST": seed_users},
    "/_sandbox/departments": {"POST": seed_departments},
    "/_sandbox/events": {"GET": list_events},
    "/_sandbox/messages": {"GET": list_messages},
    "/_sandbox/quota": {"GET": get_quota, "POST": set_quota},
}
