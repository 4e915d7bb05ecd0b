"""One organisation's address book: departments, users, and the indexes that keep requests cheap.

Everything here is structural (no DingTalk error codes): handlers validate, then call these
methods. The indexes exist so that a corp with 100,000 users answers lookups by mobile, email,
telephone or unionid in O(1) and pages a department's members in O(page size).
"""

from __future__ import annotations

import bisect
import functools
import re
import time
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any

import phonenumbers

ROOT_DEPT_ID = 1
# Bound the event log so a long benchmark cannot grow memory without limit.
EVENT_LIMIT = 200_000
MAINLAND_MOBILE = re.compile(r"1[3-9]\d{9}")
INTL_MOBILE = re.compile(r"\+(\d{1,4})-(\d{1,17})")
UNIQUE_FIELDS = ("mobile", "email", "telephone", "unionid")


def split_mobile(raw: str) -> tuple[str, str] | None:
    """(state_code, national number) for "13800000000", "+86-13800000000" or "+852-51234567";
    None when DingTalk would refuse the number (60103, §3.1).

    Mainland numbers are 11 digits starting 1[3-9], bare or as +86-…. Other numbers are
    +<country calling code>-<digits>: the code must be a real one and the length plausible
    for it (phonenumbers' "possible number" check: the length, not whether the range is
    allocated, which DingTalk cannot know either).
    """
    raw = raw.strip()
    if MAINLAND_MOBILE.fullmatch(raw):
        return "86", raw
    match = INTL_MOBILE.fullmatch(raw)
    if not match:
        return None
    code, number = match.groups()
    if code == "86":
        return (code, number) if MAINLAND_MOBILE.fullmatch(number) else None
    return (code, number) if possible_number(code, number) else None


@functools.lru_cache(maxsize=65536)
def possible_number(code: str, number: str) -> bool:
    """Whether +code number has a real country calling code and a plausible length."""
    try:
        parsed = phonenumbers.parse(f"+{code}{number}")
    except phonenumbers.NumberParseException:
        return False
    # Calling codes are prefix-free, so the parse splits code and number where we did.
    return parsed.country_code == int(code) and phonenumbers.is_possible_number(parsed)


def unique_key(name: str, value: str) -> str:
    """The index key of a unique field: "+86-138…" and "138…" are the same mobile, and email
    uniqueness ignores case (UNCONFIRMED; DingTalk does not say)."""
    if name == "mobile":
        parts = split_mobile(value)
        return f"{parts[0]}-{parts[1]}" if parts else value
    if name == "email":
        return value.strip().lower()
    return value.strip()


def now_ms() -> int:
    """Wall-clock milliseconds, the unit of DingTalk timestamps."""
    return int(time.time() * 1000)


@dataclass(slots=True)
class Department:
    """A department; field names are those of /topapi/v2/department/get."""

    dept_id: int
    name: str
    parent_id: int  # 0 for the root; never rendered for it
    order: int = 0
    source_identifier: str = ""
    hide_dept: bool = False
    dept_permits: list[int] = field(default_factory=list)
    user_permits: list[str] = field(default_factory=list)
    outer_dept: bool = False
    outer_dept_only_self: bool = False
    outer_permit_depts: list[int] = field(default_factory=list)
    outer_permit_users: list[str] = field(default_factory=list)
    create_dept_group: bool = False
    auto_add_user: bool = False
    auto_approve_apply: bool = False
    group_contain_sub_dept: bool = False
    group_contain_outer_dept: bool = False
    group_contain_hidden_dept: bool = False
    dept_manager_userid_list: list[str] = field(default_factory=list)
    org_dept_owner: str = ""
    code: str = ""
    brief: str = ""
    dept_group_chat_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy for the state file."""
        return {name: _copy(getattr(self, name)) for name in DEPT_FIELDS}


@dataclass(slots=True)
class User:
    """A user (member of the organisation); field names follow /topapi/v2/user/create."""

    userid: str
    unionid: str
    name: str
    mobile: str
    state_code: str
    seq: int  # creation order, the tie-breaker of member lists
    created_ms: int = 0
    modified_ms: int = 0
    dept_ids: list[int] = field(default_factory=list)
    dept_orders: dict[int, int] = field(default_factory=dict)
    dept_titles: dict[int, str] = field(default_factory=dict)
    dept_positions: list[dict[str, Any]] = field(default_factory=list)
    hide_mobile: bool = False
    telephone: str = ""
    job_number: str = ""
    title: str = ""
    email: str = ""
    org_email: str = ""
    org_email_type: str = ""
    work_place: str = ""
    remark: str = ""
    login_email: str = ""
    manager_userid: str = ""
    avatar: str = ""
    extension: dict[str, Any] = field(default_factory=dict)
    extension_i18n: dict[str, Any] = field(default_factory=dict)
    senior_mode: bool = False
    hired_date: int | None = None
    active: bool = False
    admin: bool = False
    boss: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy; int-keyed maps become [key, value] pairs."""
        data = {name: _copy(getattr(self, name)) for name in USER_FIELDS}
        data["dept_orders"] = [[k, v] for k, v in self.dept_orders.items()]
        data["dept_titles"] = [[k, v] for k, v in self.dept_titles.items()]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> User:
        """Inverse of to_dict."""
        data = dict(data)
        data["dept_orders"] = {int(k): v for k, v in data.get("dept_orders", [])}
        data["dept_titles"] = {int(k): v for k, v in data.get("dept_titles", [])}
        return cls(**{k: v for k, v in data.items() if k in USER_FIELDS})


