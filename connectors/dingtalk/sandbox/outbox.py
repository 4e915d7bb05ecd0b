"""The work notifications the sandbox received (dingtalk-api.md §11): data only, no HTTP.

The handlers are in :mod:`.messages`; this module is imported by the state, so it depends on
nothing else in the sandbox.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

# Bound memory during long benchmarks: the oldest messages are forgotten first.
MESSAGES_KEPT = 10_000


@dataclass
class Message:
    """One accepted asyncsend_v2 call and what became of each recipient."""

    task_id: int
    corp_id: str
    app_key: str
    agent_id: int
    msgtype: str
    content: dict[str, Any]
    sent_ms: int
    userids: list[str]
    dept_ids: list[int]
    to_all_user: bool
    delivered: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    invalid_userids: list[str] = field(default_factory=list)
    forbidden_userids: list[str] = field(default_factory=list)
    invalid_dept_ids: list[int] = field(default_factory=list)
    read: list[str] = field(default_factory=list)
    recalled: bool = False

    def summary(self) -> str:
        """One line of readable text: the title and/or text of the message."""
        parts = [self.content.get(k) for k in ("title", "content", "text", "markdown")]
        return " · ".join(str(p) for p in parts if p)

    def to_dict(self) -> dict[str, Any]:
        """What the control API and /_sandbox/state show."""
        data = dict(self.__dict__)
        data["summary"] = self.summary()
        return data

    def send_result(self) -> dict[str, Any]:
        """getsendresult's ``send_result``."""
        return {
            "invalid_user_id_list": list(self.invalid_userids),
            "forbidden_user_id_list": list(self.forbidden_userids),
            "failed_user_id_list": [],
            "read_user_id_list": list(self.read),
            "unread_user_id_list": [u for u in self.delivered if u not in self.read],
            "invalid_dept_id_list": list(self.invalid_dept_ids),
        }


class MessageBook:
    """Every recorded message, by task id, plus what the once-a-day rule has seen today."""

    def __init__(self) -> None:
        self.tasks: OrderedDict[int, Message] = OrderedDict()
        # Task ids are large numbers in real responses; start in that range.
        self.next_task_id = 256_271_000_000
        self._day = ""
        self._seen: set[tuple[str, str, str]] = set()

    def new_task_id(self) -> int:
        """A fresh task id; steps vary so clients cannot rely on them being consecutive."""
        self.next_task_id += 1 + secrets.randbelow(97)
        return self.next_task_id

    def first_today(self, app_key: str, userid: str, digest: str, day: str) -> bool:
        """Whether this app sends this content to this user for the first time on ``day``
        (and remember that it did)."""
        if day != self._day:
            self._day, self._seen = day, set()
        key = (app_key, userid, digest)
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def add(self, message: Message) -> None:
        """Record a message, forgetting the oldest beyond MESSAGES_KEPT."""
        self.tasks[message.task_id] = message
        while len(self.tasks) > MESSAGES_KEPT:
            self.tasks.popitem(last=False)

    def clear(self) -> None:
        """Forget every message and what the once-a-day rule saw."""
        self.tasks.clear()
        self._day, self._seen = "", set()
