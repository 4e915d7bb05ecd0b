"""The gateway in front of every DingTalk API: token, IP, scope, QPS, monthly quota, fault,
then the handler.

The order is DingTalk's (dingtalk-api.md §10.4): permission and rate-limit refusals come from
the gateway (errcode 88), so they happen before any body validation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import (
    ApiError,
    GatewayError,
    V1Error,
    ip_refused,
    qps_app,
    qps_global,
    quota_exhausted,
    scope_missing,
    token_blank,
    token_invalid,
)
from .faults import Fault
from .limits import beijing_month
from .model import Corp
from .parsing import Params, parse_body
from .state import App, Grant, SandboxState
from .wire import OAPI_JSON, Request, Response, html_fault, json_response, oapi_ok, render_error

V1_TOKEN_HEADER = "x-acs-dingtalk-access-token"  # noqa: S105 (a header name)
# The text limit quoted in the observed 90002 body; used for injected 90002 faults.
INJECTED_GLOBAL_LIMIT = 1200


@dataclass(frozen=True, slots=True)
class Route:
    """One DingTalk API. `auth` is "app" (app token), "user" (web-login user token) or
    "none" (credentials in the request; `app_key_of` names the app for counters and QPS).
    `quota`: the API counts against the corp's monthly quota (§5; address-book and token
    APIs are exempt)."""

    path: str
    family: str
    auth: str
    handler: Callable[[Call], dict[str, Any]]
    scope: str | None = None
    mutating: bool = False
    methods: tuple[str, ...] = ("GET", "POST")
    content_type: str = OAPI_JSON
    app_key_of: Callable[[Call], str] | None = None
    quota: bool = False


@dataclass(slots=True)
class Call:
    """One API call as it travels through the gateway into a handler."""

    state: SandboxState
    route: Route
    req: Request
    ip: str
    params: Params
    body_kind: str
    app: App | None = None
    grant: Grant | None = None
    app_key: str = ""

    @property
    def corp(self) -> Corp:
        """The corp of the calling app."""
        assert self.app is not None
        return self.state.corps[self.app.corp_id]


def run_route(state: SandboxState, route: Route, req: Request, ip: str) -> Response:
    """Serve one DingTalk API call end to end."""
    fields, kind = parse_body(req.header("content-type"), req.body)
    if route.family == "oapi":
        # Lenient: fields may come from the query too; the body wins.
        fields = {**req.query, **fields}
    call = Call(state, route, req, ip, Params(fields), kind)
    try:
        with state.lock:
            fault = admit(call)
    except GatewayError as exc:
        return render_error(route.family, exc)
    if fault is None:
        return invoke(call)
    return apply_fault(call, fault)


def admit(call: Call) -> Fault | None:
    """Gateway checks in order; returns the injected fault for this call, if any.
    Every call is counted, refused ones included. Caller holds the lock."""
    try:
        authenticate(call)
        app = call.app
        # Token endpoints skip the IP allow-list and scope checks: whether DingTalk applies
        # the allow-list to gettoken is UNCONFIRMED; we refuse on the first API call instead.
        if app is not None and call.route.auth != "none":
            if not app.ip_allowed(call.ip):
                raise ip_refused(call.ip, app.app_key)
            scope = call.route.scope
            if scope and scope not in app.scopes:
                raise scope_missing(app.app_key, scope)
        throttle(call)
        spend_quota(call)
        return call.state.faults.take(call.route.path, call.app_key)
    finally:
        call.state.count_call(call.app_key, call.route.path)


def authenticate(call: Call) -> None:
    """Resolve the calling app from the token (or, for token endpoints, the credentials)."""
    state, route = call.state, call.route
    if route.auth == "none":
        call.app_key = route.app_key_of(call) if route.app_key_of else ""
        call.app = state.apps.get(call.app_key)
        return
    token = presented_token(call)
    if not token:
        raise token_blank()
    if route.auth == "user":
        # Only web-login user tokens identify "me"; an app token here is refused as an
        # invalid token (UNCONFIRMED).
        call.grant = state.user_grant(token)
        app = state.apps.get(call.grant.app_key) if call.grant else None
    else:
        app = state.app_for_token(token)
    if app is None:
        raise token_invalid()
    call.app, call.app_key = app, app.app_key


def presented_token(call: Call) -> str:
    """oapi: `access_token` in the query or a form body, never the x-acs header (OBS P9), and
    not a JSON body either (undocumented, so we refuse it: UNCONFIRMED). v1.0: the header only."""
    if call.route.family == "v1":
        return call.req.header(V1_TOKEN_HEADER)
    token = call.req.query.get("access_token", "")
    if not token and call.body_kind == "form":
        token = str(call.params.data.get("access_token") or "")
    return token


def throttle(call: Call) -> None:
    """Per (app, API) QPS (90018), then the optional global per-API limiter (90002)."""
    app, config = call.app, call.state.config
    if app is None:
        return
    limit = app.qps if app.qps is not None else config.qps_default
    glimit = config.global_qps
    if not limit and not glimit:
        return
    now, path = time.monotonic(), call.route.path
    key = (app.app_key, path)
    if limit and not call.state.app_window.allows(key, limit, now):
        raise qps_app(path, app.app_key, limit, time.time())
    if glimit:
        if not call.state.global_window.allows(path, glimit, now):
            raise qps_global(path, glimit, time.time())
        call.state.global_window.record(path, now)
    if limit:
        call.state.app_window.record(key, now)


def spend_quota(call: Call) -> None:
    """Count a quota-bound call against its corp's month; 90020 once the quota is used up.
    Calls refused by the QPS limits never get here, so they are not counted ([D-billing])."""
    if not call.route.quota or call.app is None:
        return
    state, corp_id = call.state, call.app.corp_id
    default = state.config.monthly_quota
    if not state.quota.spend(corp_id, default, beijing_month()):
        raise quota_exhausted(corp_id, state.quota.limit_of(corp_id, default))


def invoke(call: Call) -> Response:
    """Run the handler under the lock and render its result or error."""
    route, state = call.route, call.state
    try:
        with state.lock:
            payload = route.handler(call)
            if route.mutating:
                state.changed()
    except (ApiError, GatewayError, V1Error) as exc:
        return render_error(route.family, exc)
    if route.family == "oapi":
        return oapi_ok(payload, route.content_type)
    return json_response(payload)


def apply_fault(call: Call, fault: Fault) -> Response:
    """Answer an injected fault. A slow call still does its work, before or after the sleep."""
    family, path = call.route.family, call.route.path
    if fault.kind == "errcode_-1":
        return render_error(family, ApiError(-1, "系统繁忙"))
    if fault.kind == "errcode_90002":
        return render_error(family, qps_global(path, INJECTED_GLOBAL_LIMIT, time.time()))
    if fault.kind == "errcode_90020":
        limit = call.state.config.monthly_quota
        return render_error(family, quota_exhausted(call.app.corp_id if call.app else "", limit))
    if fault.kind == "html_502":
        return html_fault(502)
    if fault.apply == "after":
        time.sleep(fault.delay)
        return invoke(call)
    response = invoke(call)
    time.sleep(fault.delay)
    return response
