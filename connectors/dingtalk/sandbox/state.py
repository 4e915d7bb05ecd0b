"""The sandbox's whole state behind one lock: config, apps, corps, tokens, counters, faults,
work notifications and the monthly quota.

Handlers run with `state.lock` held, so each request sees and leaves a consistent state.
With a state file, corps, apps and id counters survive restarts; tokens, login codes, call
counters, faults, messages and quota usage do not (a restart revokes tokens, which a client
must handle anyway).
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from .faults import FaultBook
from .limits import IpLimiter, MonthlyQuota, SlidingWindow
from .model import ROOT_DEPT_ID, Corp
from .outbox import MessageBook

# dingtalk-api.md §6 table: every address-book scope, granted by default to control-API apps.
DEFAULT_SCOPES = (
    "qyapi_base",
    "qyapi_manage_addresslist",
    "qyapi_get_department_list",
    "qyapi_get_member",
    "qyapi_get_department_member",
    "qyapi_get_member_by_mobile",
    "qyapi_addresslist_search",
    "Contact.User.Read",
    "Contact.User.mobile",
    "open_app_api_base",
)
FIELD_PERMISSIONS = ("mobile", "email")
STATE_VERSION = 1
# The state file keeps only the latest events of each corp; they are a test aid, not data.
EVENTS_IN_FILE = 10_000


@dataclass
class Config:
    """Server-wide knobs, changed through POST /_sandbox/config."""

    qps_default: int = 20
    duplicate_dept_errcode: int = 60008
    delete_dept_with_children: str = "refuse"
    global_qps: int | None = None
    ip_limit: dict[str, Any] | None = None
    trust_forwarded_for: bool = True
    token_lifetime: int = 7200
    # Calls per corp per month to APIs outside the quota exemption (§5, standard edition).
    monthly_quota: int = 5000

    def to_dict(self) -> dict[str, Any]:
        """JSON view of the config."""
        return dict(self.__dict__)


@dataclass
class App:
    """A DingTalk internal app (AppKey/AppSecret) bound to one corp."""

    corp_id: str
    app_key: str
    app_secret: str
    agent_id: Any
    name: str = ""
    scopes: frozenset[str] = frozenset(DEFAULT_SCOPES)
    allowed_ips: list[str] | None = None
    qps: int | None = None
    auth_dept_ids: frozenset[int] = frozenset({ROOT_DEPT_ID})
    field_permissions: frozenset[str] = frozenset(FIELD_PERMISSIONS)
    networks: tuple[Any, ...] = field(default=(), repr=False)

    def ip_allowed(self, ip: str) -> bool:
        """True without an allow-list, or when `ip` is listed (single IPs or CIDR blocks)."""
        if self.allowed_ips is None or ip in self.allowed_ips:
            return True
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(address in net for net in self.networks)

    def to_dict(self) -> dict[str, Any]:
        """JSON view, secret included (it is a sandbox)."""
        return {
            "corp_id": self.corp_id,
            "app_key": self.app_key,
            "app_secret": self.app_secret,
            "agent_id": self.agent_id,
            "name": self.name,
            "scopes": sorted(self.scopes),
            "allowed_ips": self.allowed_ips,
            "qps": self.qps,
            "auth_dept_ids": sorted(self.auth_dept_ids),
            "field_permissions": sorted(self.field_permissions),
        }


@dataclass
class Grant:
    """An issued token: an app token (userid empty) or a user token from web login."""

    app_key: str
    expires_at: float
    corp_id: str = ""
    userid: str = ""


def new_token() -> str:
    """32 lower-case hex characters, the observed DingTalk format (§1.1)."""
    return secrets.token_hex(16)


class SandboxState:
    """Everything the sandbox knows. Use `with state.lock:` around reads and writes."""

    def __init__(self, qps_default: int = 20, state_file: str | None = None) -> None:
        self.lock = threading.RLock()
        self.config = Config(qps_default=qps_default)
        self.state_file = state_file
        self.faults = FaultBook()
        self.app_window = SlidingWindow()
        self.global_window = SlidingWindow()
        self.ip_limiter = IpLimiter()
        self.quota = MonthlyQuota()
        self.calls: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._wipe()
        self._writer: StateWriter | None = None
        if state_file:
            self._writer = StateWriter(self, state_file)
            if os.path.exists(state_file):
                with open(state_file, encoding="utf-8") as fh:
                    self.load(json.load(fh))

    def _wipe(self) -> None:
        self.corps: dict[str, Corp] = {}
        self.apps: dict[str, App] = {}
        self.app_tokens: dict[str, Grant] = {}
        self.current_token: dict[str, str] = {}
        self.user_tokens: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, Grant] = {}
        self.login_codes: dict[str, Grant] = {}
        self.messages = MessageBook()
        # Dept ids are Longs like 432825033 in real responses; start in that range.
        self.next_dept_id = 432_825_000
        self.next_seq = 1

    def reset(self) -> None:
        """Forget all data (corps, apps, tokens, counters, faults, messages, quota usage);
        keep the server config."""
        self._wipe()
        self.calls.clear()
        self.faults.clear()
        self.app_window.clear()
        self.global_window.clear()
        self.ip_limiter.clear()
        self.quota.clear()
        self.changed()

    # -- ids -----------------------------------------------------------------------------------

    def new_dept_id(self) -> int:
        """A fresh department id; steps vary so clients cannot rely on ids being consecutive."""
        self.next_dept_id += 1 + secrets.randbelow(7)
        return self.next_dept_id

    def new_seq(self) -> int:
        """A fresh creation sequence number for users."""
        self.next_seq += 1
        return self.next_seq

    # -- corps and apps ------------------------------------------------------------------------

    def ensure_corp(self, corp_id: str, name: str | None = None) -> Corp:
        """The corp, created with its root department on first use; `name` renames it."""
        corp = self.corps.get(corp_id)
        if corp is None:
            corp = self.corps[corp_id] = Corp(corp_id, name or corp_id)
        elif name and name != corp.name:
            corp.name = corp.depts[ROOT_DEPT_ID].name = name
        return corp

    def put_app(self, app: App) -> App:
        """Create or replace an app (keyed by app_key); its corp must exist."""
        if app.allowed_ips is not None:
            nets = []
            for entry in app.allowed_ips:
                try:
                    nets.append(ipaddress.ip_network(entry, strict=False))
                except ValueError:
                    continue
            app.networks = tuple(nets)
        self.apps[app.app_key] = app
        self.changed()
        return app

    # -- tokens --------------------------------------------------------------------------------

    def issue_app_token(self, app: App) -> tuple[str, int]:
        """The app's token: the same one, renewed, while it lives (§1.1); else a new one."""
        now, lifetime = time.time(), self.config.token_lifetime
        token = self.current_token.get(app.app_key)
        grant = self.app_tokens.get(token) if token else None
        if grant is None or grant.expires_at <= now:
            if token:
                self.app_tokens.pop(token, None)
            token = new_token()
            grant = self.app_tokens[token] = Grant(app.app_key, 0.0, app.corp_id)
            self.current_token[app.app_key] = token
        grant.expires_at = now + lifetime
        return token, lifetime

    def app_for_token(self, token: str) -> App | None:
        """The app owning a live app token."""
        grant = self.app_tokens.get(token)
        if grant is None or grant.expires_at <= time.time():
            return None
        return self.apps.get(grant.app_key)

    def user_grant(self, token: str) -> Grant | None:
        """The live user token from web login, if `token` is one."""
        grant = self.user_tokens.get(token)
        if grant is None or grant.expires_at <= time.time():
            return None
        return grant

    def issue_user_token(self, app: App, corp_id: str, userid: str) -> dict[str, Any]:
        """A user access token plus a 30-day refresh token (§7.2)."""
        lifetime = self.config.token_lifetime
        access, refresh = new_token(), new_token()
        self.user_tokens[access] = Grant(app.app_key, time.time() + lifetime, corp_id, userid)
        self.refresh_tokens[refresh] = Grant(app.app_key, time.time() + 30 * 86400, corp_id, userid)
        return {
            "accessToken": access,
            "refreshToken": refresh,
            "expireIn": lifetime,
            "corpId": corp_id,
        }

    def expire_tokens(self, app_key: str | None = None) -> int:
        """Expire live app and user tokens now (all apps, or one). Returns how many."""
        count = 0
        for table in (self.app_tokens, self.user_tokens):
            for grant in table.values():
                if (app_key is None or grant.app_key == app_key) and grant.expires_at > 0:
                    grant.expires_at, count = 0.0, count + 1
        return count

    # -- call counters -------------------------------------------------------------------------

    def count_call(self, app_key: str, path: str) -> None:
        """Count one DingTalk API call (refused ones included)."""
        self.calls[app_key][path] += 1

    # -- persistence ---------------------------------------------------------------------------

    def changed(self) -> None:
        """Note a mutation; with a state file, a background writer saves it shortly after."""
        if self._writer is not None:
            self._writer.mark_dirty()

    def snapshot(self) -> dict[str, Any]:
        """The whole persistent state as JSON-ready data (secrets included)."""
        return thaw(self.freeze())

    def freeze(self, events: int | None = None) -> dict[str, Any]:
        """The lock-held, cheap half of a snapshot (see Corp.freeze)."""
        return {
            "version": STATE_VERSION,
            "next_dept_id": self.next_dept_id,
            "next_seq": self.next_seq,
            "apps": [app.to_dict() for app in self.apps.values()],
            "corps": [corp.freeze(events) for corp in self.corps.values()],
        }

    def load(self, data: dict[str, Any]) -> None:
        """Replace corps and apps with a snapshot's."""
        self._wipe()
        self.next_dept_id = int(data.get("next_dept_id", self.next_dept_id))
        self.next_seq = int(data.get("next_seq", self.next_seq))
        for item in data.get("corps", []):
            corp = Corp.from_dict(item)
            self.corps[corp.corp_id] = corp
        for item in data.get("apps", []):
            self.put_app(app_from_dict(item))

    def flush(self) -> None:
        """Write the state file now (no-op without one)."""
        if self._writer is not None:
            self._writer.write_now()

    def close(self) -> None:
        """Flush and stop the background writer."""
        if self._writer is not None:
            self._writer.stop()


