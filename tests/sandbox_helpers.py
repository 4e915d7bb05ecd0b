"""Small helpers for tests that talk to the DingTalk sandbox over real HTTP.

    srv = start_sandbox()                 # in-process server on a free loopback port
    app = make_app(srv)                   # corp + app with every address-book scope
    token = get_token(srv, app)
    body = oapi(srv, token, "/topapi/v2/department/create", {"name": "Eng", "parent_id": 1})
    srv.stop()

The connector's tests can reuse them: point the client's oapi, api and login bases at srv.url.
"""

from __future__ import annotations

from typing import Any

import requests

from connectors.dingtalk.sandbox.server import SandboxServer

CORP_ID = "dingcorp0000test01"
APP_KEY = "dingtestappkey0001"
APP_SECRET = "test-secret-0001"
AGENT_ID = 3000000099
TIMEOUT = 10


def start_sandbox(qps: int = 20, state_file: str | None = None) -> SandboxServer:
    """A started sandbox on a free port; call .stop() (or use it as a context manager)."""
    return SandboxServer(host="127.0.0.1", port=0, qps=qps, state_file=state_file).start()


def control(srv: SandboxServer, method: str, path: str, body: Any = None) -> requests.Response:
    """Call the /_sandbox/ control API."""
    return requests.request(method, srv.url + "/_sandbox/" + path, json=body, timeout=TIMEOUT)


def make_app(srv: SandboxServer, **overrides: Any) -> dict[str, Any]:
    """Create (or update) an app; defaults to the test corp and all scopes."""
    body = {"corp_id": CORP_ID, "app_key": APP_KEY, "app_secret": APP_SECRET, "agent_id": AGENT_ID}
    body.update(overrides)
    resp = control(srv, "POST", "apps", body)
    assert resp.status_code == 200, resp.text
    return resp.json()


def get_token(srv: SandboxServer, app: dict[str, Any]) -> str:
    """An app access token from GET /gettoken."""
    params = {"appkey": app["app_key"], "appsecret": app["app_secret"]}
    body = requests.get(srv.url + "/gettoken", params=params, timeout=TIMEOUT).json()
    assert body["errcode"] == 0, body
    return body["access_token"]


def oapi(
    srv: SandboxServer,
    token: str | None,
    path: str,
    body: dict[str, Any] | None = None,
    form: bool = False,
    session: requests.Session | None = None,
) -> dict[str, Any]:
    """POST an oapi call (JSON body, or form-encoded with form=True); returns the JSON body."""
    params = {"access_token": token} if token else {}
    sender = session or requests
    if form:
        resp = sender.post(srv.url + path, params=params, data=body or {}, timeout=TIMEOUT)
    else:
        resp = sender.post(srv.url + path, params=params, json=body or {}, timeout=TIMEOUT)
    assert resp.status_code == 200, resp.text
    return resp.json()


def v1(
    srv: SandboxServer,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    token: str | None = None,
) -> requests.Response:
    """Call an api v1.0 path with the token in x-acs-dingtalk-access-token."""
    headers = {"x-acs-dingtalk-access-token": token} if token else {}
    return requests.request(method, srv.url + path, json=body, headers=headers, timeout=TIMEOUT)


def seed_department(srv: SandboxServer, name: str, parent_id: int = 1, **fields: Any) -> int:
    """Create a department DingTalk-side (no token, no QPS); returns its dept_id."""
    resp = control(
        srv,
        "POST",
        "departments",
        {"corp_id": CORP_ID, "name": name, "parent_id": parent_id, **fields},
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["dept_id"]


def seed_user(
    srv: SandboxServer, name: str, mobile: str, dept_ids: list[int], **fields: Any
) -> dict[str, Any]:
    """Create a user DingTalk-side; returns its full view (with userid and unionid)."""
    body = {"corp_id": CORP_ID, "name": name, "mobile": mobile, "dept_id_list": dept_ids, **fields}
    resp = control(srv, "POST", "users", body)
    assert resp.status_code == 200, resp.text
    return resp.json()


def mobile(n: int) -> str:
    """The n-th distinct valid mainland mobile number."""
    return f"139{n:08d}"
