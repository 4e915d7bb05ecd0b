"""Work notifications (工作通知): /topapi/message/corpconversation/* (dingtalk-api.md §11).

A send is delivered at once (progress is 100 % done on the first look) and recorded with its
recipients, so tests and the sandbox page can show what an admin would have received.
Choices where §11 says UNCONFIRMED:

* A bad ``agent_id`` (not a number, or not the calling app's AgentId) gives 40056
  不合法的agentid and a missing one 41011 缺少agentid: the codes DingTalk's old global error
  table gives for these (as copied into third-party error tables); §11 only says "a 40xxx code
  naming agentid".
* An unknown or foreign ``task_id`` (getsendprogress, getsendresult, recall) gives 40035
  不合法的参数, the sandbox's code for a parameter that names nothing.
* The app's visible range is its address-book scope (``auth_dept_ids``): a known user outside
  it lands in ``forbidden_user_id_list``; an unknown userid in ``invalid_user_id_list``.
* Once a day: the same message (same msgtype and content, compared exactly) from the same app
  to the same user on the same Beijing calendar day is dropped without an error. A dropped
  recipient appears in no list of the send result (DingTalk does not report it either, as far
  as anyone wrote down) and is recorded as ``dropped``, never as delivered.
* No recipient ever fails (``failed_user_id_list`` stays empty) and nothing is read until a
  test says so; at most 5,000 recipients per call (the newer documented number).
* Messages live in memory only, like call counters: a restart forgets them.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .errors import ApiError, invalid, missing
from .gateway import Call
from .limits import beijing_day
from .model import Corp, now_ms
from .outbox import Message
from .parsing import Params, to_int
from .state import App

# Required keys of each documented msgtype (§11). Other DingTalk types (image, file, voice,
# oa) are accepted without a shape check.
MSG_FIELDS: dict[str, tuple[str, ...]] = {
    "text": ("content",),
    "markdown": ("title", "text"),
    "link": ("messageUrl", "title", "text"),
    "action_card": ("title", "markdown"),
}
OTHER_TYPES = ("image", "file", "voice", "oa")
MAX_RECIPIENTS = 5000
BAD_AGENT = (40056, "不合法的agentid")
NO_AGENT = (41011, "缺少agentid")


# -- validation ---------------------------------------------------------------------------------


def require_agent(app: App, p: Params) -> int:
    """The ``agent_id`` of the call, which must be the calling app's (see module docstring)."""
    raw = p.data.get("agent_id")
    if raw is None or raw == "":
        raise ApiError(*NO_AGENT)
    agent_id = to_int(raw)
    if agent_id is None or agent_id != to_int(app.agent_id):
        raise ApiError(*BAD_AGENT)
    return agent_id


def read_msg(p: Params) -> tuple[str, dict[str, Any]]:
    """``msg``, as an object or a JSON string: its msgtype and its type-specific content."""
    msg = p.obj("msg")
    if msg is None:
        raise missing("msg")
    msgtype = msg.get("msgtype")
    if msgtype not in MSG_FIELDS and msgtype not in OTHER_TYPES:
        raise invalid("msg.msgtype")
    content = Params(msg).obj(msgtype)  # an object, or a JSON string of one
    if content is None:
        raise invalid(f"msg.{msgtype}")
    for key in MSG_FIELDS.get(msgtype, ()):
        if not isinstance(content.get(key), str) or not content[key].strip():
            raise invalid(f"msg.{msgtype}.{key}")
    return msgtype, content


def require_task(call: Call, name: str = "task_id") -> Message:
    """The calling app's message with this task id (40035 otherwise)."""
    assert call.app is not None
    require_agent(call.app, call.params)
    task_id = call.params.integer(name, required=True)
    message = call.state.messages.tasks.get(task_id or 0)
    if message is None or message.app_key != call.app.app_key:
        raise invalid(name)
    return message


# -- recipients ---------------------------------------------------------------------------------


def visible(corp: Corp, app: App, userid: str) -> bool:
    """Whether the user is inside the app's visible range (its address-book scope)."""
    user = corp.users[userid]
    return any(corp.in_scope(d, app.auth_dept_ids) for d in user.dept_ids)


def resolve(corp: Corp, app: App, message: Message) -> list[str]:
    """Sort the addressed users into invalid / forbidden / candidates (in order, unique)."""
    candidates: list[str] = []
    for userid in message.userids:
        if userid not in corp.users:
            message.invalid_userids.append(userid)
        elif not visible(corp, app, userid):
            message.forbidden_userids.append(userid)
        else:
            candidates.append(userid)
    for dept_id in message.dept_ids:
        if dept_id not in corp.depts or not corp.in_scope(dept_id, app.auth_dept_ids):
            message.invalid_dept_ids.append(dept_id)
            continue
        candidates += [key[2] for d in corp.subtree_ids(dept_id) for key in corp.members[d]]
    if message.to_all_user:
        candidates += [u for u in corp.users if visible(corp, app, u)]
    return list(dict.fromkeys(candidates))


def deliver(call: Call, message: Message, candidates: list[str]) -> None:
    """Deliver to each candidate, unless the once-a-day rule drops the message for them."""
    digest = hashlib.sha256(
        json.dumps([message.msgtype, message.content], sort_keys=True).encode()
    ).hexdigest()
    day, book = beijing_day(message.sent_ms / 1000), call.state.messages
    for userid in candidates:
        first = book.first_today(message.app_key, userid, digest, day)
        (message.delivered if first else message.dropped).append(userid)


# -- handlers -----------------------------------------------------------------------------------


def asyncsend_v2(call: Call) -> dict[str, Any]:
    """POST /topapi/message/corpconversation/asyncsend_v2 -> task_id (§11)."""
    app, p = call.app, call.params
    assert app is not None
    agent_id = require_agent(app, p)
    userids = p.str_list("userid_list") or []
    dept_ids = p.int_list("dept_id_list") or []
    to_all = bool(p.boolean("to_all_user"))
    if not (userids or dept_ids or to_all):
        raise missing("userid_list")
    if len(userids) > MAX_RECIPIENTS:
        raise invalid("userid_list")
    msgtype, content = read_msg(p)
    book = call.state.messages
    message = Message(
        book.new_task_id(), app.corp_id, app.app_key, agent_id, msgtype, content, now_ms(),
        list(dict.fromkeys(userids)), list(dict.fromkeys(dept_ids)), to_all,
    )  # fmt: skip
    deliver(call, message, resolve(call.corp, app, message))
    book.add(message)
    return {"task_id": message.task_id}


def getsendprogress(call: Call) -> dict[str, Any]:
    """POST …/getsendprogress: delivery is immediate, so always 100 % and status 2 (done)."""
    require_task(call)
    return {"progress": {"progress_in_percent": 100, "status": 2}}


def getsendresult(call: Call) -> dict[str, Any]:
    """POST …/getsendresult -> send_result with the six lists."""
    return {"send_result": require_task(call).send_result()}


def recall(call: Call) -> dict[str, Any]:
    """POST …/recall {agent_id, msg_task_id}: the message is marked recalled."""
    require_task(call, "msg_task_id").recalled = True
    return {}
