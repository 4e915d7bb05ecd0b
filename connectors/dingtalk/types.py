"""Small typed results returned by :class:`~connectors.dingtalk.client.DingTalkClient`.

Raw DingTalk dicts stop at the client boundary. ``raw`` keeps everything DingTalk returned so the
sync engine can diff fields the dataclasses do not name (``remark``, ``telephone``, …).
Parsing is tolerant: DingTalk's doc examples print numbers as strings and lists as objects or
comma-separated strings, so every ``from_api`` accepts both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AuthScopes",
    "CallInfo",
    "CreatedUser",
    "Department",
    "LoginUser",
    "PermissionReport",
    "SendProgress",
    "SendResult",
    "Token",
    "User",
    "UserPage",
    "UserToken",
]


def _int_or_none(value: Any) -> int | None:
    """An int from DingTalk's number-or-string values; None when absent or not numeric."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _str_or_none(value: Any) -> str | None:
    """A string, with absent and empty values folded into None (DingTalk omits empty fields)."""
    if value is None or value == "":
        return None
    return str(value)


def _bool_or_none(value: Any) -> bool | None:
    """A bool from true/false/"true"/"false"/1/0."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def int_list(value: Any) -> list[int]:
    """A list of ints from a JSON array, a JSON-encoded array string or ``"2,3,4"``."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return int_list(json.loads(text))
        return [int(part) for part in text.split(",") if part.strip()]
    if isinstance(value, int | float):
        return [int(value)]
    return [int(item) for item in value if _int_or_none(item) is not None]