def thaw(frozen: dict[str, Any]) -> dict[str, Any]:
    """Finish a frozen snapshot into JSON-ready data."""
    return {**frozen, "corps": [Corp.thaw(corp) for corp in frozen["corps"]]}


def app_from_dict(data: dict[str, Any]) -> App:
    """Build an App from control-API or state-file data (validated by the caller)."""
    qps = data.get("qps")
    return App(
        corp_id=str(data["corp_id"]),
        app_key=str(data["app_key"]),
        app_secret=str(data["app_secret"]),
        agent_id=data["agent_id"],
        name=str(data.get("name") or ""),
        scopes=frozenset(data.get("scopes") or DEFAULT_SCOPES),
        allowed_ips=None if data.get("allowed_ips") is None else list(data["allowed_ips"]),
        qps=None if qps is None else int(qps),
        auth_dept_ids=frozenset(int(d) for d in (data.get("auth_dept_ids") or [ROOT_DEPT_ID])),
        field_permissions=frozenset(
            FIELD_PERMISSIONS
            if data.get("field_permissions") is None
            else data["field_permissions"]
        ),
    )


class StateWriter:
    """Saves the state file after mutations, atomically (temp file + rename).

    Writes are coalesced: a burst of mutating requests costs one write shortly after it
    instead of one full dump per request, which would make a 100,000-user sync quadratic.
    The pause between writes grows with the time a write takes. Only the cheap half of the
    snapshot runs under the state lock; the rest runs beside request threads. A write that
    races a mutation may be slightly stale, but the mutation marks the state dirty again, so
    the file converges. `stop()` and `write_now()` flush synchronously.
    """

    def __init__(self, state: SandboxState, path: str, interval: float = 0.2) -> None:
        self.state, self.path, self.interval = state, path, interval
        self.last_duration = 0.0
        self._dirty = threading.Event()
        self._stopping = False
        self._io = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="sandbox-state", daemon=True)
        self._thread.start()

    def mark_dirty(self) -> None:
        """Ask for a write soon."""
        self._dirty.set()

    def _run(self) -> None:
        while not self._stopping:
            self._dirty.wait()
            if self._stopping:
                break
            time.sleep(max(self.interval, 2 * self.last_duration))
            self.write_now()

    def write_now(self) -> None:
        """Dump the state to a temp file and rename it over the state file."""
        with self._io:
            self._dirty.clear()
            started = time.monotonic()
            with self.state.lock:
                frozen = self.state.freeze(events=EVENTS_IN_FILE)
            try:
                data = thaw(frozen)
            except RuntimeError:  # a container changed while copied; try again soon
                self._dirty.set()
                return
            tmp = f"{self.path}.tmp{os.getpid()}"
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(data, fh, ensure_ascii=False)
            os.replace(tmp, self.path)
            self.last_duration = time.monotonic() - started

    def stop(self) -> None:
        """Final flush, then end the thread."""
        self._stopping = True
        self._dirty.set()
        self._thread.join(timeout=5)
        self.write_now()
