"""Requests, responses and the two DingTalk envelopes (dingtalk-api.md §0.3, §0.4, §4.1)."""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, GatewayError, V1Error, api_name

OAPI_JSON = "application/json;charset=UTF-8"
V1_JSON = "application/json;charset=utf-8"
PLAIN_JSON = "application/json"
HTML = "text/html;charset=utf-8"
_REQUEST_ID_CHARS = "0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass(slots=True)
class Request:
    """An HTTP request, decoupled from http.server so handlers are easy to reason about."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    peer_ip: str

    def header(self, name: str) -> str:
        """A header value ("" when absent); `name` must be lower case."""
        return self.headers.get(name, "")


@dataclass(slots=True)
class Response:
    """An HTTP response ready to be written."""

    status: int
    body: bytes
    content_type: str = OAPI_JSON
    headers: list[tuple[str, str]] = field(default_factory=list)


def dumps(data: Any) -> bytes:
    """Compact UTF-8 JSON with Chinese text left readable, as DingTalk sends it."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_response(data: Any, status: int = 200, content_type: str = V1_JSON) -> Response:
    """A JSON response."""
    return Response(status, dumps(data), content_type)


def request_id() -> str:
    """A topapi-style request id, e.g. "16l4ew3d47pdp"."""
    raw = secrets.token_bytes(13)
    return "".join(_REQUEST_ID_CHARS[b % 36] for b in raw)


def v1_request_id() -> str:
    """A v1.0-style requestid, e.g. "01A08FE7-…" (an upper-case UUID)."""
    return str(uuid.uuid4()).upper()


def oapi_ok(payload: dict[str, Any], content_type: str = OAPI_JSON) -> Response:
    """Success on oapi: errcode 0, errmsg ok, the payload, request_id."""
    body = {"errcode": 0, "errmsg": "ok", **payload, "request_id": request_id()}
    return Response(200, dumps(body), content_type)


def oapi_error(exc: ApiError) -> Response:
    """A business error on oapi: HTTP 200 with errcode/errmsg."""
    body = {"errcode": exc.errcode, "errmsg": exc.errmsg, **exc.extra, "request_id": request_id()}
    return Response(200, dumps(body), OAPI_JSON)


def oapi_gateway(exc: GatewayError) -> Response:
    """The 88 wrapper: string sub_code, sub_msg, and errmsg "ding talk error[…]"."""
    body = {
        "errcode": 88,
        "sub_code": exc.sub_code,
        "sub_msg": exc.sub_msg,
        "errmsg": f"ding talk error[subcode={exc.sub_code},submsg={exc.sub_msg}]",
        "request_id": request_id(),
    }
    return Response(200, dumps(body), OAPI_JSON)


def v1_error(status: int, code: str, message: str, extra: dict[str, Any] | None = None) -> Response:
    """An api v1.0 error: `{"requestid", "code", "message"}` (+ extra keys)."""
    body = {"requestid": v1_request_id(), "code": code, "message": message, **(extra or {})}
    return Response(status, dumps(body), V1_JSON)


def render_error(family: str, exc: Exception) -> Response:
    """Render any sandbox error in the route family's envelope."""
    if isinstance(exc, GatewayError):
        if family == "oapi":
            return oapi_gateway(exc)
        return v1_error(exc.v1_status, exc.v1_code, exc.v1_message, exc.v1_extra)
    if isinstance(exc, V1Error):
        return v1_error(exc.status, exc.code, exc.message, exc.extra)
    if isinstance(exc, ApiError):
        if family == "oapi":
            return oapi_error(exc)
        # -1 is the only ApiError v1.0 routes see (fault injection); OBS P4 saw this body
        # for a server-side failure on api.dingtalk.com (its use for -1 is UNCONFIRMED).
        return v1_error(500, "unknownError", "未知错误")
    raise TypeError(f"not a sandbox error: {exc!r}")


def html_fault(status: int) -> Response:
    """The HTML page a load balancer returns on 5xx (fault kind html_502)."""
    page = (
        f"<html>\r\n<head><title>{status} Bad Gateway</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} Bad Gateway</h1></center>\r\n<hr><center>Tengine</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return Response(status, page.encode("utf-8"), HTML)


def unknown_path(path: str) -> Response:
    """Unknown topapi method: errcode 22 (OBS P14). Anything else: 404 (OBS P12, §4.1)."""
    if path.startswith("/topapi/"):
        sub_msg = f"不合法ApiName，ApiName = {api_name(path)}"
        body = {
            "errcode": 22,
            "sub_msg": sub_msg,
            "errmsg": f"Invalid method[submsg={sub_msg}]",
            "request_id": request_id(),
        }
        return Response(200, dumps(body), OAPI_JSON)
    return Response(404, dumps({"errcode": 404, "errmsg": "请求的URI地址不存在"}), PLAIN_JSON)
