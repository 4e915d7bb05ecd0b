"""Web login (§7): the /oauth2/auth page standing in for the QR scan, the code exchange
POST /v1.0/oauth2/userAccessToken, and GET /v1.0/contact/users/me."""

from __future__ import annotations

import hashlib
import secrets
import time
from html import escape
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from .errors import V1_PERMISSION_MESSAGE, V1Error
from .gateway import Call
from .model import Corp, User, split_mobile
from .state import Grant, SandboxState
from .tokens import authenticate_client, require_field, require_json
from .wire import HTML, Request, Response

# How long an authCode can be exchanged. DingTalk does not document it (UNCONFIRMED).
CODE_LIFETIME = 300
LISTED_USERS = 100
BAD_CODE = ("invalidParameter.authCode.notFound", "不合法的临时授权码")
PAGE_STYLE = (
    "body{font:15px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;color:#1f2329}"
    "h1{font-size:1.3rem}.user{display:flex;justify-content:space-between;align-items:center;"
    "border-bottom:1px solid #e5e6eb;padding:.4rem 0}.muted{color:#646a73;font-size:.85rem}"
    "button{background:#3370ff;color:#fff;border:0;border-radius:4px;padding:.3rem .8rem}"
    ".error{color:#d83931}"
)


def _page(title: str, body: str, status: int = 200) -> Response:
    html = (
        f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>{escape(title)}"
        f"</title><style>{PAGE_STYLE}</style></head><body>{body}</body></html>"
    )
    return Response(status, html.encode("utf-8"), HTML)


def _error_page(message: str) -> Response:
    return _page(
        "登录失败", f"<h1>DingTalk sandbox login</h1><p class='error'>{escape(message)}</p>", 400
    )


def auth_page(state: SandboxState, req: Request) -> Response:
    """GET shows the corp's users, each with a button; POST (userid) logs in as that user
    and redirects to redirect_uri?code=X&authCode=X&state=S."""
    query = req.query
    with state.lock:
        app = state.apps.get(query.get("client_id", ""))
        problem = check_authorize(query, app is not None)
        if problem:
            return _error_page(problem)
        assert app is not None
        corp = state.corps[app.corp_id]
        if req.method == "POST":
            form = dict(parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True))
            return log_in(state, corp, app.app_key, query, form.get("userid", ""))
        return _page("钉钉登录", render_chooser(corp, app.name or app.app_key, req))


def check_authorize(query: dict[str, str], app_known: bool) -> str:
    """The reason an authorize URL is unusable, or "" when it is fine."""
    if not app_known:
        return "client_id 无效：没有这个应用 (unknown client_id)."
    redirect = query.get("redirect_uri", "")
    if urlsplit(redirect).scheme not in ("http", "https"):
        return "redirect_uri 缺失或无效 (missing or invalid redirect_uri)."
    if query.get("response_type") != "code":
        return "response_type 必须为 code."
    if "openid" not in query.get("scope", "").split():
        return "scope 必须包含 openid."
    return ""


def render_chooser(corp: Corp, app_name: str, req: Request) -> str:
    """The user list with a search box (large corps list only the first matches)."""
    needle = req.query.get("q", "").strip()
    users = [u for u in corp.users.values() if not needle or matches(u, needle)]
    action = escape(req.path + "?" + urlencode(req.query), quote=True)
    keep = "".join(
        f"<input type='hidden' name='{escape(k, True)}' value='{escape(v, True)}'>"
        for k, v in req.query.items()
        if k != "q"
    )
    rows = "".join(
        f"<form method='post' action='{action}' class='user'><span>{escape(u.name)} "
        f"<span class='muted'>{escape(u.userid)} · {escape(u.mobile)}</span></span>"
        f"<input type='hidden' name='userid' value='{escape(u.userid, True)}'>"
        f"<button type='submit'>登录 Log in</button></form>"
        for u in users[:LISTED_USERS]
    )
    more = len(users) - LISTED_USERS
    return (
        f"<h1>DingTalk sandbox login</h1><p>扫码登录 stand-in for <b>{escape(app_name)}</b> "
        f"({escape(corp.name)}). Choose who scans the QR code.</p>"
        f"<form method='get'>{keep}<input name='q' value='{escape(needle, True)}' "
        "placeholder='name, userid or mobile'> <button>Search</button></form>"
        + (rows or "<p class='muted'>No users.</p>")
        + (f"<p class='muted'>… and {more} more; search to narrow.</p>" if more > 0 else "")
    )