def str_list(value: Any) -> list[str]:
    """A list of strings from a JSON array or a comma-separated string."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return str_list(json.loads(text))
        return [part.strip() for part in text.split(",") if part.strip()]
    return [str(item) for item in value]


def _extension(value: Any) -> dict[str, Any]:
    """``extension`` is a JSON *string* in get/list responses (§3.4) and an object in docs."""
    if not value:
        return {}
    if isinstance(value, dict):
        return dict(value)
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


@dataclass(frozen=True)
class Token:
    """An app access token and when it should be replaced (monotonic clock seconds)."""

    value: str = field(repr=False)
    expires_in: int
    obtained_at: float
    refresh_at: float


@dataclass(frozen=True)
class CallInfo:
    """One HTTP attempt, as the client's ``on_call`` observer sees it (for metrics).

    ``errcode`` is 0 on success; on failure DingTalk's effective code (the ``sub_code`` of an
    errcode-88 wrapper), the v1.0 ``code`` string, the HTTP status of a non-JSON answer, or
    ``"network"`` when no answer came. ``duration`` is the HTTP exchange in seconds,
    ``waited`` the seconds spent in the pacer before sending. Never a token or a secret.
    """

    path: str
    errcode: int | str
    duration: float
    waited: float


@dataclass(frozen=True)
class Department:
    """A DingTalk department as returned by ``department/get`` or ``listsub``."""

    dept_id: int
    name: str
    parent_id: int | None = None
    order: int | None = None
    source_identifier: str | None = None
    member_count: int | None = None
    owning_member_count: int | None = None
    code: str | None = None
    hide_dept: bool | None = None
    dept_manager_userid_list: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Department:
        """Build from a ``result`` object; unknown or absent fields are tolerated."""
        return cls(
            dept_id=int(data.get("dept_id", data.get("id", 0))),
            name=str(data.get("name", "")),
            # The root's parent_id is UNCONFIRMED (absent, 0 or null): all read as None/0 here.
            parent_id=_int_or_none(data.get("parent_id", data.get("parentid"))),
            order=_int_or_none(data.get("order")),
            source_identifier=_str_or_none(data.get("source_identifier")),
            member_count=_int_or_none(data.get("member_count")),
            owning_member_count=_int_or_none(data.get("owning_member_count")),
            code=_str_or_none(data.get("code")),
            hide_dept=_bool_or_none(data.get("hide_dept", data.get("dept_hiding"))),
            dept_manager_userid_list=str_list(data.get("dept_manager_userid_list")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class User:
    """A DingTalk user from ``v2/user/get`` or ``v2/user/list``; ``raw`` holds every field."""

    userid: str
    name: str
    unionid: str | None = None
    mobile: str | None = None
    email: str | None = None
    title: str | None = None
    job_number: str | None = None
    work_place: str | None = None
    dept_id_list: list[int] = field(default_factory=list)
    extension: dict[str, Any] = field(default_factory=dict)
    hired_date: int | None = None
    active: bool | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> User:
        """Build from a user object; get returns ``unionid``, create ``unionId``: accept both."""
        return cls(
            userid=str(data.get("userid", "")),
            name=str(data.get("name", "")),
            unionid=_str_or_none(data.get("unionid", data.get("unionId"))),
            mobile=_str_or_none(data.get("mobile")),
            email=_str_or_none(data.get("email")),
            title=_str_or_none(data.get("title")),
            job_number=_str_or_none(data.get("job_number")),
            work_place=_str_or_none(data.get("work_place")),
            dept_id_list=int_list(data.get("dept_id_list")),
            extension=_extension(data.get("extension")),
            hired_date=_int_or_none(data.get("hired_date")),
            active=_bool_or_none(data.get("active")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class UserPage:
    """One page of ``v2/user/list``; ``next_cursor`` is None on the last page."""

    users: list[User]
    has_more: bool
    next_cursor: int | None


@dataclass(frozen=True)
class CreatedUser:
    """What ``v2/user/create`` returns: the (possibly generated) userid and the unionid."""

    userid: str
    unionid: str | None = None


@dataclass(frozen=True)
class AuthScopes:
    """The app's address-book data scope from ``GET /auth/scopes`` (§6.1)."""

    authed_dept: list[int]
    authed_user: list[str]
    auth_user_field: list[str]
    condition_field: list[str]
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def whole_org(self) -> bool:
        """True when the scope is the whole organisation (``authed_dept`` contains 1)."""
        return 1 in self.authed_dept

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> AuthScopes:
        """Build from the ``/auth/scopes`` body (fields at the top level, not under result)."""
        org = data.get("auth_org_scopes") or {}
        return cls(
            authed_dept=int_list(org.get("authed_dept")),
            authed_user=str_list(org.get("authed_user")),
            auth_user_field=str_list(data.get("auth_user_field")),
            condition_field=str_list(data.get("condition_field")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class PermissionReport:
    """Outcome of :meth:`DingTalkClient.check_permissions`: everything the wizard must show."""

    ok: bool
    token_ok: bool
    missing_scopes: list[str] = field(default_factory=list)
    apply_urls: list[str] = field(default_factory=list)
    ip_blocked: bool = False
    seen_ip: str | None = None
    out_of_scope: bool = False
    root_department: Department | None = None
    messages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LoginUser:
    """The person who signed in through DingTalk web login (``/v1.0/contact/users/me``)."""

    nick: str
    union_id: str
    open_id: str | None = None
    mobile: str | None = None
    email: str | None = None
    state_code: str | None = None
    avatar_url: str | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> LoginUser:
        """Build from the camelCase v1.0 body."""
        return cls(
            nick=str(data.get("nick", "")),
            union_id=str(data.get("unionId", data.get("unionid", ""))),
            open_id=_str_or_none(data.get("openId")),
            mobile=_str_or_none(data.get("mobile")),
            email=_str_or_none(data.get("email")),
            state_code=_str_or_none(data.get("stateCode")),
            avatar_url=_str_or_none(data.get("avatarUrl")),
        )


@dataclass(frozen=True)
class UserToken:
    """A user access token from the web-login code exchange; never printed in reprs."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_in: int | None = None
    corp_id: str | None = None


@dataclass(frozen=True)
class SendResult:
    """What became of a work notification's recipients (``getsendresult``, §11).

    ``invalid``: userids DingTalk does not know; ``forbidden``: users outside the app's
    visible range; ``failed``: delivery failed; ``read`` / ``unread``: delivered.
    A recipient DingTalk dropped as a same-day duplicate is in none of the lists.
    """

    invalid: list[str] = field(default_factory=list)
    forbidden: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    read: list[str] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)
    invalid_dept_ids: list[int] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def delivered(self) -> list[str]:
        """Every recipient the message reached, read or not."""
        return self.read + self.unread

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> SendResult:
        """Build from ``send_result``; absent lists are empty, comma strings are accepted."""
        return cls(
            invalid=str_list(data.get("invalid_user_id_list")),
            forbidden=str_list(data.get("forbidden_user_id_list")),
            failed=str_list(data.get("failed_user_id_list")),
            read=str_list(data.get("read_user_id_list")),
            unread=str_list(data.get("unread_user_id_list")),
            invalid_dept_ids=int_list(data.get("invalid_dept_id_list")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class SendProgress:
    """How far DingTalk got sending a work notification (``getsendprogress``, §11)."""

    percent: int
    status: int  # 0 not started, 1 in progress, 2 done

    @property
    def done(self) -> bool:
        """Whether DingTalk finished sending."""
        return self.status == 2

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> SendProgress:
        """Build from ``progress`` (numbers may arrive as strings)."""
        return cls(
            percent=_int_or_none(data.get("progress_in_percent")) or 0,
            status=_int_or_none(data.get("status")) or 0,
        )
