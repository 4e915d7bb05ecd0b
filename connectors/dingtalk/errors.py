"""Typed DingTalk errors, and the one place that maps DingTalk's error codes onto them.

DingTalk reports failures through three envelopes (dingtalk-api.md §4.1, §0.4):

* oapi plain: HTTP 200 ``{"errcode": 60121, "errmsg": "...", "request_id": "..."}``;
* oapi gateway wrapper: HTTP 200 ``{"errcode": 88, "sub_code": "60011", "sub_msg": "...",
  "errmsg": "ding talk error[subcode=60011,submsg=...]"}`` where ``sub_code`` is a *string*;
* api.dingtalk.com v1.0: HTTP 4xx/5xx ``{"requestid": "...", "code": "...", "message": "..."}``.

Plus transport-level oddities: HTML pages from a gateway, and the per-IP ban body
``{"status": 1111, "wait": 5, ...}`` (§5).  :func:`error_from_response` is the only function that
turns any of these into an exception; the rest of the connector catches the classes below.

Every error carries a ``hint``: what the admin should do next, in English. Hints are
marked with :func:`N_` so that the Django side can extract them (``makemessages
--keyword=N_``) and translate the stored English text when it shows it. A hint that needs a
value (an IP address, a userid, a code) is a ``%(name)s`` template with the values in
``hint_args``; :meth:`DingTalkError.rendered_hint` and :meth:`DingTalkError.sentence` give the
English text with the values filled in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "HINTS",
    "AlreadyExists",
    "AuthError",
    "BadRequest",
    "DingTalkError",
    "IpNotAllowed",
    "N_",
    "NotFound",
    "OutOfScope",
    "PermissionDenied",
    "QuotaExhausted",
    "RateLimited",
    "Transient",
    "error_from_response",
    "mask_url",
]


def N_(message: str) -> str:
    """Mark ``message`` for translation without translating it: this package cannot import
    Django. The Django side extracts the marked literals and translates them at display."""
    return message


class DingTalkError(Exception):
    """Base class of every error the DingTalk connector raises.

    ``errcode`` is DingTalk's code: an int for oapi (the *effective* code, i.e. the
    ``sub_code`` when DingTalk wrapped the failure in errcode 88), a string for v1.0
    (``"InvalidAuthentication"``).
    ``message`` is DingTalk's own text. ``hint`` is what to do next (English, possibly a
    ``%(name)s`` template filled from ``hint_args``). None of the attributes ever hold a
    token or a secret.
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
        hint_args: Mapping[str, str] | None = None,
    ) -> None:
        self.message = message
        self.errcode = errcode
        self.sub_code = sub_code
        self.request_id = request_id
        self.http_status = http_status
        self.path = path
        self.hint = hint if hint is not None else self.default_hint
        #: The values of the ``%(name)s`` placeholders in ``hint`` (empty when it has none).
        self.hint_args: dict[str, str] = dict(hint_args or {})
        super().__init__(message)

    def __str__(self) -> str:
        code = f"{self.errcode}" if self.sub_code is None else f"88/{self.sub_code}"
        where = f"{self.path}: " if self.path else ""
        return f"{where}[{code}] {self.message}".strip()

    def rendered_hint(self) -> str:
        """The hint in English with ``hint_args`` filled in."""
        if not self.hint_args:
            return self.hint
        try:
            return self.hint % self.hint_args
        except (KeyError, ValueError, TypeError):
            return self.hint  # a template and values that do not fit: show the template

    def sentence(self) -> str:
        """What went wrong and, when known, what to do: the line shown to an admin."""
        hint = self.rendered_hint()
        return f"{self}. {hint}" if hint else f"{self}."

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


# --- Hints shared by several codes (and the classes' defaults) ------------------------------