def matches(user: User, needle: str) -> bool:
    """Search on the login page: name, userid or mobile contains the text."""
    return needle in user.name or needle in user.userid or needle in user.mobile


def log_in(
    state: SandboxState, corp: Corp, app_key: str, query: dict[str, str], userid: str
) -> Response:
    """Issue a single-use code for the chosen user and redirect back to the app."""
    if userid not in corp.users:
        return _error_page("用户不存在 (unknown user).")
    code = secrets.token_hex(16)
    state.login_codes[code] = Grant(app_key, time.time() + CODE_LIFETIME, corp.corp_id, userid)
    params = {"code": code, "authCode": code}
    if "state" in query:
        params["state"] = query["state"]
    redirect = query["redirect_uri"]
    location = redirect + ("&" if "?" in redirect else "?") + urlencode(params)
    return Response(302, b"", HTML, [("Location", location)])


def client_id_of(call: Call) -> str:
    """The app a userAccessToken call is counted under."""
    return str(call.params.data.get("clientId") or "") if call.body_kind == "json" else ""


def user_access_token(call: Call) -> dict[str, Any]:
    """POST /v1.0/oauth2/userAccessToken (camelCase JSON). Each code works once."""
    state = call.state
    data = require_json(call)
    app = authenticate_client(state, data, "clientId", "clientSecret")
    if "open_app_api_base" not in app.scopes:
        detail = {"accessdenieddetail": {"requiredScopes": ["open_app_api_base"]}}
        raise V1Error(
            403, "Forbidden.AccessDenied.AccessTokenPermissionDenied", V1_PERMISSION_MESSAGE, detail
        )
    grant_type = require_field(data, "grantType")
    if grant_type == "authorization_code":
        grant = state.login_codes.pop(str(data.get("code") or ""), None)
        if grant is None or grant.app_key != app.app_key or grant.expires_at <= time.time():
            raise V1Error(400, *BAD_CODE)
    elif grant_type == "refresh_token":
        grant = state.refresh_tokens.get(str(data.get("refreshToken") or ""))
        if grant is None or grant.app_key != app.app_key or grant.expires_at <= time.time():
            # The refresh-token error code is not documented (UNCONFIRMED).
            raise V1Error(400, "invalidParameter.refreshToken.notFound", "不合法的refreshToken")
    else:
        raise V1Error(400, "invalidParameter.grantType.invalid", "grantType不合法")
    return state.issue_user_token(app, grant.corp_id, grant.userid)


def open_id(app_key: str, unionid: str) -> str:
    """A stable per-app openId for a person."""
    return hashlib.sha256(f"{app_key}:{unionid}".encode()).hexdigest()[:28]


def users_me(call: Call) -> dict[str, Any]:
    """GET /v1.0/contact/users/me with a user token -> the logged-in person's profile.
    mobile/stateCode need the app's Contact.User.mobile scope (§7.3)."""
    assert call.grant is not None and call.app is not None
    corp = call.state.corps.get(call.grant.corp_id)
    user = corp.users.get(call.grant.userid) if corp else None
    if user is None:
        raise V1Error(404, "invalidParameter.user.notFound", "找不到该用户")
    out: dict[str, Any] = {
        "nick": user.name,
        "unionId": user.unionid,
        "openId": open_id(call.app.app_key, user.unionid),
        "avatarUrl": user.avatar,
    }
    if "Contact.User.mobile" in call.app.scopes:
        state_code, national = split_mobile(user.mobile) or ("86", user.mobile)
        out["mobile"], out["stateCode"] = national, state_code
    if user.email:
        out["email"] = user.email
    return out
