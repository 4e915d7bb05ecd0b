"""DingTalk address-book client: one HTTP seam, typed errors, pacing, retries, token cache.

Every HTTP call goes through :meth:`DingTalkClient._send` (one attempt) driven by
:meth:`DingTalkClient._request` (retries, token refresh). Nothing above that pair sees a raw
response: methods return the dataclasses of :mod:`connectors.dingtalk.types` and raise the
errors of :mod:`connectors.dingtalk.errors`.

Choices made where dingtalk-api.md marks behaviour UNCONFIRMED (the client tolerates both
variants wherever it reads a response):

* Request encoding: JSON bodies on every topapi endpoint (§0.2: both JSON and form work).
  ``dept_id_list`` and the other documented ``String`` id lists are sent comma-separated, as the
  DOC type and the official SDK do; ``extension`` is sent as a JSON-encoded string (SDK style).
* Token: new-style ``POST /v1.0/oauth2/accessToken`` by default (§1.2); ``token_style="old"``
  uses ``GET /gettoken``. Both are assumed valid on both hosts (§1.2 UNCONFIRMED).
* Expired token: refreshed once on 40001/40014/42001/33001, 88 with sub_code 40014/40000, and
  v1.0 ``InvalidAuthentication`` (§1.4 UNCONFIRMED which one DingTalk sends).
* Duplicate department name: 60008 and 60021 both mean AlreadyExists (§4.3).
* Missing user: 60121, 33012 and 60111 all mean NotFound (§4.3).
* Write probe for ``qyapi_manage_addresslist``: ``department/update {"dept_id": 1}``; 60018 (or
  any validation error, or success) means the gateway let the call through (§6.5 UNCONFIRMED).
* Root department's ``parent_id``: read as None when absent, kept as given otherwise (§2.4).
* ``user/list`` may omit ``next_cursor`` on the last page; when ``has_more`` is true without one,
  the next cursor is taken as ``cursor + len(page)``.
* A reused or unknown login code (400 ``invalidParameter.authCode.notFound``) is an AuthError.
* Work notifications (§11): any refusal is raised with DingTalk's text (a bad AgentId is a
  BadRequest whatever its code); 90020 / ``ApiCountLimitForOrg`` is QuotaExhausted, never
  retried. The task_id is read from the top level or, tolerated, from ``result``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar
from urllib.parse import quote, urlencode

import requests

from . import errors
from .errors import (
    AlreadyExists,
    AuthError,
    BadRequest,
    DingTalkError,
    IpNotAllowed,
    NotFound,
    OutOfScope,
    PermissionDenied,
    RateLimited,
    Transient,
)
from .fields import CSV_FIELDS
from .pacing import Backoff, Pacer
from .tokens import StoredToken, TokenStore, refresh_margin
from .types import (
    AuthScopes,
    CallInfo,
    CreatedUser,
    Department,
    LoginUser,
    PermissionReport,
    SendProgress,
    SendResult,
    Token,
    User,
    UserPage,
    UserToken,
    int_list,
    str_list,
)

__all__ = ["DINGTALK_CN", "DINGTALK_IO", "ROOT_DEPT_ID", "DingTalkClient", "Hosts"]

log = logging.getLogger(__name__)

R = TypeVar("R")

ROOT_DEPT_ID = 1
TOKEN_HEADER = "x-acs-dingtalk-access-token"  # noqa: S105 (a header name, not a secret)
MESSAGE_PATH = "/topapi/message/corpconversation/"
# getbymobile with this number answers 60121 when the permission is present (§6 probe).
PROBE_MOBILE = "19900000000"


class Hosts(NamedTuple):
    """The three DingTalk base URLs: old-style API, new-style API, web login."""

    oapi: str
    api: str
    login: str


DINGTALK_CN = Hosts(
    "https://oapi.dingtalk.com", "https://api.dingtalk.com", "https://login.dingtalk.com"
)
DINGTALK_IO = Hosts(
    "https://oapi.dingtalk.io", "https://api.dingtalk.io", "https://login.dingtalk.io"
)


@dataclass(frozen=True)
class _Call:
    """One logical API call: retried and re-authenticated as a unit by ``_request``."""

    method: str
    host: str  # "oapi" or "api"
    path: str
    body: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    auth: str = "app"  # "app": the app token; "user": user_token; "none": no token
    user_token: str | None = field(default=None, repr=False)


class _TokenCache:
    """Thread-safe app token cache; one fetch at a time, replaced shortly before expiry.

    With a :class:`TokenStore`, a missing or expiring in-memory token is first looked for
    in the store, every fetched token is saved to it, and a rejected one is discarded from
    it (compare and delete). The store is a cache: when it fails, the failure is logged and
    the token is fetched from DingTalk as if the store were empty.
    """

    def __init__(
        self,
        fetch: Callable[[], Token],
        clock: Callable[[], float],
        store: TokenStore | None = None,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._store = store
        self._lock = threading.Lock()
        self._token: Token | None = None

    def get(self) -> str:
        """The cached token, else the stored one, else a freshly fetched one."""
        with self._lock:
            if self._token is None or self._clock() >= self._token.refresh_at:
                self._token = self._from_store() or self._fetch_and_save()
            return self._token.value

    def invalidate(self, value: str | None) -> None:
        """Forget ``value`` if it is still current (another thread may have refreshed already),
        and discard it from the store unless another worker stored a fresh token since."""
        with self._lock:
            if self._token is not None and self._token.value == value:
                self._token = None
            if self._store is not None and value:
                self._use_store("discard", self._store.discard, value)

    def current(self) -> str | None:
        """The cached value without fetching (used to scrub error messages)."""
        return self._token.value if self._token else None

    def _from_store(self) -> Token | None:
        """The stored token as an in-memory one; None when absent or inside its margin."""
        if self._store is None:
            return None
        stored = self._use_store("load", self._store.load)
        wall, now = time.time(), self._clock()
        if not isinstance(stored, StoredToken) or not stored.usable(wall):
            return None
        lifetime = int(stored.expires_at - wall)
        return Token(stored.value, lifetime, now, now + (stored.refresh_at - wall))

    def _fetch_and_save(self) -> Token:
        """Fetch a new token from DingTalk and share it through the store."""
        token = self._fetch()
        if self._store is not None:
            wall = time.time()
            stored = StoredToken(token.value, wall + token.expires_in, wall)
            self._use_store("save", self._store.save, stored)
        return token

    @staticmethod
    def _use_store(action: str, fn: Callable[..., R], *args: Any) -> R | None:
        """Call the store; a failure is logged by type only (a database error's text could
        quote the token) and treated as a miss."""
        try:
            return fn(*args)
        except Exception as exc:  # any store failure degrades to a fetch
            log.warning("dingtalk token store %s failed: %s", action, type(exc).__name__)
            return None


class DingTalkClient:
    """Client for the DingTalk address book (departments, users), token and web login APIs.

    Thread-safe: the token cache and the pacer are shared by all threads using one client.
    ``qps`` paces each (app key, API path) separately; None or 0 disables pacing.
    ``token_store`` shares the app token with other clients and processes (one store per
    app; see :mod:`connectors.dingtalk.tokens`). ``on_call`` is called once per HTTP attempt
    with a :class:`~connectors.dingtalk.types.CallInfo` (metrics); its failures are logged.
    """

    def __init__(
        self,
        app_key: str,
        app_secret: str,
        *,
        corp_id: str | None = None,
        oapi_base: str = DINGTALK_CN.oapi,
        api_base: str = DINGTALK_CN.api,
        login_base: str = DINGTALK_CN.login,
        qps: float | None = 20,
        timeout: float | tuple[float, float] = (3.05, 10),
        max_attempts: int = 5,
        session: requests.Session | None = None,
        token_style: str = "new",  # noqa: S107 (a mode name, not a secret)
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        rate_limit_wait: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        token_store: TokenStore | None = None,
        on_call: Callable[[CallInfo], None] | None = None,
    ) -> None:
        if token_style not in ("new", "old"):
            raise ValueError("token_style must be 'new' or 'old'")
        self.app_key = app_key
        self._app_secret = app_secret
        self.corp_id = corp_id
        self.hosts = Hosts(oapi_base.rstrip("/"), api_base.rstrip("/"), login_base.rstrip("/"))
        self.timeout = timeout
        self.token_style = token_style
        self._session = session or _session_for(self.hosts)
        self._sleep = sleep
        self._clock = clock
        self._pacer = Pacer(qps, clock=clock, sleep=sleep)
        self._backoff = Backoff(backoff_base, backoff_cap, max_attempts, rate_limit_wait)
        self._tokens = _TokenCache(self._fetch_token, clock, token_store)
        self._on_call = on_call

    def __repr__(self) -> str:
        return f"DingTalkClient(app_key={self.app_key!r}, oapi={self.hosts.oapi!r})"

    def close(self) -> None:
        """Close the underlying HTTP session."""
        self._session.close()

    def __enter__(self) -> DingTalkClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the HTTP seam ------------------------------------------------------------------

    def _request(self, call: _Call, *, retry_uncertain: bool = True) -> dict[str, Any]:
        """Run ``call`` until it succeeds: retry transient and rate-limit failures with backoff,
        refresh a rejected app token once. With ``retry_uncertain=False`` a failure after which
        the request may have taken effect is raised instead of retried (non-idempotent calls).
        """
        refreshed = False
        failures = 0
        while True:
            token = self._tokens.get() if call.auth == "app" else call.user_token
            try:
                return self._send(call, token)
            except AuthError as exc:
                if refreshed or not exc.token_rejected or call.auth != "app":
                    raise
                log.info(
                    "dingtalk %s: token rejected (%s), refreshing once", call.path, exc.errcode
                )
                self._tokens.invalidate(token)
                refreshed = True
            except (Transient, RateLimited) as exc:
                failures += 1
                if not self._may_retry(exc, failures, retry_uncertain):
                    raise
                self._pause(call, exc, failures)

    def _may_retry(self, exc: DingTalkError, failures: int, retry_uncertain: bool) -> bool:
        """Whether a failed attempt may be repeated."""
        if not exc.retryable or failures >= self._backoff.max_attempts:
            return False
        return retry_uncertain or not (isinstance(exc, Transient) and exc.maybe_applied)

    def _pause(self, call: _Call, exc: DingTalkError, failures: int) -> None:
        """Sleep before the next attempt (exponential backoff, full jitter)."""
        delay = self._backoff.delay(failures - 1, rate_limited=isinstance(exc, RateLimited))
        log.warning(
            "dingtalk %s %s failed with %s [%s]; attempt %d, retrying in %.2fs",
            call.method,
            call.path,
            type(exc).__name__,
            exc.errcode,
            failures,
            delay,
        )
        self._sleep(delay)

    def _send(self, call: _Call, token: str | None) -> dict[str, Any]:
        """One attempt: build the request, pace, send, parse, map errors. The only HTTP call."""
        url, params, headers = self._prepare(call, token)
        waited, started = 0.0, self._clock()
        try:
            with self._pacer.pace((self.app_key, call.path)) as waited:
                started = self._clock()
                response = self._session.request(
                    call.method,
                    url,
                    params=params or None,
                    json=call.body,
                    headers=headers,
                    timeout=self.timeout,
                )
        except requests.RequestException as exc:
            failure: DingTalkError = self._transport_error(call, exc)
        else:
            try:
                body = self._parse(call, response)
            except DingTalkError as err:
                failure = err
            else:
                self._observe(call, 0, self._clock() - started, waited)
                return body
        self._observe(call, _observed_code(failure), self._clock() - started, waited)
        # Raised outside the except blocks so the requests error, whose text holds the URL
        # with the token, is not even kept as __context__.
        raise failure

    def _prepare(
        self, call: _Call, token: str | None
    ) -> tuple[str, dict[str, Any], dict[str, str]]:
        """URL, query and headers of one attempt; the token goes where the host family wants it."""
        base = self.hosts.oapi if call.host == "oapi" else self.hosts.api
        params = dict(call.params or {})
        headers = {"Accept": "application/json"}
        if token is not None and call.host == "oapi":
            params["access_token"] = token
        elif token is not None:
            headers[TOKEN_HEADER] = token
        return base + call.path, params, headers

    def _observe(self, call: _Call, errcode: int | str, duration: float, waited: float) -> None:
        """Tell the ``on_call`` observer about one attempt; its own failures never propagate."""
        if self._on_call is None:
            return
        try:
            self._on_call(CallInfo(call.path, errcode, duration, waited))
        except Exception:  # a metrics hook must not fail a DingTalk call
            log.exception("dingtalk on_call observer failed for %s", call.path)

    def _transport_error(self, call: _Call, exc: requests.RequestException) -> Transient:
        """Turn a requests failure into Transient, with URLs masked and the cause dropped."""
        # A connect timeout never reached DingTalk; anything later (read timeout, reset) may have.
        maybe_applied = not isinstance(exc, requests.ConnectTimeout)
        err = Transient(
            f"{type(exc).__name__}: {errors.mask_url(str(exc))}",
            errcode="network",
            path=call.path,
            maybe_applied=maybe_applied,
        )
        err.scrub([self._app_secret, self._tokens.current(), call.user_token])
        return err

    def _parse(self, call: _Call, response: requests.Response) -> dict[str, Any]:
        """Decode the body and raise the mapped error, if any."""
        try:
            body: Any = response.json()
        except ValueError:
            body = None  # an HTML page from a gateway or proxy
        err = errors.error_from_response(response.status_code, body, path=call.path)
        if err is None and not isinstance(body, dict):
            err = Transient(f"HTTP {response.status_code}: unexpected body", path=call.path)
        if err is not None:
            err.scrub([self._app_secret, self._tokens.current(), call.user_token])
            raise err
        return body

    # --- tokens ---------------------------------------------------------------------------

    def _fetch_token(self) -> Token:
        """Get a new app access token (new style by default, ``/gettoken`` when old)."""
        if self.token_style == "new":  # noqa: S105 (a mode name)
            body = {"appKey": self.app_key, "appSecret": self._app_secret}
            data = self._request(
                _Call("POST", "api", "/v1.0/oauth2/accessToken", body, auth="none")
            )
        else:
            params = {"appkey": self.app_key, "appsecret": self._app_secret}
            data = self._request(_Call("GET", "oapi", "/gettoken", params=params, auth="none"))
        value = data.get("accessToken") or data.get("access_token")
        if not value:
            raise AuthError("DingTalk returned no access token", path="token")
        lifetime = int(data.get("expireIn") or data.get("expires_in") or 7200)
        now = self._clock()
        return Token(str(value), lifetime, now, now + lifetime - refresh_margin(lifetime))

    def access_token(self) -> str:
        """The current app access token (cached; fetched when missing or about to expire)."""
        return self._tokens.get()

    # --- helpers --------------------------------------------------------------------------

    def _oapi(self, path: str, body: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        """POST to an oapi endpoint with the app token and return the whole response body."""
        return self._request(_Call("POST", "oapi", path, body or {}), **kw)

    @staticmethod
    def _encode(fields: Mapping[str, Any]) -> dict[str, Any]:
        """Prepare fields for the wire: drop None, join id lists, JSON-encode ``extension``."""
        out: dict[str, Any] = {}
        for name, value in fields.items():
            if value is None:
                continue
            if name in CSV_FIELDS and isinstance(value, list | tuple | set):
                value = ",".join(str(item) for item in value)
            elif name == "extension" and isinstance(value, dict):
                value = json.dumps(value, ensure_ascii=False)
            out[name] = value
        return out

    @staticmethod
    def _result(data: Mapping[str, Any]) -> Any:
        """The ``result`` member of an oapi body ({} when absent)."""
        result = data.get("result")
        return {} if result is None else result

    def _create_without_duplicates(
        self, call: _Call, parse: Callable[[dict[str, Any]], R], find: Callable[[], R | None]
    ) -> R:
        """Write safety for creates: never repeat a create that may already have taken effect.

        After a failure that may have reached DingTalk (timeout, -1, 5xx), ``find`` looks the
        object up by its natural key and its id is returned if it exists. Only when it does not
        is the create sent again. An "already exists" answer after such a failure means the
        earlier attempt landed late, so ``find`` decides then too.
        """
        uncertain = False
        for attempt in range(self._backoff.max_attempts):
            try:
                return parse(self._request(call, retry_uncertain=False))
            except AlreadyExists:
                found = find() if uncertain else None
                if found is None:
                    raise
                return found
            except Transient as exc:
                uncertain = True
                found = find()
                if found is not None:
                    log.info("dingtalk %s: found the object after %s", call.path, exc.errcode)
                    return found
                if attempt + 1 >= self._backoff.max_attempts:
                    raise
                self._pause(call, exc, attempt + 1)
        raise AssertionError("unreachable")  # pragma: no cover

    # --- departments ----------------------------------------------------------------------

    def department_create(
        self,
        name: str,
        parent_id: int,
        order: int | None = None,
        source_identifier: str | None = None,
        **extra: Any,
    ) -> int:
        """Create a department under ``parent_id`` and return its new dept_id.

        Raises AlreadyExists(what="department_name") when a sibling has the name. A create that
        timed out is not repeated blindly: the parent's children are searched for the name first.
        """
        fields = {"name": name, "parent_id": parent_id, "order": order}
        fields.update(source_identifier=source_identifier, **extra)
        call = _Call("POST", "oapi", "/topapi/v2/department/create", self._encode(fields))
        return self._create_without_duplicates(
            call, _dept_id_from, lambda: self._find_department(parent_id, name)
        )

    def _find_department(self, parent_id: int, name: str) -> int | None:
        """The id of ``parent_id``'s child called ``name``, or None."""
        for dept in self.department_listsub(parent_id):
            if dept.name == name:
                return dept.dept_id
        return None

    def department_update(self, dept_id: int, **fields: Any) -> None:
        """Update a department; omitted fields are left unchanged by DingTalk."""
        self._oapi("/topapi/v2/department/update", self._encode({"dept_id": dept_id, **fields}))

    def department_delete(self, dept_id: int) -> None:
        """Delete a department (refused for the root, or while it has members/children)."""
        self._oapi("/topapi/v2/department/delete", {"dept_id": dept_id})

    def department_get(self, dept_id: int) -> Department:
        """Get one department's details, including member counts."""
        data = self._oapi("/topapi/v2/department/get", {"dept_id": dept_id})
        return Department.from_api(self._result(data))

    def department_listsub(self, dept_id: int) -> list[Department]:
        """The department's direct children (one level, not paginated)."""
        data = self._oapi("/topapi/v2/department/listsub", {"dept_id": dept_id})
        result = self._result(data)
        items = result.get("list", []) if isinstance(result, dict) else result
        return [Department.from_api(item) for item in items]

    def department_listsubid(self, dept_id: int) -> list[int]:
        """The ids of the department's direct children."""
        data = self._oapi("/topapi/v2/department/listsubid", {"dept_id": dept_id})
        return int_list(self._result(data).get("dept_id_list"))

    def department_listparentbydept(self, dept_id: int) -> list[int]:
        """The department's ancestry, starting with itself and ending with the root (1)."""
        data = self._oapi("/topapi/v2/department/listparentbydept", {"dept_id": dept_id})
        return int_list(self._result(data).get("parent_id_list"))

    # --- users ----------------------------------------------------------------------------

    def user_create(self, fields: Mapping[str, Any]) -> CreatedUser:
        """Create a user from DingTalk field names (name, mobile, dept_id_list required).

        Returns the userid (generated when none was given) and unionid. A create that timed
        out is not repeated blindly: the user is looked up by userid, else by mobile, first.
        """
        call = _Call("POST", "oapi", "/topapi/v2/user/create", self._encode(fields))
        userid = fields.get("userid")
        mobile = fields.get("mobile")
        return self._create_without_duplicates(
            call, _created_user_from, lambda: self._find_user(userid, mobile)
        )

    def _find_user(self, userid: str | None, mobile: str | None) -> CreatedUser | None:
        """The user a timed-out create may have made: by userid if given, else by mobile."""
        try:
            if not userid and mobile:
                userid = self.user_getbymobile(mobile)
            if not userid:
                return None
            user = self.user_get(userid)
        except NotFound:
            return None
        return CreatedUser(user.userid, user.unionid)

    def user_update(self, userid: str, fields: Mapping[str, Any]) -> None:
        """Update a user; omitted fields stay unchanged (``extension`` replaces by default)."""
        body = self._encode({**fields, "userid": userid})
        self._oapi("/topapi/v2/user/update", body)

    def user_delete(self, userid: str) -> None:
        """Delete a user (they move to the HR roster's "left" list)."""
        self._oapi("/topapi/v2/user/delete", {"userid": userid})

    def user_get(self, userid: str) -> User:
        """Get one user's details; empty or non-permitted fields are absent from ``raw``."""
        data = self._oapi("/topapi/v2/user/get", {"userid": userid})
        return User.from_api(self._result(data))

    def user_getbymobile(self, mobile: str) -> str:
        """The userid of the current employee with this mobile (NotFound otherwise)."""
        data = self._oapi("/topapi/v2/user/getbymobile", {"mobile": mobile})
        return str(self._result(data).get("userid"))

    def user_getbyunionid(self, unionid: str) -> str:
        """The userid of the org member with this unionid (NotFound otherwise)."""
        data = self._oapi("/topapi/user/getbyunionid", {"unionid": unionid})
        return str(self._result(data).get("userid"))

    def user_list(self, dept_id: int, cursor: int = 0, size: int = 100) -> UserPage:
        """One page (``size`` 1-100) of a department's direct members, with details."""
        body = {"dept_id": dept_id, "cursor": cursor, "size": size}
        result = self._result(self._oapi("/topapi/v2/user/list", body))
        users = [User.from_api(item) for item in result.get("list") or []]
        has_more = bool(result.get("has_more"))
        next_cursor = result.get("next_cursor")
        if has_more and next_cursor is None:
            next_cursor = cursor + len(users)  # tolerate a missing cursor (UNCONFIRMED shape)
        return UserPage(users, has_more, int(next_cursor) if has_more else None)

    def user_iter(self, dept_id: int, size: int = 100) -> Iterator[User]:
        """Every direct member of a department, following ``next_cursor`` page by page."""
        cursor = 0
        while True:
            page = self.user_list(dept_id, cursor, size)
            yield from page.users
            if not page.has_more or not page.users or page.next_cursor is None:
                return
            cursor = page.next_cursor

    def user_listid(self, dept_id: int) -> list[str]:
        """The userids of a department's direct members (not paginated)."""
        data = self._oapi("/topapi/user/listid", {"dept_id": dept_id})
        return str_list(self._result(data).get("userid_list"))

    def user_count(self, only_active: bool = False) -> int:
        """Number of users in the organisation (only activated ones when ``only_active``)."""
        result = self._result(self._oapi("/topapi/user/count", {"only_active": only_active}))
        return int(result.get("count", 0) if isinstance(result, dict) else result)

    # --- work notifications (工作通知, §11) --------------------------------------------------

    def message_send(
        self, agent_id: int | str, userids: Iterable[str], msg: Mapping[str, Any]
    ) -> int:
        """Send a work notification from the app ``agent_id`` to ``userids``; returns the
        task_id. ``msg`` is DingTalk's message object, e.g.
        ``{"msgtype": "text", "text": {"content": "..."}}``.

        DingTalk answers before delivering: unknown or out-of-range recipients show up in
        :meth:`message_send_result`, not as an error. The same content reaches a user once
        a day (later copies are dropped silently), so make each text distinct. Counts
        against the monthly quota: QuotaExhausted when it is used up.
        """
        # A lone string is one userid, not an iterable of one-letter userids.
        recipients = [userids] if isinstance(userids, str) else list(userids)
        body = {
            "agent_id": _agent(agent_id),
            "userid_list": ",".join(recipients),
            "msg": dict(msg),
        }
        # Retried like any call: a repeat after a timeout that did land is dropped by
        # DingTalk's once-a-day rule for every recipient the first copy reached.
        data = self._oapi(MESSAGE_PATH + "asyncsend_v2", body)
        return int(data.get("task_id") or self._result(data).get("task_id") or 0)

    def message_progress(self, agent_id: int | str, task_id: int) -> SendProgress:
        """How far DingTalk got sending the notification ``task_id``."""
        body = {"agent_id": _agent(agent_id), "task_id": int(task_id)}
        data = self._oapi(MESSAGE_PATH + "getsendprogress", body)
        return SendProgress.from_api(data.get("progress") or self._result(data))

    def message_send_result(self, agent_id: int | str, task_id: int) -> SendResult:
        """Who received the notification ``task_id``, and who could not (and why)."""
        body = {"agent_id": _agent(agent_id), "task_id": int(task_id)}
        data = self._oapi(MESSAGE_PATH + "getsendresult", body)
        return SendResult.from_api(data.get("send_result") or self._result(data))

    def message_recall(self, agent_id: int | str, task_id: int) -> None:
        """Withdraw the notification ``task_id`` from its recipients."""
        body = {"agent_id": _agent(agent_id), "msg_task_id": int(task_id)}
        self._oapi(MESSAGE_PATH + "recall", body)

    # --- permissions ----------------------------------------------------------------------

    def auth_scopes(self) -> AuthScopes:
        """The app's address-book data scope (``GET /auth/scopes``)."""
        data = self._request(_Call("GET", "oapi", "/auth/scopes"))
        return AuthScopes.from_api(data)

    def check_permissions(self, dept_id: int = ROOT_DEPT_ID) -> PermissionReport:
        """Verify the app can get a token and read and manage the address book at ``dept_id``.

        Never raises for DingTalk's answers: every problem found (bad key/secret, each missing
        scope with the apply link, the IP DingTalk saw, out of scope) lands in the report.
        """
        report = _ReportBuilder(dept_id)
        try:
            self._tokens.get()
        except DingTalkError as exc:
            report.absorb(exc, "qyapi_base")
            return report.build(token_ok=False)
        scopes = self._probe(report, "qyapi_base", self.auth_scopes)
        dept = self._probe(report, "qyapi_get_department_list", self.department_get, dept_id)
        report.root_department = dept
        self._probe(report, "qyapi_get_member", self.user_listid, dept_id)
        self._probe(report, "qyapi_get_department_member", self.user_list, dept_id, 0, 1)
        self._probe(report, "qyapi_get_member_by_mobile", self._probe_getbymobile)
        self._probe(report, "qyapi_manage_addresslist", self._probe_write)
        if scopes is not None and not report.ip_blocked:
            report.out_of_scope |= not self._in_scope(scopes, dept_id)
        return report.build(token_ok=True)

    def _probe(
        self, report: _ReportBuilder, scope: str, fn: Callable[..., R], *args: Any
    ) -> R | None:
        """Run one probe call; record its failure against ``scope`` in the report."""
        if report.ip_blocked:
            return None  # every further call would fail the same way
        try:
            return fn(*args)
        except DingTalkError as exc:
            report.absorb(exc, scope)
            return None

    def _probe_getbymobile(self) -> None:
        """getbymobile with a dummy number: "not found" or "invalid" both prove the permission."""
        with contextlib.suppress(NotFound, BadRequest):
            self.user_getbymobile(PROBE_MOBILE)

    def _probe_write(self) -> None:
        """Non-mutating write probe: updating the root is refused (60018) only once the
        gateway has accepted the permission; a missing permission answers 88/60011 first."""
        # Out of scope also proves the gateway accepted the permission (checked first, §10.4).
        with contextlib.suppress(BadRequest, OutOfScope):
            self.department_update(ROOT_DEPT_ID)

    def _in_scope(self, scopes: AuthScopes, dept_id: int) -> bool:
        """Whether ``dept_id`` or one of its ancestors is in the app's authorised departments."""
        if scopes.whole_org or dept_id in scopes.authed_dept:
            return True
        try:
            chain = self.department_listparentbydept(dept_id)
        except DingTalkError:
            return False
        return any(ancestor in scopes.authed_dept for ancestor in chain)

    # --- web login ------------------------------------------------------------------------

    def login_url(self, redirect_uri: str, state: str, *, scope: str = "openid") -> str:
        """The browser URL of DingTalk's web login (QR code) page for this app (§7.1)."""
        query = {
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "client_id": self.app_key,
            "scope": scope,
            "state": state,
            "prompt": "consent",
        }
        return f"{self.hosts.login}/oauth2/auth?{urlencode(query, quote_via=quote)}"

    def exchange_code(self, code: str) -> UserToken:
        """Exchange a login ``code`` for a user access token (each code works once)."""
        body = {
            "clientId": self.app_key,
            "clientSecret": self._app_secret,
            "code": code,
            "grantType": "authorization_code",
        }
        call = _Call("POST", "api", "/v1.0/oauth2/userAccessToken", body, auth="none")
        # A code is single-use: an attempt that may have consumed it must not be repeated.
        data = self._request(call, retry_uncertain=False)
        return UserToken(
            access_token=str(data.get("accessToken") or data.get("access_token") or ""),
            refresh_token=data.get("refreshToken"),
            expires_in=data.get("expireIn"),
            corp_id=data.get("corpId"),
        )

    def users_me(self, user_access_token: str) -> LoginUser:
        """The signed-in person's profile, using the token from :meth:`exchange_code`."""
        call = _Call(
            "GET", "api", "/v1.0/contact/users/me", auth="user", user_token=user_access_token
        )
        return LoginUser.from_api(self._request(call))


