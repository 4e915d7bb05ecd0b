"""Typed DingTalk errors, and the one place that maps DingTalk's error codes onto them.

DingTalk reports failures through three envelopes (dingtalk-api.md §4.1, §0.4):

* oapi plain: HTTP 200 ``{"errcode": 60121, "errmsg": "...", "request_id": "..."}``;
* oapi gateway wrapper: HTTP 200 ``{"errcode": 88, "sub_code": "60011", "sub_msg": "...",
  "errmsg": "ding talk error[subcode=60011,submsg=...]"}`` where ``sub_code`` is a *string*;
* api.dingtalk.com v1.0: HTTP 4xx/5xx ``{"requestid": "...", "code": "...", "message": "..."}``.

Plus transport-level oddities: HTML pages from a gateway, and the per-IP ban body
``{"status": 1111, "wait": 5, ...}`` (§5).  :func:`error_from_response` is the only function that
turns any of these into an exception; the rest of the connector catches the classes below.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "AlreadyExists",
    "AuthError",
    "BadRequest",
    "DingTalkError",
    "IpNotAllowed",
    "NotFound",
    "OutOfScope",
    "PermissionDenied",
    "QuotaExhausted",
    "RateLimited",
    "Transient",
    "error_from_response",
    "mask_url",
]


class DingTalkError(Exception):
    """Base class of every error the DingTalk connector raises.

    ``errcode`` is DingTalk's code: an int for oapi (the *effective* code, i.e. the
    ``sub_code`` when DingTalk wrapped the failure in errcode 88), a string for v1.0
    (``"InvalidAuthentication"``).
    ``message`` is DingTalk's own text. None of the attributes ever hold a token or a secret.
    """

    #: Whether retrying the same call later may succeed (transient and rate-limit failures).
    retryable: bool = False
    #: What an admin should do next, when the failure class says it.
    default_hint: str = ""

    def __init__(
        self,
        message: str = "",
        *,
        errcode: int | str | None = None,
        sub_code: str | None = None,
        request_id: str | None = None,
        http_status: int | None = None,
        path: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.errcode = errcode
        self.sub_code = sub_code
        self.request_id = request_id
        self.http_status = http_status
        self.path = path
        self.hint = hint if hint is not None else self.default_hint
        super().__init__(message)

    def __str__(self) -> str:
        code = f"{self.errcode}" if self.sub_code is None else f"88/{self.sub_code}"
        where = f"{self.path}: " if self.path else ""
        return f"{where}[{code}] {self.message}".strip()

    def sentence(self) -> str:
        """What went wrong and, when known, what to do: the line shown to an admin."""
        return f"{self}. {self.hint}" if self.hint else f"{self}."

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(errcode={self.errcode!r}, sub_code={self.sub_code!r}, "
            f"message={self.message!r}, path={self.path!r}, http_status={self.http_status!r}, "
            f"request_id={self.request_id!r})"
        )

    def scrub(self, secrets: Iterable[str | None]) -> None:
        """Replace any occurrence of the given secrets in the message (defence in depth).

        DingTalk's texts should never echo a token, but a proxy or a sandbox might; the client
        calls this with its secret and current token before raising.
        """
        for secret in secrets:
            if secret and secret in self.message:
                self.message = self.message.replace(secret, "***")
        self.args = (self.message,)


class AuthError(DingTalkError):
    """Bad AppKey/AppSecret, or an access token DingTalk rejected (even after one refresh)."""

    default_hint = "Check the AppKey and AppSecret copied from the DingTalk developer console."

    def __init__(self, message: str = "", *, token_rejected: bool = False, **kw: Any) -> None:
        #: True when the *token* was refused (expired, invalid, missing): refreshing may fix it.
        self.token_rejected = token_rejected
        super().__init__(message, **kw)


class PermissionDenied(DingTalkError):
    """The app lacks an API permission (scope) such as ``qyapi_manage_addresslist``."""

    default_hint = (
        "Grant the missing permissions to the app in the DingTalk developer console "
        "(Permission management), then verify again."
    )

    def __init__(
        self,
        message: str = "",
        *,
        required_scopes: list[str] | None = None,
        apply_url: str | None = None,
        **kw: Any,
    ) -> None:
        self.required_scopes: list[str] = list(required_scopes or [])
        self.apply_url = apply_url
        super().__init__(message, **kw)


class IpNotAllowed(DingTalkError):
    """The caller's egress IP is not in the app's server IP allow-list."""

    default_hint = "Add this server's egress IP to the app's allow-list (服务器出口IP)."

    def __init__(self, message: str = "", *, ip: str | None = None, **kw: Any) -> None:
        #: The IP address DingTalk saw, when it said so ("request ip=…").
        self.ip = ip
        super().__init__(message, **kw)
        if ip:
            self.hint = f"Add {ip} to the app's server egress IP allow-list (服务器出口IP)."


class OutOfScope(DingTalkError):
    """The department or user lies outside the app's address-book data scope (50002/50004)."""

    default_hint = "Widen the app's address-book scope (通讯录权限范围) to include this department."


