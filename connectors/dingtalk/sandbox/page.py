"""GET / : a read-only page of what an admin would check in DingTalk's admin backend.

Corps -> apps -> the department tree with each department's direct members. Everything is
escaped. Large corps are truncated so the page stays quick to render.
"""

from __future__ import annotations

import time
from html import escape

from .cli import DEMO_APP_KEY
from .model import ROOT_DEPT_ID, Corp
from .outbox import Message
from .state import App, SandboxState

USERS_PER_DEPT = 50
DEPTS_PER_CORP = 500
MESSAGES_PER_CORP = 50
STYLE = (
    "body{font:14px/1.5 system-ui,sans-serif;margin:1.5rem;color:#1f2329}"
    "h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem}table{border-collapse:collapse}"
    "td,th{border:1px solid #e5e6eb;padding:.2rem .5rem;text-align:left}"
    "ul{list-style:none;padding-left:1.2rem}code{background:#f2f3f5;padding:0 .2rem}"
    ".muted{color:#646a73}.dept{font-weight:600}"
)


def render_index(state: SandboxState, base_url: str) -> str:
    """The whole page; call with the state lock held."""
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>DingTalk sandbox</title><style>{STYLE}</style></head><body>",
        "<h1>DingTalk sandbox</h1>",
        f"<p class='muted'>Base URL for oapi, api v1.0 and login: <code>{escape(base_url)}</code>. "
        "Read-only; change data through the DingTalk APIs or <code>/_sandbox/</code>.</p>",
    ]
    if not state.corps:
        parts.append("<p>No corps yet. Start with <code>--demo</code> or POST /_sandbox/apps.</p>")
    for corp in state.corps.values():
        apps = [a for a in state.apps.values() if a.corp_id == corp.corp_id]
        messages = [m for m in state.messages.tasks.values() if m.corp_id == corp.corp_id]
        parts.append(render_corp(corp, apps) + render_messages(messages))
    parts.append("</body></html>")
    return "".join(parts)


def render_corp(corp: Corp, apps: list[App]) -> str:
    """One corp: its apps table and department tree."""
    head = (
        f"<h2>{escape(corp.name)} <span class='muted'>CorpId <code>{escape(corp.corp_id)}</code>"
        f" · {len(corp.depts)} departments · {len(corp.users)} users</span></h2>"
    )
    return head + render_apps(apps) + render_tree(corp)


def render_apps(apps: list[App]) -> str:
    """App key, agent id and (for the demo app only) the secret."""
    if not apps:
        return "<p class='muted'>No apps.</p>"
    rows = "".join(
        f"<tr><td>{escape(a.name)}</td><td><code>{escape(a.app_key)}</code></td>"
        f"<td><code>{escape(str(a.agent_id))}</code></td><td>{render_secret(a)}</td>"
        f"<td>{escape(', '.join(a.allowed_ips) if a.allowed_ips is not None else 'any')}</td></tr>"
        for a in apps
    )
    return (
        "<table><tr><th>App</th><th>AppKey</th><th>AgentId</th><th>AppSecret</th>"
        f"<th>Allowed IPs</th></tr>{rows}</table>"
    )


def render_secret(app: App) -> str:
    """The demo app's secret is shown so an admin can copy it; others are masked."""
    if app.app_key == DEMO_APP_KEY:
        return f"<code>{escape(app.app_secret)}</code>"
    return "<span class='muted'>••••" + escape(app.app_secret[-4:]) + "</span>"


def render_tree(corp: Corp) -> str:
    """The department tree, depth first, children in listsub order."""
    out: list[str] = []
    budget = [DEPTS_PER_CORP]

    def walk(dept_id: int) -> None:
        if budget[0] <= 0:
            return
        budget[0] -= 1
        out.append(f"<li>{render_dept(corp, dept_id)}<ul>")
        for child in corp.child_ids(dept_id):
            walk(child)
        out.append("</ul></li>")

    walk(ROOT_DEPT_ID)
    more = "" if budget[0] > 0 else "<p class='muted'>(tree truncated)</p>"
    return "<ul>" + "".join(out) + "</ul>" + more


def render_dept(corp: Corp, dept_id: int) -> str:
    """A department line and its direct members."""
    dept = corp.depts[dept_id]
    keys = corp.members[dept_id]
    lines = [
        f"<span class='dept'>{escape(dept.name)}</span> <span class='muted'>dept_id {dept_id}"
        f" · {len(keys)} members</span>"
    ]
    rows = []
    for key in keys[:USERS_PER_DEPT]:
        user = corp.users[key[2]]
        rows.append(
            f"<tr><td>{escape(user.name)}</td><td><code>{escape(user.userid)}</code></td>"
            f"<td>{escape(user.mobile)}</td><td>{escape(user.email)}</td></tr>"
        )
    if rows:
        lines.append(
            "<table><tr><th>Name</th><th>userid</th><th>Mobile</th><th>Email</th></tr>"
            + "".join(rows)
            + "</table>"
        )
    if len(keys) > USERS_PER_DEPT:
        lines.append(f"<p class='muted'>… and {len(keys) - USERS_PER_DEPT} more</p>")
    return "".join(lines)


def render_messages(messages: list[Message]) -> str:
    """The corp's latest work notifications, newest first, with what each recipient got."""
    if not messages:
        return ""
    rows = "".join(
        f"<tr><td>{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(m.sent_ms / 1000))}</td>"
        f"<td><code>{escape(m.app_key)}</code> / <code>{m.agent_id}</code></td>"
        f"<td>{escape(m.msgtype)}</td><td>{escape(m.summary())}</td>"
        f"<td>{escape(', '.join(m.delivered))}</td>"
        f"<td>{escape(', '.join(m.dropped + m.invalid_userids + m.forbidden_userids))}</td>"
        f"<td><code>{m.task_id}</code>{' (recalled)' if m.recalled else ''}</td></tr>"
        for m in reversed(messages[-MESSAGES_PER_CORP:])
    )
    return (
        "<h3>Work notifications</h3><table><tr><th>Time</th><th>App / AgentId</th>"
        "<th>Type</th><th>Content</th><th>Delivered to</th><th>Not delivered</th>"
        f"<th>task_id</th></tr>{rows}</table>"
    )