CREDENTIALS_HINT = N_(
    "The AppKey or AppSecret is wrong: copy both again from the app's page in the DingTalk "
    "developer console (Credentials), save the provider and verify it again."
)
TOKEN_HINT = N_(
    "DingTalk rejected the access token even after fetching a new one: check that the "
    "AppKey and AppSecret belong to the same app and that the app is not disabled, then "
    "verify the provider again."
)
TOKEN_MISSING_HINT = N_(
    "The request reached DingTalk without an access token: check that the provider's API "
    "base URLs point at DingTalk and that no proxy strips the query string."
)
PERMISSION_HINT = N_(
    "Grant the missing permissions to the app in the DingTalk developer console "
    "(Permission management), then verify the provider again."
)
IP_HINT = N_(
    "Add this server's egress IP address to the app's server IP allow-list (服务器出口IP) in "
    "the DingTalk developer console."
)
IP_HINT_WITH_ADDRESS = N_(
    "Add %(ip)s to the app's server IP allow-list (服务器出口IP) in the DingTalk developer "
    "console: it is the address DingTalk saw."
)
USER_SCOPE_HINT = N_(
    "The user is outside the app's address-book scope (通讯录权限范围): widen the scope in "
    "the developer console to include the user's departments, or take the account out of "
    "this provider's scope."
)
DEPT_SCOPE_HINT = N_(
    "The department is outside the app's address-book scope (通讯录权限范围): widen the scope "
    "in the developer console to include it, or change the provider's target department."
)
USER_GONE_HINT = N_(
    "DingTalk has no user with this userid (deleted in DingTalk, or never created): the "
    "next sync creates the user again; if it keeps failing, check the userid field mapping."
)
DEPT_GONE_HINT = N_(
    "The DingTalk department does not exist (deleted in DingTalk?): run a full sync to "
    "create it again, or correct the provider's target department id."
)
PARENT_GONE_HINT = N_(
    "The parent department does not exist in DingTalk: correct the provider's target "
    "department id, or run a full sync so that the parent is created first."
)
DEPT_ID_HINT = N_(
    "DingTalk does not accept this department id: correct the provider's target department "
    "id; a full sync links the organisations to their departments again."
)
USERID_HINT = N_(
    "DingTalk refused the userid: use 1 to 64 ASCII letters, digits and _ . @ -, starting "
    "with a letter or a digit (no spaces, no Chinese characters). Change the account's "
    "username, or the userid field mapping."
)
USERID_TAKEN_HINT = N_(
    "Another DingTalk user already has this userid: link the account to that user (add "
    "userid to the provider's mapping identity), or change the account's username."
)
MOBILE_TAKEN_HINT = N_(
    "Another DingTalk user already has this mobile: change the account's mobile, or link the "
    "account to that DingTalk user (add mobile to the provider's mapping identity)."
)
MOBILE_TAKEN_BY_HINT = N_(
    "DingTalk user %(owner)s already has this mobile: change the account's mobile, or link "
    "the account to %(owner)s (add mobile to the provider's mapping identity)."
)
MOBILE_MEMBER_HINT = N_(
    "The person who signs in to DingTalk with this mobile is already a member of the "
    "organisation: link the account to that DingTalk user (add mobile to the provider's "
    "mapping identity) instead of creating another one."
)
EMAIL_TAKEN_HINT = N_(
    "Another DingTalk user already has this email address: change the account's email, or "
    "link the account to that DingTalk user (add email to the provider's mapping identity)."
)
TELEPHONE_TAKEN_HINT = N_(
    "Another DingTalk user already has this extension number (telephone): give the account "
    "another extension number, or stop mapping the telephone field."
)
DEPT_NAME_TAKEN_HINT = N_(
    "A department with this name already exists under the same parent in DingTalk: rename "
    "one of the organisations, or run a full sync, which adopts the existing department."
)
QPS_HINT = N_(
    "DingTalk allows each app 20 calls per second per API (60 with the paid pack): the call "
    "is retried; if this keeps happening, lower the provider's QPS budget."
)
GLOBAL_QPS_HINT = N_(
    "DingTalk throttled this API for every app at once (usually at the top of the hour): "
    "the call is retried; schedule syncs away from the full hour, for example at ten past."
)
BLOCKED_HINT = N_(
    "DingTalk temporarily blocked calls from this server or organisation after too many "
    "calls: wait a few minutes, lower the provider's QPS budget, and avoid the top of the hour."
)
IP_BAN_HINT = N_(
    "DingTalk banned this server's IP address for a few minutes after too many calls "
    "(10,000 in 20 seconds): wait for the ban to end, then lower the provider's QPS budget."
)
QUOTA_HINT = N_(
    "The organisation used up this month's DingTalk API quota (5,000 calls on the standard "
    "edition). Address-book sync is not affected; other calls such as notifications work "
    "again next month, or sooner after buying more calls in the DingTalk developer console."
)
BUSY_HINT = N_(
    "DingTalk or the network failed for a moment: the call is retried automatically; if it "
    "keeps failing, try again in a few minutes."
)
MOBILE_LOCKED_HINT = N_(
    "The person activated DingTalk with another number, so DingTalk will not change the "
    "mobile through the API: ask them to change it in the DingTalk app, or delete and re-add "
    "the user in DingTalk."
)
TEAM_LIMIT_HINT = N_(
    "The organisation reached DingTalk's member limit: complete the organisation's "
    "verification (企业认证) or upgrade it in the DingTalk admin console, then sync again."
)
BASE_URL_HINT = N_("Unknown API path: check the provider's DingTalk API base URLs.")
PAGING_HINT = N_(
    "DingTalk refused the page cursor or size (size is 1 to 100): this is a console bug; "
    "report it with this event."
)
LOGIN_CODE_HINT = N_("The login code is invalid or was already used; sign in again.")
UNKNOWN_CODE_HINT = N_(
    "DingTalk refused the call with code %(code)s: look the code up in DingTalk's server API "
    "error codes (全局错误码) and correct the value it names."
)


