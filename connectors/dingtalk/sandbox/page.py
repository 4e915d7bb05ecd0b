"""GET / : a read-only page of what an admin would check in DingTalk's admin backend.

Corps -> internal apps -> the department tree with each department's direct members, then the
work notifications received. Everything is escaped. Large corps are truncated so the page
stays quick to render.

The page speaks Simplified Chinese or English, chosen by the request's Accept-Language
(zh, zh-CN, zh-Hans and the like: Chinese; anything else: English). The sandbox has no
Django, so its few strings live in :data:`TEXTS`, with DingTalk's own Chinese terms
(部门, 成员, 企业内部应用, 工作通知, 手机号, 应用).
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
# Each language's strings; values are HTML-safe templates filled with escaped values.
TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "html_lang": "en",
        "title": "DingTalk sandbox",
        "intro": "Base URL for oapi, api v1.0 and login: {url}. Read-only; change data "
        "through the DingTalk APIs or {control}.",
        "no_corps": "No corps yet. Start with {demo} or POST /_sandbox/apps.",
        "corp_counts": "{depts} departments · {users} members",
        "apps": "Internal apps",
        "no_apps": "No apps.",
        "app": "App",
        "allowed_ips": "Allowed IPs",
        "any_ip": "any",
        "departments": "Departments and members",
        "dept_line": "dept_id {id} · {members} members",
        "name": "Name",
        "mobile": "Mobile",
        "email": "Email",
        "more": "… and {n} more",
        "truncated": "(tree truncated)",
        "notifications": "Work notifications",
        "sent_at": "Time",
        "app_agent": "App / AgentId",
        "msgtype": "Type",
        "content": "Content",
        "delivered": "Delivered to",
        "not_delivered": "Not delivered",
        "recalled": "recalled",
    },
    "zh": {
        "html_lang": "zh-Hans",
        "title": "钉钉沙箱",
        "intro": "oapi、api v1.0 与登录的基础地址：{url}。本页只读；"
        "请通过钉钉接口或 {control} 修改数据。",
        "no_corps": "还没有企业。用 {demo} 启动，或调用 POST /_sandbox/apps 创建。",
        "corp_counts": "{depts} 个部门 · {users} 名成员",
        "apps": "企业内部应用",
        "no_apps": "没有应用。",
        "app": "应用",
        "allowed_ips": "服务器出口IP",
        "any_ip": "不限",
        "departments": "部门与成员",
        "dept_line": "部门ID {id} · {members} 名成员",
        "name": "姓名",
        "mobile": "手机号",
        "email": "邮箱",
        "more": "…… 另有 {n} 名成员",
        "truncated": "（部门树已截断）",
        "notifications": "工作通知",
        "sent_at": "时间",
        "app_agent": "应用 / AgentId",
        "msgtype": "消息类型",
        "content": "内容",
        "delivered": "已送达",
        "not_delivered": "未送达",
        "recalled": "已撤回",
    },
}
Texts = dict[str, str]


def page_language(accept_language: str) -> str:
    """ "zh" or "en" for an Accept-Language header: the most preferred tag that is Simplified
    Chinese (zh, zh-CN, zh-SG, zh-Hans…) or English decides; English when none is."""
    for tag in _by_preference(accept_language):
        primary, _, region = tag.partition("-")
        if primary == "zh" and region not in ("tw", "hk", "mo", "hant") and "hant" not in tag:
            return "zh"
        if primary in ("en", "*"):
            return "en"
    return "en"


def _by_preference(header: str) -> list[str]:
    """The header's language tags, lower case, highest q first (ties keep their order)."""
    weighted = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            weighted.append((-quality, index, tag.strip().lower()))
    return [tag for _, _, tag in sorted(weighted)]


def render_index(state: SandboxState, base_url: str, lang: str = "en") -> str:
    """The whole page in ``lang`` ("en" or "zh"); call with the state lock held."""
    t = TEXTS.get(lang, TEXTS["en"])
    intro = t["intro"].format(
        url=f"<code>{escape(base_url)}</code>", control="<code>/_sandbox/</code>"
    )
    parts = [
        f"<!doctype html><html lang='{t['html_lang']}'><head><meta charset='utf-8'>",
        f"<title>{t['title']}</title><style>{STYLE}</style></head><body>",
        f"<h1>{t['title']}</h1><p class='muted'>{intro}</p>",
    ]
    if not state.corps:
        parts.append(f"<p>{t['no_corps'].format(demo='<code>--demo</code>')}</p>")
    for corp in state.corps.values():
        apps = [a for a in state.apps.values() if a.corp_id == corp.corp_id]
        messages = [m for m in state.messages.tasks.values() if m.corp_id == corp.corp_id]
        parts.append(render_corp(corp, apps, t) + render_messages(messages, t))
    parts.append("</body></html>")
    return "".join(parts)


