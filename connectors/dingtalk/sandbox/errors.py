"""Errors a sandbox handler can raise, and how each family (oapi, api v1.0) renders them.

Three kinds, matching dingtalk-api.md §4.1:
- ApiError: a business error in the plain oapi envelope (`errcode`/`errmsg`).
- GatewayError: token, permission, IP and rate-limit refusals. oapi wraps them as errcode 88 with
  a string `sub_code`; v1.0 answers HTTP 4xx with a POP-style `code`.
- V1Error: an error that only exists on api v1.0 (`{requestid, code, message}`).
"""

from __future__ import annotations

import time
from typing import Any

V1_PERMISSION_MESSAGE = (
    "没有调用该接口的权限，接口权限申请参考："
    "https://open.dingtalk.com/document/orgapp-server/add-api-permission"
)
SCOPE_APPLY_URL = "https://open-dev.dingtalk.com/appscope/apply?content="


class ApiError(Exception):
    """A business error: oapi `{"errcode": n, "errmsg": "..."}` with HTTP 200; `extra` keys
    join the body (the holder's `userid` on 60104)."""

    def __init__(self, errcode: int, errmsg: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(f"{errcode} {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.extra = extra or {}


class GatewayError(Exception):
    """A gateway refusal, rendered as 88/sub_code on oapi and as HTTP 4xx on v1.0."""

    def __init__(
        self,
        sub_code: str,
        sub_msg: str,
        v1_status: int,
        v1_code: str,
        v1_message: str,
        v1_extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"88/{sub_code} {sub_msg}")
        self.sub_code = sub_code
        self.sub_msg = sub_msg
        self.v1_status = v1_status
        self.v1_code = v1_code
        self.v1_message = v1_message
        self.v1_extra = v1_extra or {}


class V1Error(Exception):
    """An api v1.0 error: HTTP `status` with `{"requestid", "code", "message"}`."""

    def __init__(
        self, status: int, code: str, message: str, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra or {}


class HtmlFault(Exception):
    """An injected HTML 5xx page, as DingTalk's load balancer (Tengine) sends on a bad day."""

    def __init__(self, status: int = 502) -> None:
        super().__init__(f"HTML {status}")
        self.status = status


def api_name(path: str) -> str:
    """The gateway's name for an oapi path: /topapi/v2/user/get -> dingtalk.oapi.v2.user.get."""
    trimmed = path.removeprefix("/topapi/").strip("/")
    return "dingtalk.oapi." + trimmed.replace("/", ".")


def _clock(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def token_blank() -> GatewayError:
    """No token at all (oapi: not in the query or form body; v1.0: no header)."""
    return GatewayError(
        "40000",
        "access_token is blank",
        400,
        "AuthenticationFailed.MissingParameter",
        "缺少参数：x-acs-dingtalk-access-token",
    )


def token_invalid() -> GatewayError:
    """Unknown or expired token. Expired gives the same answer (UNCONFIRMED, §4.3 default)."""
    return GatewayError(
        "40014", "不合法的access_token", 400, "InvalidAuthentication", "不合法的access_token"
    )


def scope_missing(app_key: str, scope: str) -> GatewayError:
    """The app lacks the API's permission point; sub_msg in the exact shape of §6.3."""
    sub_msg = (
        f"应用尚未开通所需的权限：[{scope}]，点击链接申请并开通即可：{SCOPE_APPLY_URL}"
        f"{app_key}%23{scope}, {{requiredScopes=[{scope}]}}"
    )
    return GatewayError(
        "60011",
        sub_msg,
        403,
        "Forbidden.AccessDenied.AccessTokenPermissionDenied",
        V1_PERMISSION_MESSAGE,
        {"accessdenieddetail": {"requiredScopes": [scope]}},
    )


def ip_refused(ip: str, app_key: str) -> GatewayError:
    """The caller's IP is not in the app's allow-list (§4.2 60020, OBS fixture text)."""
    sub_msg = f"访问ip不在白名单之中,request ip={ip} appKey({app_key})"
    return GatewayError("60020", sub_msg, 403, "Forbidden.AccessDenied.IpNotInWhiteList", sub_msg)


def qps_app(path: str, app_key: str, limit: int, now: float) -> GatewayError:
    """Per-app, per-API QPS overflow. The 90018 sub_msg wording is UNCONFIRMED (§5); ours
    mirrors the documented 90002 text so that clients parsing either get the same fields."""
    sub_msg = (
        "当前应用调用该接口次数过多，超出了该接口承受的最大qps，请求被暂时限制了, "
        f"apiPath({api_name(path)}), appKey({app_key}), 每秒请求次数超过 {limit} 次, "
        f"限制将在 {_clock(now + 1)} 结束."
    )
    return GatewayError(
        "90018",
        sub_msg,
        403,
        "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
        "您的企业应用调用钉钉开放平台当前接口的所有请求都被暂时禁用了",
    )


def qps_global(path: str, limit: int, now: float) -> GatewayError:
    """Global per-API overflow across every app, with the observed 90002 text (§5)."""
    sub_msg = (
        "当前所有钉钉应用调用该接口次数过多，超出了该接口承受的最大qps，请求被暂时限制了，"
        f"建议错开整点时刻调用该接口, apiPath({api_name(path)}), 从 {_clock(now)} 到 "
        f"{_clock(now)} 请求总次数超过 {limit} 次, 限制将在 {_clock(now + 1)} 结束."
    )
    return GatewayError(
        "90002",
        sub_msg,
        403,
        "Forbidden.AccessDenied.QpsLimitForApi",
        "您的服务器调用钉钉开放平台当前接口的所有请求都被暂时禁用了",
    )


def quota_exhausted(corp_id: str, limit: int) -> GatewayError:
    """The organisation used up its monthly API quota (§5: 90020 on oapi, wrapped as 88 like
    every rate limit; ApiCountLimitForOrg on v1.0). DingTalk's wording is UNCONFIRMED; ours
    names the limit so an admin reading it knows which one was hit."""
    sub_msg = f"企业当月接口调用次数已超过上限 {limit} 次, corpId({corp_id}), 下月恢复."
    return GatewayError(
        "90020",
        sub_msg,
        403,
        "Forbidden.AccessDenied.ApiCountLimitForOrg",
        "企业当月接口调用次数已超过上限",
    )


def missing(name: str) -> ApiError:
    """A required parameter is absent. We answer 400002 (the code the v2 DOC pages list)."""
    return ApiError(400002, f"参数错误：缺少参数 {name}")


def invalid(name: str) -> ApiError:
    """A parameter has the wrong type or shape: 40035 不合法的参数 (§4.2)."""
    return ApiError(40035, f"不合法的参数 {name}")