# --- The error classes --------------------------------------------------------------------


class AuthError(DingTalkError):
    """Bad AppKey/AppSecret, or an access token DingTalk rejected (even after one refresh)."""

    default_hint = CREDENTIALS_HINT

    def __init__(self, message: str = "", *, token_rejected: bool = False, **kw: Any) -> None:
        #: True when the *token* was refused (expired, invalid, missing): refreshing may fix it.
        self.token_rejected = token_rejected
        super().__init__(message, **kw)


class PermissionDenied(DingTalkError):
    """The app lacks an API permission (scope) such as ``qyapi_manage_addresslist``."""

    default_hint = PERMISSION_HINT

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

    default_hint = IP_HINT

    def __init__(self, message: str = "", *, ip: str | None = None, **kw: Any) -> None:
        #: The IP address DingTalk saw, when it said so ("request ip=…").
        self.ip = ip
        super().__init__(message, **kw)
        if ip:
            self.hint, self.hint_args = IP_HINT_WITH_ADDRESS, {"ip": ip}


class OutOfScope(DingTalkError):
    """The department or user lies outside the app's address-book data scope (50002/50004)."""

    default_hint = DEPT_SCOPE_HINT


class NotFound(DingTalkError):
    """The user or department does not exist (60121, 33012, 60003, …, v1.0 404)."""


class AlreadyExists(DingTalkError):
    """A unique value is taken; ``what`` names it.

    ``what`` is one of "userid", "mobile", "email", "telephone", "department_name".
    ``owner_userid`` is the DingTalk user holding the value when DingTalk's answer names them
    (a ``userid`` key in the body, which a production connector reads on 60104; that DingTalk
    sends it is UNCONFIRMED), else None.
    """

    def __init__(
        self, message: str = "", *, what: str = "", owner_userid: str | None = None, **kw: Any
    ) -> None:
        self.what = what
        self.owner_userid = owner_userid
        super().__init__(message, **kw)


class BadRequest(DingTalkError):
    """DingTalk refused the request's content (validation), or any other non-transient failure."""