def render_corp(corp: Corp, apps: list[App], t: Texts) -> str:
    """One corp: its apps table and department tree."""
    counts = t["corp_counts"].format(depts=len(corp.depts), users=len(corp.users))
    head = (
        f"<h2>{escape(corp.name)} <span class='muted'>CorpId <code>{escape(corp.corp_id)}</code>"
        f" · {counts}</span></h2>"
    )
    return (
        head
        + f"<h3>{t['apps']}</h3>"
        + render_apps(apps, t)
        + f"<h3>{t['departments']}</h3>"
        + render_tree(corp, t)
    )


def render_apps(apps: list[App], t: Texts) -> str:
    """App key, agent id and (for the demo app only) the secret."""
    if not apps:
        return f"<p class='muted'>{t['no_apps']}</p>"
    rows = "".join(
        f"<tr><td>{escape(a.name)}</td><td><code>{escape(a.app_key)}</code></td>"
        f"<td><code>{escape(str(a.agent_id))}</code></td><td>{render_secret(a)}</td>"
        f"<td>{escape(', '.join(a.allowed_ips)) if a.allowed_ips is not None else t['any_ip']}"
        "</td></tr>"
        for a in apps
    )
    return (
        f"<table><tr><th>{t['app']}</th><th>AppKey</th><th>AgentId</th><th>AppSecret</th>"
        f"<th>{t['allowed_ips']}</th></tr>{rows}</table>"
    )


def render_secret(app: App) -> str:
    """The demo app's secret is shown so an admin can copy it; others are masked."""
    if app.app_key == DEMO_APP_KEY:
        return f"<code>{escape(app.app_secret)}</code>"
    return "<span class='muted'>••••" + escape(app.app_secret[-4:]) + "</span>"


def render_tree(corp: Corp, t: Texts) -> str:
    """The department tree, depth first, children in listsub order."""
    out: list[str] = []
    budget = [DEPTS_PER_CORP]

    def walk(dept_id: int) -> None:
        if budget[0] <= 0:
            return
        budget[0] -= 1
        out.append(f"<li>{render_dept(corp, dept_id, t)}<ul>")
        for child in corp.child_ids(dept_id):
            walk(child)
        out.append("</ul></li>")

    walk(ROOT_DEPT_ID)
    more = "" if budget[0] > 0 else f"<p class='muted'>{t['truncated']}</p>"
    return "<ul>" + "".join(out) + "</ul>" + more


def render_dept(corp: Corp, dept_id: int, t: Texts) -> str:
    """A department line and its direct members."""
    dept = corp.depts[dept_id]
    keys = corp.members[dept_id]
    line = t["dept_line"].format(id=dept_id, members=len(keys))
    lines = [f"<span class='dept'>{escape(dept.name)}</span> <span class='muted'>{line}</span>"]
    rows = []
    for key in keys[:USERS_PER_DEPT]:
        user = corp.users[key[2]]
        rows.append(
            f"<tr><td>{escape(user.name)}</td><td><code>{escape(user.userid)}</code></td>"
            f"<td>{escape(user.mobile)}</td><td>{escape(user.email)}</td></tr>"
        )
    if rows:
        lines.append(
            f"<table><tr><th>{t['name']}</th><th>userid</th><th>{t['mobile']}</th>"
            f"<th>{t['email']}</th></tr>" + "".join(rows) + "</table>"
        )
    if len(keys) > USERS_PER_DEPT:
        lines.append(f"<p class='muted'>{t['more'].format(n=len(keys) - USERS_PER_DEPT)}</p>")
    return "".join(lines)


def render_messages(messages: list[Message], t: Texts) -> str:
    """The corp's latest work notifications, newest first, with what each recipient got."""
    if not messages:
        return ""
    rows = "".join(render_message(m, t) for m in reversed(messages[-MESSAGES_PER_CORP:]))
    return (
        f"<h3>{t['notifications']}</h3><table><tr><th>{t['sent_at']}</th>"
        f"<th>{t['app_agent']}</th><th>{t['msgtype']}</th><th>{t['content']}</th>"
        f"<th>{t['delivered']}</th><th>{t['not_delivered']}</th><th>task_id</th></tr>"
        f"{rows}</table>"
    )


def render_message(m: Message, t: Texts) -> str:
    """One row: when, from which app, what, and who got it."""
    sent = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(m.sent_ms / 1000))
    missed = m.dropped + m.invalid_userids + m.forbidden_userids
    recalled = f" ({t['recalled']})" if m.recalled else ""
    return (
        f"<tr><td>{sent}</td><td><code>{escape(m.app_key)}</code> / <code>{m.agent_id}</code>"
        f"</td><td>{escape(m.msgtype)}</td><td>{escape(m.summary())}</td>"
        f"<td>{escape(', '.join(m.delivered))}</td><td>{escape(', '.join(missed))}</td>"
        f"<td><code>{m.task_id}</code>{recalled}</td></tr>"
    )
