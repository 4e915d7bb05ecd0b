"""App access tokens: GET /gettoken (oapi) and POST /v1.0/oauth2/accessToken (§1)."""

from __future__ import annotations

import hmac
from typing import Any

from .errors import ApiError, V1Error
from .gateway import Call
from .state import App, SandboxState

BAD_V1_CREDENTIALS = ("invalidClientIdOrSecret", "无效的clientId或者clientSecret")


def secret_matches(app: App | None, secret: str) -> bool:
    """Constant-time secret check."""
    return app is not None and hmac.compare_digest(app.app_secret.encode(), secret.encode())


def gettoken_app_key(call: Call) -> str:
    """The app a gettoken call is counted under: the appkey in the query."""
    return call.req.query.get("appkey", "")


def gettoken(call: Call) -> dict[str, Any]:
    """GET /gettoken?appkey&appsecret. Only the query counts: the same parameters in a body
    give 40035 (OBS P2); a wrong pair gives 40096 (OBS P1)."""
    appkey = call.req.query.get("appkey", "")
    secret = call.req.query.get("appsecret", "")
    if not appkey or not secret:
        raise ApiError(40035, "缺少参数 corpid or appkey")
    app = call.state.apps.get(appkey)
    if not secret_matches(app, secret):
        raise ApiError(40096, "不合法的appKey或appSecret")
    assert app is not None
    token, lifetime = call.state.issue_app_token(app)
    return {"access_token": token, "expires_in": lifetime}


def require_json(call: Call) -> dict[str, Any]:
    """v1.0 token endpoints take JSON only. A form (or empty) body is refused with HTTP 400
    "body is mandatory for this action"; the code string "MissingBody" is our choice
    (UNCONFIRMED; the PHP SDK issue shows the label [Missingbody])."""
    if call.body_kind != "json":
        raise V1Error(400, "MissingBody", "body is mandatory for this action.")
    return call.params.data


def require_field(data: dict[str, Any], name: str) -> str:
    """A required v1.0 body field. Missing ones give 400 "Missing<Name>" in the POP gateway's
    style (UNCONFIRMED)."""
    value = data.get(name)
    if not isinstance(value, str) or not value:
        code = "Missing" + name[0].upper() + name[1:]
        raise V1Error(400, code, f"{name} is mandatory for this action.")
    return value


def access_token_app_key(call: Call) -> str:
    """The app a v1.0 accessToken call is counted under."""
    return str(call.params.data.get("appKey") or "") if call.body_kind == "json" else ""


def access_token(call: Call) -> dict[str, Any]:
    """POST /v1.0/oauth2/accessToken {appKey, appSecret} -> {accessToken, expireIn}."""
    data = require_json(call)
    app = authenticate_client(call.state, data, "appKey", "appSecret")
    token, lifetime = call.state.issue_app_token(app)
    return {"accessToken": token, "expireIn": lifetime}


def authenticate_client(state: SandboxState, data: dict[str, Any], key: str, secret: str) -> App:
    """Check a v1.0 key/secret pair from a JSON body (accessToken, userAccessToken)."""
    app_key = require_field(data, key)
    app_secret = require_field(data, secret)
    app = state.apps.get(app_key)
    if not secret_matches(app, app_secret):
        raise V1Error(400, *BAD_V1_CREDENTIALS)
    assert app is not None
    return app