class NotFound(DingTalkError):
    """The user or department does not exist (60121, 33012, 60003, …, v1.0 404)."""


class AlreadyExists(DingTalkError):
    """A unique value is taken; ``what`` names it.

    One of "userid", "mobile", "email", "telephone", "department_name".
    """

    def __init__(self, message: str = "", *, what: str = "", **kw: Any) -> None:
        self.what = what
        super().__init__(message, **kw)


class BadRequest(DingTalkError):
    """DingTalk refused the request's content (validation), or any other non-transient failure."""


class RateLimited(DingTalkError):
    """A QPS or quota limit was hit (90018, 90002, 403 Qps*, the IP ban body)."""

    retryable = True
    default_hint = "Lower the provider's QPS budget or sync outside the top of the hour."

    def __init__(self, message: str = "", *, retryable: bool = True, **kw: Any) -> None:
        # The monthly quota (90020) is a rate limit that no amount of waiting fixes today.
        self.retryable = retryable
        super().__init__(message, **kw)


class QuotaExhausted(RateLimited):
    """The organisation's monthly API quota is used up (90020, v1.0 ApiCountLimitForOrg).

    A rate limit that no retry fixes before next month: never retried. Address-book and
    token APIs are exempt from the quota, so this comes from other APIs (work notifications).
    """

    default_hint = (
        "The organisation used up this month's DingTalk API quota (5,000 calls on the "
        "standard edition). Address-book sync is not affected; notifications resume next "
        "month, or sooner after buying more calls in the DingTalk developer console."
    )

    def __init__(self, message: str = "", **kw: Any) -> None:
        kw.pop("retryable", None)
        super().__init__(message, retryable=False, **kw)


class Transient(DingTalkError):
    """DingTalk is busy (-1), answered 5xx or HTML, or the network failed or timed out."""

    retryable = True
    default_hint = "DingTalk or the network failed temporarily; the call will be retried."

    def __init__(self, message: str = "", *, maybe_applied: bool = True, **kw: Any) -> None:
        #: False only when the request certainly never reached DingTalk (connect timeout/refused).
        self.maybe_applied = maybe_applied
        super().__init__(message, **kw)


# --- The mapping tables (oapi codes are the effective code: sub_code for errcode 88) --------

TOKEN_REJECTED_CODES = frozenset({40001, 40014, 42001, 33001, 41001, 40000})
BAD_CREDENTIAL_CODES = frozenset({40089, 40096})
PERMISSION_CODES = frozenset({60011, 43007})
OUT_OF_SCOPE_CODES = frozenset({50002, 50004})
NOT_FOUND_CODES = frozenset({60121, 33012, 60111, 60003, 60004, 40009, 40003, 40010})
ALREADY_EXISTS: dict[int, str] = {
    60102: "userid",
    60104: "mobile",
    60107: "mobile",
    60106: "email",
    40101: "email",
    40100: "telephone",
    60008: "department_name",  # duplicate name: 60008 (old doc, real connectors) ...
    60021: "department_name",  # ... or 60021 (current table); §4.3 says tolerate both
}
RATE_LIMIT_CODES = frozenset({90018, *range(90001, 90015), 90017})
QUOTA_CODES = frozenset({90020})

_HINTS: dict[int | str, str] = {
    40096: "The AppKey or AppSecret is wrong: copy both again from the developer console.",
    40089: "The AppKey or AppSecret is wrong: copy both again from the developer console.",
    60004: "The parent department does not exist in DingTalk.",
    60005: "Move or delete the department's members first.",
    60006: "Delete the sub-departments first.",
    60007: "The root department (id 1) cannot be deleted.",
    60018: "The root department (id 1) cannot be updated.",
    60010: "The move would create a cycle in the department tree.",
    60001: "Department names are 1-64 characters.",
    60009: "Department names cannot contain '-', ',' or '，'.",
    60103: "The mobile number is invalid (use +xx-xxxxxx outside mainland China).",
    60105: "The email address is invalid.",
    60112: "The user's name is invalid (1-80 characters).",
    22: "Unknown API path: check the oapi base URL.",
    404: "Unknown API path: check the API base URLs.",
    "invalidClientIdOrSecret": "The AppKey or AppSecret is wrong: copy both again.",
    40056: "Check the provider's AgentId: it must be this app's AgentId in the developer console.",
    41011: "Set the provider's AgentId (the app's AgentId in the developer console).",
}

