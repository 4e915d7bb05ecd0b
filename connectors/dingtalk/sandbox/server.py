"""HTTP plumbing: one port serves oapi, api v1.0, the login page, /_sandbox/ and /.

    srv = SandboxServer(host="127.0.0.1", port=0, qps=20, state_file=None)
    srv.start(); srv.url; srv.state; srv.stop()     # or: with SandboxServer() as srv: ...

Standard library only: ThreadingHTTPServer with a lean HTTP/1.1 keep-alive handler, one
thread per connection.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import time
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import control, login
from .gateway import run_route
from .limits import ip_ban_body
from .page import TEXTS, page_language, render_index
from .routes import ROUTES
from .state import SandboxState
from .wire import HTML, Request, Response, dumps, unknown_path

# Idle keep-alive connections are dropped after this long, so their threads end.
IDLE_TIMEOUT = 120
MAX_BODY = 16 * 1024 * 1024
MAX_LINE = 65536
MAX_HEADERS = 100


class SandboxApp:
    """Request -> Response for everything the sandbox serves (no sockets here)."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.base_url = ""

    def handle(self, req: Request) -> Response:
        """Route a request: control API, page, login page, or a DingTalk API."""
        path = req.path
        if path.startswith("/_sandbox/"):
            return control.handle(self.state, req)
        if path == "/":
            lang = page_language(req.header("accept-language"))
            with self.state.lock:
                html = render_index(self.state, self.base_url, lang)
            headers = [("Content-Language", TEXTS[lang]["html_lang"]), ("Vary", "Accept-Language")]
            return Response(200, html.encode("utf-8"), HTML, headers)
        if path == "/oauth2/auth":
            return login.auth_page(self.state, req)
        ip = self.caller_ip(req)
        if self.state.config.ip_limit and not self.ip_admitted(ip):
            # UNCONFIRMED: the HTTP status of DingTalk's anti-flood body; we send 200.
            return Response(200, dumps(ip_ban_body()), "application/json")
        route = ROUTES.get(path)
        if route is None or req.method not in route.methods:
            # Answered before any token check and not counted: the gateway resolves the API
            # name first (OBS P14 had a valid token, so the order is UNCONFIRMED).
            return unknown_path(path)
        return run_route(self.state, route, req, ip)

    def caller_ip(self, req: Request) -> str:
        """X-Forwarded-For's first hop when trusted (so tests can simulate IPs), else the peer."""
        if self.state.config.trust_forwarded_for:
            forwarded = req.header("x-forwarded-for")
            if forwarded:
                return forwarded.split(",", 1)[0].strip()
        return req.peer_ip

    def ip_admitted(self, ip: str) -> bool:
        """Count the call against the per-IP flood limiter."""
        with self.state.lock:
            limits = self.state.config.ip_limit or {}
            return self.state.ip_limiter.admit(ip, limits, time.monotonic())


class _Handler(socketserver.StreamRequestHandler):
    """A lean HTTP/1.1 keep-alive loop. http.server's BaseHTTPRequestHandler parses headers
    with the email package, which costs more than our whole request path; this reads the
    request line and headers directly and writes each response in a single send."""

    disable_nagle_algorithm = True
    timeout = IDLE_TIMEOUT
    server: _HTTPServer

    def handle(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            while self._serve_one():
                pass

    def _serve_one(self) -> bool:
        """Serve one request; False when the connection should close."""
        line = self.rfile.readline(MAX_LINE)
        while line in (b"\r\n", b"\n"):
            line = self.rfile.readline(MAX_LINE)
        if not line:
            return False
        parts = line.decode("utf-8", "replace").split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            self._send(Response(400, b"bad request line", "text/plain"), close=True)
            return False
        method, target, version = parts
        headers = self._read_headers()
        keep_alive = wants_keep_alive(version, headers.get("connection", ""))
        body = self._read_body(headers)
        if body is None:
            self._send(Response(413, b"body too large", "text/plain"), close=True)
            return False
        split = urlsplit(target)
        req = Request(
            method=method.upper(),
            path=split.path,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers=headers,
            body=body,
            peer_ip=self.client_address[0],
        )
        self._send(self.server.app.handle(req), close=not keep_alive, head=method == "HEAD")
        return keep_alive

    def _read_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADERS):
            raw = self.rfile.readline(MAX_LINE)
            if raw in (b"\r\n", b"\n", b""):
                break
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        return headers

    def _read_body(self, headers: dict[str, str]) -> bytes | None:
        if headers.get("expect", "").lower() == "100-continue":
            # curl waits for this before sending bodies over 1 KiB.
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if headers.get("transfer-encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(headers.get("content-length") or 0)
        if length > MAX_BODY:
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks = []
        while True:
            size = int(self.rfile.readline(MAX_LINE).split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(MAX_LINE) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(MAX_LINE)

    def _send(self, resp: Response, close: bool, head: bool = False) -> None:
        reason = HTTPStatus(resp.status).phrase
        lines = [
            f"HTTP/1.1 {resp.status} {reason}",
            f"Content-Type: {resp.content_type}",
            f"Content-Length: {len(resp.body)}",
            "Server: dingtalk-sandbox",
        ]
        lines += [f"{name}: {value}" for name, value in resp.headers]
        if close:
            lines.append("Connection: close")
        head_bytes = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        self.wfile.write(head_bytes if head else head_bytes + resp.body)


def wants_keep_alive(version: str, connection: str) -> bool:
    """HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 only when asked."""
    connection = connection.lower()
    if version == "HTTP/1.1":
        return "close" not in connection
    return "keep-alive" in connection


class _HTTPServer(ThreadingHTTPServer):
    """Tracks open connections so stop() can close idle keep-alive sockets."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: SandboxApp) -> None:
        self.app = app
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut down every open client socket (their threads then exit)."""
        with self.sockets_lock:
            sockets = list(self.open_sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class SandboxServer:
    """The sandbox as an in-process server for tests, the CLI and benchmarks.

    `state` is the live SandboxState; hold `state.lock` while reading it from a test.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        qps: int = 20,
        state_file: str | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.state = SandboxState(qps_default=qps, state_file=state_file)
        self.app = SandboxApp(self.state)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321 (valid once started)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> SandboxServer:
        """Bind and serve in a daemon thread; returns once listening."""
        self._httpd = _HTTPServer((self.host, self.port), self.app)
        self.port = self._httpd.server_address[1]
        self.app.base_url = self.url
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.name = f"dingtalk-sandbox-{self.port}"
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Block until stop() is called from another thread (or KeyboardInterrupt)."""
        if self._thread is None:
            self.start()
        assert self._thread is not None
        while self._thread.is_alive():
            self._thread.join(0.2)

    def stop(self) -> None:
        """Stop serving, drop open connections and flush the state file."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.close_connections()
            self._httpd.server_close()
            self._httpd = None
        self.state.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