class RateLimited(DingTalkError):
    """A QPS or quota limit was hit (90018, 90002, 403 Qps*, the IP ban body)."""

    retryable = True
    default_hint = QPS_HINT

    def __init__(self, message: str = "", *, retryable: bool = True, **kw: Any) -> None:
        self.retryable = retryable
        super().__init__(message, **kw)


class QuotaExhausted(RateLimited):
    """The organisation's monthly API quota is used up (90020, v1.0 ApiCountLimitForOrg).

    A rate limit that no retry fixes before next month: never retried. Address-book and
    token APIs are exempt from the quota, so this comes from other APIs (work notifications).
    """

    default_hint = QUOTA_HINT

    def __init__(self, message: str = "", **kw: Any) -> None:
        kw.pop("retryable", None)
        super().__init__(message, retryable=False, **kw)


class Transient(DingTalkError):
    """DingTalk is busy (-1), answered 5xx or HTML, or the network failed or timed out."""

    retryable = True
    default_hint = BUSY_HINT

    def __init__(self, message: str = "", *, maybe_applied: bool = True, **kw: Any) -> None:
        #: False only when the request certainly never reached DingTalk (connect timeout/refused).
        self.maybe_applied = maybe_applied
        super().__init__(message, **kw)


# --- The mapping tables -------------------------------------------------------------------
# oapi codes are the effective code (the sub_code of an errcode-88 wrapper). Every table's
# name ends in _CODES: tests/test_dingtalk_errors.py checks each listed code has a hint.