_V1_QPS = re.compile(r"Forbidden\.AccessDenied\.Qp[sm]Limit", re.IGNORECASE)
_SCOPES_RE = re.compile(r"requiredScopes=\[([^\]]*)\]")
_BRACKET_SCOPE_RE = re.compile(r"\[([A-Za-z_][A-Za-z0-9_.]*)\]")
_URL_RE = re.compile(r"https?://[^\s,，}\]\"']+")
_IP_RE = re.compile(r"ip\s*[=:：]\s*([0-9A-Fa-f.:]+[0-9A-Fa-f])")
_SUBCODE_RE = re.compile(r"subcode=([^,\]]+)")
_SUBMSG_RE = re.compile(r"submsg=(.*)\]\s*$", re.DOTALL)
_TOKEN_QS_RE = re.compile(r"((?:access_token|appsecret|appSecret)=)[^&#\s]*")


def mask_url(url: str) -> str:
    """Return ``url`` with the access_token / appsecret query values replaced by ``***``."""
    return _TOKEN_QS_RE.sub(r"\1***", url)


def parse_required_scopes(text: str) -> list[str]:
    """Scope codes named in a 60011 ``sub_msg``: ``{requiredScopes=[a, b]}`` or ``[scope]``."""
    match = _SCOPES_RE.search(text or "")
    if match:
        return [s.strip() for s in match.group(1).split(",") if s.strip()]
    return list(dict.fromkeys(_BRACKET_SCOPE_RE.findall(text or "")))


def parse_url(text: str) -> str | None:
    """First URL in DingTalk's text (the permission apply link in 60011 messages)."""
    match = _URL_RE.search(text or "")
    return match.group(0) if match else None


def parse_ip(text: str) -> str | None:
    """The caller IP DingTalk reports in a 60020 message (``request ip=14.153.172.241``)."""
    match = _IP_RE.search(text or "")
    return match.group(1) if match else None


def _as_int(value: Any) -> int | str:
    """DingTalk's doc examples print codes as strings ("0"); real responses use numbers."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def error_from_response(
    http_status: int, body: Any, *, path: str | None = None
) -> DingTalkError | None:
    """Map one parsed DingTalk response to the exception it means, or None on success.

    ``body`` is the decoded JSON, or None when the body was not JSON (an HTML gateway page).
    This function is the single place where error codes are interpreted.
    """
    common: dict[str, Any] = {"http_status": http_status, "path": path}
    if not isinstance(body, Mapping):
        return _from_non_json(common)
    if "status" in body and "errcode" not in body and str(body.get("status")) == "1111":
        return RateLimited(
            f"DingTalk banned this IP for {body.get('wait', '?')} minutes (too many calls)",
            errcode=1111,
            hint="Wait for the IP ban to end; lower the call rate.",
            **common,
        )
    if "errcode" in body:
        return _from_oapi(body, common)
    if http_status >= 400:
        return _from_v1(http_status, body, common)
    return None


def _from_non_json(common: dict[str, Any]) -> DingTalkError:
    """HTML or empty bodies: gateway pages. 403/429 are the IP ban page; 404 a wrong base URL."""
    http_status = common["http_status"]
    if http_status in (403, 429):
        return RateLimited(f"HTTP {http_status} without a JSON body", errcode=http_status, **common)
    if http_status in (400, 401, 404, 405):
        return BadRequest(
            f"HTTP {http_status} without a JSON body",
            errcode=http_status,
            hint="Check the DingTalk API base URLs.",
            **common,
        )
    return Transient(f"HTTP {http_status}: DingTalk answered with a non-JSON body", **common)


def _from_oapi(body: Mapping[str, Any], common: dict[str, Any]) -> DingTalkError | None:
    """oapi envelopes: plain errcode, or errcode 88 (or 22) carrying a string sub_code."""
    errcode = _as_int(body.get("errcode"))
    if errcode == 0:
        return None
    errmsg = str(body.get("errmsg") or "")
    sub_code = body.get("sub_code")
    sub_msg = body.get("sub_msg")
    if errcode in (88, 22) and sub_code is None:
        # Some gateways only fill errmsg: "ding talk error[subcode=…,submsg=…]" (§4.1).
        found = _SUBCODE_RE.search(errmsg)
        sub_code = found.group(1).strip() if found else None
    if errcode in (88, 22) and not sub_msg:
        found = _SUBMSG_RE.search(errmsg)
        sub_msg = found.group(1) if found else None
    common["request_id"] = body.get("request_id") or body.get("requestid")
    message = str(sub_msg or errmsg)
    if errcode == 88 and sub_code is not None:
        common["sub_code"] = str(sub_code)
        effective = _as_int(sub_code)
    else:
        effective = errcode
    return _by_code(effective, message, common)


def _by_code(code: int | str, message: str, common: dict[str, Any]) -> DingTalkError:
    """The oapi code table (§4.2)."""
    kw = dict(common, errcode=code)
    if code in _HINTS:
        kw["hint"] = _HINTS[code]
    if code == -1:
        return Transient(message or "系统繁忙", **kw)
    if code in TOKEN_REJECTED_CODES:
        return AuthError(message, token_rejected=True, **kw)
    if code in BAD_CREDENTIAL_CODES:
        return AuthError(message, **kw)
    if code in PERMISSION_CODES:
        return _permission_denied(message, None, kw)
    if code == 60020:
        return IpNotAllowed(message, ip=parse_ip(message), **kw)
    if code in OUT_OF_SCOPE_CODES:
        return OutOfScope(message, **kw)
    if code in NOT_FOUND_CODES:
        return NotFound(message, **kw)
    if code in ALREADY_EXISTS:
        return AlreadyExists(message, what=ALREADY_EXISTS[code], **kw)
    if code in RATE_LIMIT_CODES:
        return RateLimited(message, **kw)
    if code in QUOTA_CODES:
        return QuotaExhausted(message, **kw)
    if isinstance(code, int) and code >= 500 and code < 600:
        return Transient(message, **kw)  # e.g. {"errcode": 502} from a proxy
    return BadRequest(message, **kw)


def _permission_denied(
    message: str, scopes: list[str] | None, kw: dict[str, Any]
) -> PermissionDenied:
    """Build a PermissionDenied, reading the scopes and apply link out of DingTalk's text."""
    required = scopes if scopes else parse_required_scopes(message)
    return PermissionDenied(message, required_scopes=required, apply_url=parse_url(message), **kw)


