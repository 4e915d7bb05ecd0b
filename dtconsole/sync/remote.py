"""Read DingTalk's side of a sync: the departments under each target and their members."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError

from connectors.dingtalk.client import DingTalkClient
from connectors.dingtalk.types import Department, User
from dtconsole.directory.validators import normalize_mobile


@dataclass
class RemoteState:
    """What DingTalk holds under the provider's target departments, read live."""

    depts: dict[int, Department] = field(default_factory=dict)
    children: dict[int, list[int]] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)  # userid -> user (from member lists)
    reads: int = 0

    def child_named(self, parent_id: int, name: str) -> Department | None:
        for dept_id in self.children.get(parent_id, ()):
            if self.depts[dept_id].name == name:
                return self.depts[dept_id]
        return None

    def user_by(self, key: str, value: str) -> User | None:
        """A listed user whose ``key`` (userid, mobile, email, job_number) equals ``value``."""
        if not value:
            return None
        if key == "userid":
            return self.users.get(value)
        index = self._indexes.setdefault(key, _index(self.users.values(), key))
        return index.get(normal_value(key, value))

    _indexes: dict[str, dict[str, User]] = field(default_factory=dict, repr=False)


def normal_value(key: str, value: Any) -> str:
    """A unique value as DingTalk compares it: emails ignore case, and a mobile in any
    spelling is the directory's normal form (``+86-139…`` and ``139…`` are one number)."""
    value = str(value or "").strip()
    if key == "email":
        return value.lower()
    if key == "mobile" and value:
        try:
            return normalize_mobile(value)
        except ValidationError:
            return value  # not a number the directory would store: compare as written
    return value


def _index(users, key: str) -> dict[str, User]:
    out: dict[str, User] = {}
    for user in users:
        value = user.raw.get(key)
        if value:
            out.setdefault(normal_value(key, value), user)
    return out


def read_remote(
    client: DingTalkClient, target_ids: list[int], on_progress: Callable[[], None] | None = None
) -> RemoteState:
    """Walk each target department's subtree (listsub, one level per call) and list each
    department's members (100 a page). Targets must exist: department_get raises NotFound.
    ``on_progress`` is called after each department (the job's heartbeat)."""
    state = RemoteState()
    for target in target_ids:
        if target in state.depts:
            continue
        state.depts[target] = client.department_get(target)
        state.reads += 1
        queue = [target]
        while queue:
            dept_id = queue.pop()
            subs = client.department_listsub(dept_id)
            state.reads += 1
            state.children[dept_id] = [d.dept_id for d in subs]
            for dept in subs:
                state.depts[dept.dept_id] = dept
                queue.append(dept.dept_id)
            _read_members(client, state, dept_id)
            if on_progress is not None:
                on_progress()
    return state


def _read_members(client: DingTalkClient, state: RemoteState, dept_id: int) -> None:
    cursor: int | None = 0
    while cursor is not None:
        page = client.user_list(dept_id, cursor=cursor, size=100)
        state.reads += 1
        for user in page.users:
            known = state.users.get(user.userid)
            # A user in several departments appears in each list; keep one, with every dept.
            if known is None or len(user.dept_id_list) > len(known.dept_id_list):
                state.users[user.userid] = user
        cursor = page.next_cursor if page.has_more else None