TRANSIENT_CODES = frozenset({-1})
TOKEN_REJECTED_CODES = frozenset({40001, 40014, 42001, 33001, 41001, 40000})
BAD_CREDENTIAL_CODES = frozenset({40089, 40096})
PERMISSION_CODES = frozenset({60011, 43007})
IP_CODES = frozenset({60020})
OUT_OF_SCOPE_CODES = frozenset({50002, 50004})
NOT_FOUND_CODES = frozenset({60121, 33012, 60111, 60003, 60004, 40009, 40003, 40010})
# 40003 不合法的UserID on a *create* is about the new userid's shape, not a missing user.
INVALID_ON_CREATE_CODES = frozenset({40003})
ALREADY_EXISTS_CODES: dict[int, str] = {
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
IP_BAN_CODES = frozenset({1111})  # not an errcode: the per-IP ban body's "status" (§5)
# Refusals of a request's content. Any unlisted code is a BadRequest too; these are listed
# so that each carries a hint of its own (§2, §3, §4.2, §11).
BAD_REQUEST_CODES = frozenset(
    {
        22, 404, 400002, 40035, 40011, 40031, 40066, 40068, 40069, 40093, 40104,
        40019, 40020, 40021, 40022, 40023, 40024, 40103, 41054,
        60001, 60002, 60005, 60006, 60007, 60009, 60010, 60016, 60018, 60019,
        60103, 60105, 60109, 600109, 60110, 60112, 60113, 60120, 60122, 60123, 60128, 60510,
        40056, 41011,
    }
)  # fmt: skip

# api.dingtalk.com v1.0 codes (compared case-insensitively).
V1_TOKEN_REJECTED_CODES = frozenset(
    {"InvalidAuthentication", "AuthenticationFailed.MissingParameter"}
)
V1_BAD_CREDENTIAL_CODES = frozenset(
    {"invalidClientIdOrSecret", "invalid.client", "unauthorized.client"}
)
# Any code naming an authCode is a login code too (see _from_v1).
V1_LOGIN_CODE_CODES = frozenset({"invalidParameter.authCode.notFound", "invalidCode"})
V1_PERMISSION_CODES = frozenset({"Forbidden.AccessDenied.AccessTokenPermissionDenied"})
V1_IP_CODES = frozenset({"Forbidden.AccessDenied.IpNotInWhiteList"})
V1_QUOTA_CODES = frozenset({"Forbidden.AccessDenied.ApiCountLimitForOrg"})
V1_RATE_LIMIT_CODES = frozenset(
    {
        "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
        "Forbidden.AccessDenied.QpmLimitForAppkeyAndApi",
        "Forbidden.AccessDenied.QpsLimitForApi",
    }
)
V1_TRANSIENT_CODES = frozenset({"unknownError", "server.error", "systemBusy"})
V1_NOT_FOUND_CODES = frozenset({"invalidParameter.user.notFound"})

#: What to do next, by code. Every code of the tables above has one.
HINTS: dict[int | str, str] = {
    # tokens and credentials
    40001: TOKEN_HINT,
    40014: TOKEN_HINT,
    42001: TOKEN_HINT,
    33001: TOKEN_HINT,
    41001: TOKEN_MISSING_HINT,
    40000: TOKEN_MISSING_HINT,
    40089: CREDENTIALS_HINT,
    40096: CREDENTIALS_HINT,
    # permissions, IP allow-list, address-book scope
    60011: PERMISSION_HINT,
    43007: PERMISSION_HINT,
    60020: IP_HINT,
    50002: USER_SCOPE_HINT,
    50004: DEPT_SCOPE_HINT,
    # not found
    60121: USER_GONE_HINT,
    33012: USER_GONE_HINT,
    60111: USER_GONE_HINT,
    60003: DEPT_GONE_HINT,
    60004: PARENT_GONE_HINT,
    40009: DEPT_ID_HINT,
    40010: PARENT_GONE_HINT,
    40003: USERID_HINT,
    # already exists
    60102: USERID_TAKEN_HINT,
    60104: MOBILE_TAKEN_HINT,
    60107: MOBILE_MEMBER_HINT,
    60106: EMAIL_TAKEN_HINT,
    40101: EMAIL_TAKEN_HINT,
    40100: TELEPHONE_TAKEN_HINT,
    60008: DEPT_NAME_TAKEN_HINT,
    60021: DEPT_NAME_TAKEN_HINT,
    # limits
    90018: QPS_HINT,
    90002: GLOBAL_QPS_HINT,
    **{code: BLOCKED_HINT for code in (*range(90001, 90015), 90017) if code != 90002},
    90020: QUOTA_HINT,
    1111: IP_BAN_HINT,
    -1: BUSY_HINT,
    # the request's content: generic
    22: BASE_URL_HINT,
    404: BASE_URL_HINT,
    400002: N_(
        "DingTalk found a required field missing or empty: check that the field mapping gives "
        "every account a name and a mobile, and that every organisation has a department."
    ),
    40035: N_(
        "DingTalk refused a field's value or type: compare the values in this event with the "
        "field mapping (numbers, true/false, lists)."
    ),
    40068: PAGING_HINT,
    40069: PAGING_HINT,
    # departments
    40011: N_("The department order must be a whole number: correct the organisation's order."),
    40031: N_(
        "A department manager must be a member of the department: add the manager to the "
        "organisation, or remove them as its manager."
    ),
    40093: N_("The department's group owner must be a member of the department: choose a member."),
    60001: N_("Department names are 1 to 64 characters: shorten the organisation's name."),
    60002: N_(
        "The department tree is deeper than DingTalk allows: flatten the organisation tree, or "
        "merge deep organisations into their parents."
    ),
    60005: N_(
        "The department still has members in DingTalk: move or delete them first (people added "
        "by hand in DingTalk are not removed by the sync)."
    ),
    60006: N_(
        "The department still has sub-departments in DingTalk: delete those first; the sync "
        "deletes departments bottom-up on its next run."
    ),
    60007: N_(
        "The root department (id 1) cannot be deleted: map the organisation into the root "
        "instead of onto it."
    ),
    60009: N_("Department names cannot contain '-', ',' or '，': rename the organisation."),
    60010: N_(
        "The move would put a department under one of its own sub-departments: correct the "
        "organisation tree's parents."
    ),
    60016: N_(
        "DingTalk already has a department with this id (ids are DingTalk's to choose): run a "
        "full sync to link the organisations to their departments again."
    ),
    60018: N_(
        "The root department (id 1) cannot be updated: rename the organisation in DingTalk's "
        "admin console, or target a department under the root."
    ),
    60019: N_(
        "DingTalk could not list the department's members: try again later; if it persists, "
        "check the app's address-book permissions and scope."
    ),
    60109: N_(
        "The department's visibility lists name unknown departments or users, or more than 50: "
        "correct the dept_permits and user_permits mappings."
    ),
    60110: N_(
        "The organisation reached DingTalk's limit on departments: sync fewer organisations, or "
        "merge small ones into their parents."
    ),
    60510: N_(
        "DingTalk could not set the department's permissions: check the dept_permits and "
        "user_permits mappings, then sync again."
    ),
    # users
    60103: N_(
        "The mobile number is invalid: use 11 digits for mainland China (13800138000) or "
        "+country code-number elsewhere (+852-61234567); correct the account's mobile."
    ),
    40104: N_(
        "DingTalk knows no employee with this number, or the number is malformed: check the "
        "account's mobile (mainland 11 digits, others +country code-number)."
    ),
    60105: N_("The email address is invalid (at most 50 characters): correct the account's email."),
    60112: N_("The user's name must be 1 to 80 characters: correct the account's display name."),
    60113: N_(
        "DingTalk needs a mobile or an email for every user: give the account a mobile, or map "
        "an email."
    ),
    60120: N_(
        "The DingTalk user is disabled: enable them in the DingTalk admin console, or take the "
        "account out of the provider's scope."
    ),
    60122: N_(
        "The extension attributes are invalid: define each key first in DingTalk's admin console "
        "(通讯录 > 成员字段管理) and keep them under 2,000 characters."
    ),
    60123: N_(
        "The job number is invalid (at most 50 characters): correct the account's job number."
    ),
    60128: N_(
        "The manager is not a DingTalk user of the organisation (or is the user themself): sync "
        "the manager first, or correct the manager mapping."
    ),
    40066: N_(
        "The account's department list is invalid (at most 100 departments, all existing): check "
        "the account's memberships and the provider's scope."
    ),
    40019: N_(
        "This mobile already belongs to five DingTalk organisations that are not verified: the "
        "person must leave one of them, or one of them must be verified, before DingTalk accepts "
        "the number here."
    ),
    40020: TEAM_LIMIT_HINT,
    40024: TEAM_LIMIT_HINT,
    40023: N_(
        "The department reached DingTalk's member limit: split the organisation into "
        "sub-organisations, or move some members elsewhere."
    ),
    40021: N_(
        "The new mobile is already registered to another DingTalk account, so DingTalk will not "
        "move this user to it: ask the person to change the number in the DingTalk app, or "
        "delete and re-add the user in DingTalk."
    ),
    40022: MOBILE_LOCKED_HINT,
    41054: MOBILE_LOCKED_HINT,
    40103: N_(
        "DingTalk sent the person an invitation: they join once they accept it in the DingTalk "
        "app; nothing needs changing in the console."
    ),
    # work notifications
    40056: N_(
        "Check the provider's AgentId: it must be this app's AgentId, shown on the app's page in "
        "the DingTalk developer console."
    ),
    41011: N_(
        "Set the provider's AgentId: it is shown on the app's page in the DingTalk developer "
        "console."
    ),
    # api.dingtalk.com v1.0
    "InvalidAuthentication": TOKEN_HINT,
    "AuthenticationFailed.MissingParameter": TOKEN_MISSING_HINT,
    "invalidClientIdOrSecret": CREDENTIALS_HINT,
    "invalid.client": CREDENTIALS_HINT,
    "unauthorized.client": CREDENTIALS_HINT,
    "invalidParameter.authCode.notFound": LOGIN_CODE_HINT,
    "invalidCode": LOGIN_CODE_HINT,
    "Forbidden.AccessDenied.AccessTokenPermissionDenied": PERMISSION_HINT,
    "Forbidden.AccessDenied.IpNotInWhiteList": IP_HINT,
    "Forbidden.AccessDenied.ApiCountLimitForOrg": QUOTA_HINT,
    "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi": QPS_HINT,
    "Forbidden.AccessDenied.QpmLimitForAppkeyAndApi": QPS_HINT,
    "Forbidden.AccessDenied.QpsLimitForApi": GLOBAL_QPS_HINT,
    "unknownError": BUSY_HINT,
    "server.error": BUSY_HINT,
    "systemBusy": BUSY_HINT,
    "invalidParameter.user.notFound": N_(
        "The person is not (or no longer) a DingTalk user of this organisation: add them in "
        "DingTalk, or sign in with another account."
    ),
}
# 600109 is the create page's spelling of 60109 (§2.1): the same refusal.
HINTS[600109] = HINTS[60109]
# Hints with a value, used when DingTalk's answer names it.
OWNER_HINTS: dict[int, str] = {60104: MOBILE_TAKEN_BY_HINT}

_V1_QPS = re.compile(r"Forbidden\.AccessDenied\.Qp[sm]Limit", re.IGNORECASE)
_SCOPES_RE = re.compile(r"requiredScopes=\[([^\]]*)\]")
_BRACKET_SCOPE_RE = re.compile(r"\[([A-Za-z_][A-Za-z0-9_.]*)\]")
_URL_RE = re.compile(r"https?://[^\s,，}\]\"']+")
_IP_RE = re.compile(r"ip\s*[=:：]\s*([0-9A-Fa-f.:]+[0-9A-Fa-f])")
_SUBCODE_RE = re.compile(r"subcode=([^,\]]+)")
_SUBMSG_RE = re.compile(r"submsg=(.*)\]\s*$", re.DOTALL)
_TOKEN_QS_RE = re.compile(r"((?:access_token|appsecret|appSecret)=)[^&#\s]*")
# Codes whose class needs nothing but the code (checked in this order; tables never overlap).
_PLAIN_CLASSES: tuple[tuple[frozenset[int], type[DingTalkError]], ...] = (
    (TRANSIENT_CODES, Transient),
    (BAD_CREDENTIAL_CODES, AuthError),
    (OUT_OF_SCOPE_CODES, OutOfScope),
    (RATE_LIMIT_CODES, RateLimited),
    (QUOTA_CODES, QuotaExhausted),
)


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
            hint=HINTS[1111],
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
            hint=BASE_URL_HINT,
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
    owner = body.get("userid")  # the holder of a taken unique value, when DingTalk says
    return _by_code(effective, message, common, str(owner) if owner else None)


def _by_code(
    code: int | str, message: str, common: dict[str, Any], owner: str | None = None
) -> DingTalkError:
    """The oapi code table (§4.2)."""
    kw = dict(common, errcode=code)
    if code in HINTS:
        kw["hint"] = HINTS[code]
    special = _special_code(code, message, kw, owner)
    if special is not None:
        return special
    for codes, cls in _PLAIN_CLASSES:
        if code in codes:
            return cls(message, **kw)
    if isinstance(code, int) and code >= 500 and code < 600:
        return Transient(message, **kw)  # e.g. {"errcode": 502} from a proxy
    if "hint" not in kw:
        kw.update(hint=UNKNOWN_CODE_HINT, hint_args={"code": str(code)})
    return BadRequest(message, **kw)


def _special_code(
    code: int | str, message: str, kw: dict[str, Any], owner: str | None
) -> DingTalkError | None:
    """The codes whose error needs more than the code: token, scopes, IP, not found, taken."""
    if code in TOKEN_REJECTED_CODES:
        return AuthError(message, token_rejected=True, **kw)
    if code in PERMISSION_CODES:
        return _permission_denied(message, None, kw)
    if code in IP_CODES:
        return IpNotAllowed(message, ip=parse_ip(message), **kw)
    if code in INVALID_ON_CREATE_CODES and str(kw.get("path") or "").endswith("/create"):
        return BadRequest(message, **kw)
    if code in NOT_FOUND_CODES:
        return NotFound(message, **kw)
    if code in ALREADY_EXISTS_CODES:
        if owner and code in OWNER_HINTS:
            kw.update(hint=OWNER_HINTS[code], hint_args={"owner": owner})
        return AlreadyExists(message, what=ALREADY_EXISTS_CODES[code], owner_userid=owner, **kw)
    return None


def _permission_denied(
    message: str, scopes: list[str] | None, kw: dict[str, Any]
) -> PermissionDenied:
    """Build a PermissionDenied, reading the scopes and apply link out of DingTalk's text."""
    required = scopes if scopes else parse_required_scopes(message)
    return PermissionDenied(message, required_scopes=required, apply_url=parse_url(message), **kw)


def _in(code: str, codes: frozenset[str]) -> bool:
    """Case-insensitive membership: DingTalk's v1.0 codes vary in case between pages."""
    lowered = code.lower()
    return any(lowered == c.lower() for c in codes)


def _hint_for(code: str) -> str | None:
    """The v1.0 hint of ``code``, matched case-insensitively."""
    lowered = code.lower()
    return next((hint for key, hint in HINTS.items() if str(key).lower() == lowered), None)


def _from_v1(http_status: int, body: Mapping[str, Any], common: dict[str, Any]) -> DingTalkError:
    """api.dingtalk.com envelopes: ``{code, message, requestid}`` with an HTTP status."""
    code = str(body.get("code") or "")
    message = str(body.get("message") or body.get("msg") or code)
    common["request_id"] = body.get("requestid") or body.get("requestId") or body.get("request_id")
    kw = dict(common, errcode=code or http_status)
    if (hint := _hint_for(code)) is not None:
        kw["hint"] = hint
    if _in(code, V1_TOKEN_REJECTED_CODES):
        return AuthError(message, token_rejected=True, **kw)
    if _in(code, V1_BAD_CREDENTIAL_CODES):
        return AuthError(message, **kw)
    if _in(code, V1_LOGIN_CODE_CODES) or "authcode" in code.lower():
        # A login code that is unknown, expired or already used: the login must start over.
        return AuthError(message, **{**kw, "hint": LOGIN_CODE_HINT})
    if _in(code, V1_PERMISSION_CODES):
        detail = body.get("accessdenieddetail") or body.get("accessDeniedDetail") or {}
        scopes = list(detail.get("requiredScopes") or []) if isinstance(detail, Mapping) else []
        return _permission_denied(message, scopes, kw)
    if _in(code, V1_IP_CODES):
        return IpNotAllowed(message, ip=parse_ip(message), **kw)
    if _in(code, V1_QUOTA_CODES):
        return QuotaExhausted(message, **kw)
    if _in(code, V1_RATE_LIMIT_CODES) or _V1_QPS.search(code) or http_status == 429:
        return RateLimited(message, **kw)
    return _from_v1_status(http_status, code, message, kw)


def _from_v1_status(http_status: int, code: str, message: str, kw: dict[str, Any]) -> DingTalkError:
    """v1.0 codes without a dedicated rule: decide by the HTTP status and the code's wording."""
    lowered = code.lower()
    if http_status >= 500 or _in(code, V1_TRANSIENT_CODES):
        return Transient(message, **kw)
    if http_status == 404 or _in(code, V1_NOT_FOUND_CODES) or lowered.endswith("notfound"):
        return NotFound(message, **kw)
    if http_status == 403 and lowered.startswith("forbidden"):
        return _permission_denied(message, None, kw)
    if http_status == 401:
        return AuthError(message, token_rejected=True, **kw)
    return BadRequest(message, **kw)