def _session_for(hosts: Hosts) -> requests.Session:
    """A session that reads proxy and CA settings from the environment once, not per call.

    requests re-reads HTTP(S)_PROXY, NO_PROXY and REQUESTS_CA_BUNDLE on every request when
    ``trust_env`` is on, which cost about a tenth of a sync's CPU; the values are resolved
    here for the client's hosts instead (a client lives for one run).
    """
    session = requests.Session()
    session.trust_env = False
    for base in hosts:
        proxies = requests.utils.get_environ_proxies(base)
        scheme = base.split(":", 1)[0]
        if proxies.get(scheme) or proxies.get("all"):
            session.proxies.setdefault(scheme, proxies.get(scheme) or proxies["all"])
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    return session


def _agent(agent_id: int | str) -> int | str:
    """The AgentId as the number DingTalk expects; anything else is sent as given, so that
    DingTalk's own refusal (with its hint) reaches the admin instead of a local ValueError."""
    text = str(agent_id).strip()
    return int(text) if text.isdigit() else text


def _observed_code(err: DingTalkError) -> int | str:
    """The code an observer sees for a failed attempt (see CallInfo)."""
    if err.errcode is not None:
        return err.errcode
    return err.http_status if err.http_status is not None else "unknown"


def _dept_id_from(data: dict[str, Any]) -> int:
    """The new dept_id from a create response (``result.dept_id``; older shapes tolerated)."""
    result = data.get("result")
    if isinstance(result, dict):
        return int(result.get("dept_id", result.get("id", 0)))
    if result is not None:
        return int(result)
    return int(data.get("dept_id", data.get("id", 0)))