def _from_v1(http_status: int, body: Mapping[str, Any], common: dict[str, Any]) -> DingTalkError:
    """api.dingtalk.com envelopes: ``{code, message, requestid}`` with an HTTP status."""
    code = str(body.get("code") or "")
    message = str(body.get("message") or body.get("msg") or code)
    common["request_id"] = body.get("requestid") or body.get("requestId") or body.get("request_id")
    kw = dict(common, errcode=code or http_status)
    if code in _HINTS:
        kw["hint"] = _HINTS[code]
    lowered = code.lower()
    if code in ("InvalidAuthentication", "AuthenticationFailed.MissingParameter"):
        return AuthError(message, token_rejected=True, **kw)
    if lowered in ("invalidclientidorsecret", "invalid.client", "unauthorized.client"):
        return AuthError(message, **kw)
    if "authcode" in lowered or lowered == "invalidcode":
        # A login code that is unknown, expired or already used: the login must start over.
        kw["hint"] = "The login code is invalid or was already used; sign in again."
        return AuthError(message, **kw)
    if code == "Forbidden.AccessDenied.AccessTokenPermissionDenied":
        detail = body.get("accessdenieddetail") or body.get("accessDeniedDetail") or {}
        scopes = list(detail.get("requiredScopes") or []) if isinstance(detail, Mapping) else []
        return _permission_denied(message, scopes, kw)
    if code == "Forbidden.AccessDenied.IpNotInWhiteList":
        return IpNotAllowed(message, ip=parse_ip(message), **kw)
    if code == "Forbidden.AccessDenied.ApiCountLimitForOrg":
        return QuotaExhausted(message, **kw)
    if _V1_QPS.search(code) or http_status == 429:
        return RateLimited(message, **kw)
    return _from_v1_status(http_status, lowered, message, kw)


def _from_v1_status(
    http_status: int, lowered: str, message: str, kw: dict[str, Any]
) -> DingTalkError:
    """v1.0 codes without a dedicated rule: decide by the HTTP status and the code's wording."""
    if http_status >= 500 or lowered in ("unknownerror", "server.error", "systembusy"):
        return Transient(message, **kw)
    if http_status == 404 or lowered.endswith("notfound"):
        return NotFound(message, **kw)
    if http_status == 403 and lowered.startswith("forbidden"):
        return _permission_denied(message, None, kw)
    if http_status == 401:
        return AuthError(message, token_rejected=True, **kw)
    return BadRequest(message, **kw)