DEPT_FIELDS = [f.name for f in fields(Department)]
USER_FIELDS = [f.name for f in fields(User)]


def _copy(value: Any) -> Any:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


def member_key(user: User, dept_id: int) -> tuple[int, int, str]:
    """Sort key of a user inside a department. A larger order sorts first ("数值越大，排序越
    靠前", user update DOC; UNCONFIRMED for create), then creation order."""
    return (-user.dept_orders.get(dept_id, 0), user.seq, user.userid)


class Corp:
    """One organisation: its department tree, users, unique-field indexes and event log."""

    def __init__(self, corp_id: str, name: str) -> None:
        self.corp_id = corp_id
        self.name = name
        self.depts: dict[int, Department] = {}
        self.children: dict[int, set[int]] = {}
        self.sibling_names: dict[tuple[int, str], int] = {}
        self.users: dict[str, User] = {}
        # dept_id -> sorted member keys; paging is a slice of this list.
        self.members: dict[int, list[tuple[int, int, str]]] = {}
        self.unique: dict[str, dict[str, str]] = {name: {} for name in UNIQUE_FIELDS}
        self.multi_dept_users = 0
        self.events: deque[dict[str, Any]] = deque(maxlen=EVENT_LIMIT)
        # Bumped by every recorded write; keys the cache of non-default member orderings.
        self.revision = 0
        self.sorted_members: dict[tuple[int, str], tuple[int, list[str]]] = {}
        self.add_department(Department(ROOT_DEPT_ID, name, 0))

    # -- departments -------------------------------------------------------------------------

    def add_department(self, dept: Department) -> None:
        """Insert a department under its (existing) parent."""
        self.depts[dept.dept_id] = dept
        self.children[dept.dept_id] = set()
        self.members[dept.dept_id] = []
        if dept.parent_id:
            self.children[dept.parent_id].add(dept.dept_id)
            self.sibling_names[(dept.parent_id, dept.name)] = dept.dept_id

    def place_department(self, dept: Department, name: str, parent_id: int) -> None:
        """Rename and/or move a department, keeping the sibling-name index right."""
        if dept.parent_id:
            self.sibling_names.pop((dept.parent_id, dept.name), None)
            self.children[dept.parent_id].discard(dept.dept_id)
        dept.name, dept.parent_id = name, parent_id
        if parent_id:
            self.children[parent_id].add(dept.dept_id)
            self.sibling_names[(parent_id, name)] = dept.dept_id

    def remove_department(self, dept_id: int) -> None:
        """Remove an empty, childless department."""
        dept = self.depts.pop(dept_id)
        self.sibling_names.pop((dept.parent_id, dept.name), None)
        self.children[dept.parent_id].discard(dept_id)
        del self.children[dept_id], self.members[dept_id]

    def sibling_named(self, parent_id: int, name: str) -> int | None:
        """The id of the child of `parent_id` called `name`, if any."""
        return self.sibling_names.get((parent_id, name))

    def child_ids(self, dept_id: int) -> list[int]:
        """Direct children, ordered by `order` then id (ordering UNCONFIRMED, §10.6)."""
        kids = self.children.get(dept_id, ())
        return sorted(kids, key=lambda d: (self.depts[d].order, d))

    def subtree_ids(self, dept_id: int) -> list[int]:
        """The department and all its descendants, parents first."""
        out, queue = [], deque([dept_id])
        while queue:
            current = queue.popleft()
            out.append(current)
            queue.extend(self.children[current])
        return out

    def ancestor_ids(self, dept_id: int) -> list[int]:
        """[dept_id, parent, …, 1], as listparentbydept returns it."""
        chain = [dept_id]
        while self.depts[chain[-1]].parent_id:
            chain.append(self.depts[chain[-1]].parent_id)
        return chain

    def in_scope(self, dept_id: int, authed: frozenset[int]) -> bool:
        """True when the department is inside the app's address-book scope."""
        if ROOT_DEPT_ID in authed:
            return True
        return any(d in authed for d in self.ancestor_ids(dept_id))

    def member_count(self, dept_id: int) -> int:
        """Distinct members of the subtree. Summing is exact while nobody is in two
        departments, which keeps the common case O(departments) instead of O(users)."""
        ids = self.subtree_ids(dept_id)
        if self.multi_dept_users == 0:
            return sum(len(self.members[d]) for d in ids)
        return len({key[2] for d in ids for key in self.members[d]})

    # -- users ---------------------------------------------------------------------------------

    def owner_of(self, name: str, value: str) -> str | None:
        """The userid holding a unique field value (mobile, email, telephone, unionid)."""
        if not value:
            return None
        return self.unique[name].get(unique_key(name, value))

    def add_user(self, user: User) -> None:
        """Insert a user, index its unique fields and place it in its departments."""
        self.users[user.userid] = user
        for name, key in self._unique_keys(user):
            self.unique[name][key] = user.userid
        depts, user.dept_ids = user.dept_ids, []
        self.set_departments(user, depts)

    def remove_user(self, user: User) -> None:
        """Delete a user from every department and index."""
        self.set_departments(user, [])
        for name, key in self._unique_keys(user):
            self.unique[name].pop(key, None)
        del self.users[user.userid]

    def set_field(self, user: User, name: str, value: str) -> None:
        """Change a unique field, moving its index entry."""
        old = getattr(user, name)
        if old:
            self.unique[name].pop(unique_key(name, old), None)
        setattr(user, name, value)
        if value:
            self.unique[name][unique_key(name, value)] = user.userid

    def set_departments(
        self, user: User, dept_ids: list[int], orders: dict[int, int] | None = None
    ) -> None:
        """Replace the user's departments (and orders), keeping member lists sorted."""
        if len(user.dept_ids) > 1:
            self.multi_dept_users -= 1
        for dept_id in user.dept_ids:
            self._unlist(user, dept_id, leaving=dept_id not in dept_ids)
        user.dept_ids = list(dict.fromkeys(dept_ids))
        merged = {**user.dept_orders, **(orders or {})}
        user.dept_orders = {d: merged[d] for d in user.dept_ids if d in merged}
        for dept_id in user.dept_ids:
            bisect.insort(self.members[dept_id], member_key(user, dept_id))
        if len(user.dept_ids) > 1:
            self.multi_dept_users += 1

    def _unlist(self, user: User, dept_id: int, leaving: bool) -> None:
        keys = self.members.get(dept_id)
        if keys is None:
            return
        key = member_key(user, dept_id)
        index = bisect.bisect_left(keys, key)
        if index < len(keys) and keys[index] == key:
            del keys[index]
        # A manager must be a member (40031), so leaving a department ends managing it.
        managers = self.depts[dept_id].dept_manager_userid_list
        if leaving and user.userid in managers:
            managers.remove(user.userid)

    def _unique_keys(self, user: User) -> Iterator[tuple[str, str]]:
        for name in UNIQUE_FIELDS:
            value = getattr(user, name)
            if value:
                yield name, unique_key(name, value)

    # -- events --------------------------------------------------------------------------------

    def record(self, event_type: str, ids_key: str, ids: list[Any], **extra: Any) -> None:
        """Log an address-book change event (§9), in the HTTP-push payload shape."""
        event = {
            "eventId": uuid.uuid4().hex,
            "EventType": event_type,
            "EventTime": now_ms(),
            "CorpId": self.corp_id,
            ids_key: list(ids),
        }
        event.update(extra)
        self.events.append(event)
        self.revision += 1

    # -- persistence ---------------------------------------------------------------------------

    def freeze(self, events: int | None = None) -> dict[str, Any]:
        """The cheap half of to_dict, done under the lock: object references in new lists.
        `events` keeps only the last N events."""
        log = list(self.events)
        return {
            "corp_id": self.corp_id,
            "name": self.name,
            "departments": [self.depts[d] for d in self.subtree_ids(ROOT_DEPT_ID)],
            "users": list(self.users.values()),
            "events": log if events is None else log[-events:],
        }

    @staticmethod
    def thaw(frozen: dict[str, Any]) -> dict[str, Any]:
        """The expensive half: objects to JSON-ready dicts (departments parents first, so
        loading is one pass)."""
        return {
            **frozen,
            "departments": [d.to_dict() for d in frozen["departments"]],
            "users": [u.to_dict() for u in frozen["users"]],
        }

    def to_dict(self) -> dict[str, Any]:
        """The corp as JSON-ready data."""
        return Corp.thaw(self.freeze())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Corp:
        """Rebuild a corp and its indexes from to_dict output."""
        corp = cls(data["corp_id"], data["name"])
        for item in data.get("departments", []):
            dept = Department(**{k: v for k, v in item.items() if k in DEPT_FIELDS})
            if dept.dept_id == ROOT_DEPT_ID:
                corp.depts[ROOT_DEPT_ID] = dept
            else:
                corp.add_department(dept)
        for item in data.get("users", []):
            corp.add_user(User.from_dict(item))
        corp.events.extend(data.get("events", []))
        return corp