def _created_user_from(data: dict[str, Any]) -> CreatedUser:
    """The userid and unionid from a create response (``unionId`` camelCase, §3.1)."""
    result = data.get("result") or {}
    unionid = result.get("unionId") or result.get("unionid")
    return CreatedUser(str(result.get("userid") or data.get("userid")), unionid)


class _ReportBuilder:
    """Accumulates the findings of :meth:`DingTalkClient.check_permissions`."""

    def __init__(self, dept_id: int) -> None:
        self.dept_id = dept_id
        self.missing: list[str] = []
        self.apply_urls: list[str] = []
        self.ip_blocked = False
        self.seen_ip: str | None = None
        self.out_of_scope = False
        self.root_department: Department | None = None
        self.messages: list[str] = []
        self.other_failure = False

    def absorb(self, exc: DingTalkError, scope: str) -> None:
        """Record what one failed call says about the app's configuration."""
        if isinstance(exc, PermissionDenied):
            for name in exc.required_scopes or [scope]:
                if name not in self.missing:
                    self.missing.append(name)
            if exc.apply_url and exc.apply_url not in self.apply_urls:
                self.apply_urls.append(exc.apply_url)
        elif isinstance(exc, IpNotAllowed):
            self.ip_blocked, self.seen_ip = True, exc.ip
        elif isinstance(exc, OutOfScope):
            self.out_of_scope = True
        else:
            self.other_failure = True
            self.messages.append(exc.sentence())

    def build(self, *, token_ok: bool) -> PermissionReport:
        """The final report, with one sentence per finding."""
        messages = self._finding_messages() + self.messages
        ok = token_ok and not (
            self.missing or self.ip_blocked or self.out_of_scope or self.other_failure
        )
        return PermissionReport(
            ok=ok,
            token_ok=token_ok,
            missing_scopes=list(self.missing),
            apply_urls=list(self.apply_urls),
            ip_blocked=self.ip_blocked,
            seen_ip=self.seen_ip,
            out_of_scope=self.out_of_scope,
            root_department=self.root_department,
            messages=messages,
        )

    def _finding_messages(self) -> list[str]:
        """Sentences an admin can act on, for the structured findings."""
        out: list[str] = []
        if self.ip_blocked:
            ip = self.seen_ip or "this server's IP"
            out.append(f"DingTalk refused calls from {ip}: add it to the app's IP allow-list.")
        if self.missing:
            where = f" Apply at {self.apply_urls[0]}" if self.apply_urls else ""
            if len(self.apply_urls) > 1:
                where += f" (and {len(self.apply_urls) - 1} more links)"
            out.append(f"The app lacks these permissions: {', '.join(self.missing)}.{where}")
        if self.out_of_scope:
            out.append(
                f"Department {self.dept_id} is outside the app's address-book scope: "
                "widen the scope in the developer console."
            )
        return out
