"""Plan a sync: compare what the directory wants with what DingTalk holds, object by object.

The planner does no I/O. It reads a ``SourceDirectory``, the links, open conflicts, and either
DingTalk's live state (full sync) or the payload last pushed (incremental sync), and returns
operations with field-level diffs. Department ids that do not exist yet are referred to by
organisation and resolved while applying, parents first.

A user's ``dept_id_list`` holds the departments the directory gives them and, kept as they
are, the DingTalk departments outside every target (not the console's to change). A full
sync knows which those are from what it read; an incremental one keeps those of the last
payload and, when it must send the list, the applier reads the user first (``Applier``).
"""

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.utils import timezone

from mappings.engine import Rule, evaluate
from mappings.messages import join_texts

from .models import DepartmentLink, SyncEvent, UserConflict, UserLink
from .remote import RemoteState, normal_value
from .source import SourceDirectory
from .texts import N_, Text

DEPT = SyncEvent.ObjectType.DEPARTMENT
USER = SyncEvent.ObjectType.USER
A = SyncEvent.Action
# A conflict is not tried again before this long, unless the account's value changed or a
# full sync sees DingTalk changed (a holder outside every target is invisible to it).
CONFLICT_RETRY = timedelta(hours=24)


@dataclass
class Op:
    object_type: str
    action: str
    source_id: int | None
    source_name: str
    source_key: str = ""
    mobile: str = ""
    dingtalk_id: str = ""
    fields: dict[str, Any] = field(default_factory=dict)  # what to send (create/update)
    create_fields: dict[str, Any] = field(default_factory=dict)  # if an update must recreate
    changes: dict[str, list[Any]] = field(default_factory=dict)  # field -> [old, new]

    def event_changes(self) -> dict[str, list[Any]]:
        """Field changes for the event: a create's are all its fields, new."""
        if self.action == A.CREATE and not self.changes:
            return {name: [None, value] for name, value in self.fields.items()}
        return self.changes

    parent_org: int | None = None  # departments: parent by organisation (resolved at apply)
    parent_dept: int | None = None  # departments under a target directly (UNDER scopes)
    dept_orgs: list[int] = field(default_factory=list)  # users: dept_id_list by organisation
    keep_depts: list[int] = field(default_factory=list)  # users: DingTalk depts we do not manage
    depth: int = 0
    error: Text | None = None  # a planning failure (mapping error): the op fails with it
    note: Text | None = None  # said on the event (a value held back by a conflict)
    unlink_only: bool = False  # deletions: keep the DingTalk object, forget the link
    skip: Text | None = None  # not attempted: the event says why (an unresolved conflict)


@dataclass
class Plan:
    departments: list[Op] = field(default_factory=list)
    users: list[Op] = field(default_factory=list)
    user_deletions: list[Op] = field(default_factory=list)
    dept_deletions: list[Op] = field(default_factory=list)
    skipped: list[Op] = field(default_factory=list)  # recorded, never sent
    unchanged: int = 0
    org_dept: dict[int, int] = field(default_factory=dict)  # org id -> known dept id
    target_depts: set[int] = field(default_factory=set)
    remote_depts: set[int] | None = None  # departments under the targets (full sync)
    stale_conflicts: list[int] = field(default_factory=list)  # UserConflict ids to forget

    @property
    def deletions(self) -> int:
        return len(self.user_deletions) + len(self.dept_deletions)

    def deleting(self) -> list[Op]:
        """The deletions that remove something from DingTalk (not mere unlinks)."""
        return [op for op in self.user_deletions + self.dept_deletions if not op.unlink_only]

    def all_ops(self) -> list[Op]:
        return self.departments + self.users + self.user_deletions + self.dept_deletions


@dataclass
class Settings:
    rules: list[Rule]
    match_keys: list[str]
    multi_org: bool
    delete: bool  # policy: delete in DingTalk (else unlink only)
    protect_adopted: bool = False  # adopted users are unlinked, not deleted


class Planner:
    """Builds a Plan. ``remote`` is None for incremental runs (compare with last payloads)."""

    def __init__(
        self,
        source: SourceDirectory,
        remote: RemoteState | None,
        dept_links: list[DepartmentLink],
        user_links: list[UserLink],
        settings: Settings,
        conflicts: list[UserConflict] = (),
        fetched: dict | None = None,
    ) -> None:
        """``fetched`` (re-push runs): what DingTalk holds now of the objects pushed, by
        userid or dept id, compared with instead of the last payload."""
        self.source, self.remote, self.settings = source, remote, settings
        self.dept_links = {link.org_ref: link for link in dept_links}
        self.dept_owner = {link.dept_id: link.org_ref for link in dept_links}
        self.user_links = {link.account_ref: link for link in user_links}
        self.userid_owner = {link.userid: link.account_ref for link in user_links}
        self.conflicts: dict[int, list[UserConflict]] = {}
        for conflict in conflicts:
            self.conflicts.setdefault(conflict.account_ref, []).append(conflict)
        self.fetched = fetched or {}
        self.plan = Plan(org_dept=dict(source.targets), target_depts=set(source.target_depts))
        if remote is not None:
            self.plan.remote_depts = set(remote.depts)

    def build(self, *, deletions: bool = True) -> Plan:
        self._plan_departments()
        self._plan_users()
        if deletions:
            self._plan_user_deletions()
            self._plan_dept_deletions()
        return self.plan

    # --- departments --------------------------------------------------------------------

    def _plan_departments(self) -> None:
        orgs = sorted(self.source.orgs.values(), key=lambda o: (o.depth, o.order, o.id))
        for org in orgs:
            if self.source.is_scope_root(org.id):
                continue
            op = self._department_op(org)
            if op is None:
                self.plan.unchanged += 1
            else:
                self.plan.departments.append(op)

    def _department_op(self, org) -> Op | None:
        top = self.source.under.get(org.id)  # an UNDER scope's organisation
        parent_dept = top if top is not None else self.plan.org_dept.get(org.parent_id)
        desired = {"name": org.name, "order": org.order}
        base = dict(
            object_type=DEPT,
            source_id=org.id,
            source_name=org.name,
            source_key=org.code or "",
            parent_org=org.parent_id,
            parent_dept=top,
            depth=org.depth,
        )
        link = self.dept_links.get(org.id)
        if link is not None:
            return self._linked_department_op(org, link, desired, parent_dept, base)
        adopted = self._adoptable_dept(parent_dept, org.name)
        if adopted is not None:
            self.plan.org_dept[org.id] = adopted.dept_id
            changes = _diff(desired, {"name": adopted.name, "order": adopted.order})
            return Op(
                action=A.MATCH,
                dingtalk_id=str(adopted.dept_id),
                fields=desired,
                changes=changes,
                **base,
            )
        return Op(action=A.CREATE, fields=desired, **base)

    def _linked_department_op(self, org, link, desired, parent_dept, base) -> Op | None:
        self.plan.org_dept[org.id] = link.dept_id
        actual = self._actual_dept(link)
        changes = (
            _diff(desired, actual)
            if actual is not None
            else {k: [None, v] for k, v in desired.items()}
        )
        if actual is None or parent_dept is None or actual.get("parent_id") != parent_dept:
            changes["parent_id"] = [actual.get("parent_id") if actual else None, parent_dept]
        if not changes:
            return None
        return Op(
            action=A.UPDATE,
            dingtalk_id=str(link.dept_id),
            fields=desired,
            create_fields=desired,
            changes=changes,
            **base,
        )

    def _actual_dept(self, link: DepartmentLink) -> dict[str, Any] | None:
        if self.remote is None:
            actual = self.fetched.get(link.dept_id, link.last_payload)
            return dict(actual) or None
        dept = self.remote.depts.get(link.dept_id)
        if dept is None:
            return None
        # listsub does not return ``order``: what we pushed last stands for it then.
        order = dept.order if dept.order is not None else link.last_payload.get("order")
        return {"name": dept.name, "order": order, "parent_id": dept.parent_id}

    def _adoptable_dept(self, parent_dept: int | None, name: str):
        if self.remote is None or parent_dept is None:
            return None
        dept = self.remote.child_named(parent_dept, name)
        return dept if dept is not None and dept.dept_id not in self.dept_owner else None

    # --- users --------------------------------------------------------------------------

    def _plan_users(self) -> None:
        for account_id in sorted(self.source.accounts):
            account = self.source.accounts[account_id]
            if account.status != "active":
                continue  # a linked disabled account is deleted with the deletions
            op = self._user_op(account)
            if op is None:
                self.plan.unchanged += 1
            elif op.skip is not None:
                self.plan.skipped.append(op)
            else:
                self.plan.users.append(op)

    def _dept_orgs(self, account_id: int) -> list[int]:
        orgs = self.source.memberships.get(account_id, [])
        return orgs if self.settings.multi_org else orgs[:1]

    def _user_op(self, account) -> Op | None:
        dept_orgs = self._dept_orgs(account.id)
        base = dict(
            object_type=USER,
            source_id=account.id,
            source_name=account.display_name,
            source_key=account.username,
            mobile=account.mobile,
            dept_orgs=dept_orgs,
        )
        link = self.user_links.get(account.id)
        create = evaluate(self.settings.rules, account, creating=True)
        if not create.ok:
            action = A.CREATE if link is None else A.UPDATE
            errors = join_texts([e.text for e in create.errors]).as_dict()
            return Op(
                action=action,
                dingtalk_id=link.userid if link else "",
                error=Text(N_("The field mapping failed: %(errors)s"), {"errors": errors}),
                **base,
            )
        held = self._held_conflicts(account.id, create.payload)
        matched = None if link is not None else self._match(create.payload, held)
        if link is not None or matched is not None:
            update = evaluate(self.settings.rules, account, creating=False).payload
        if link is not None:
            op = self._linked_user_op(link, update, create.payload, base)
        elif matched is not None:
            op = self._changed_user_op(
                A.MATCH, matched.userid, matched.raw, update, create.payload, base, always=True
            )
        else:
            # A create's changes are all its fields, derived when its event is written:
            # holding them per operation tripled a 100,000-account plan's memory.
            op = Op(action=A.CREATE, fields=create.payload, create_fields=create.payload, **base)
        return self._hold_back(op, held) if held and op is not None else op

    def _linked_user_op(self, link: UserLink, payload, create_payload, base) -> Op | None:
        if self.remote is None:
            actual = self.fetched.get(link.userid, link.last_payload)
        else:
            user = self.remote.users.get(link.userid)
            actual = user.raw if user is not None else None
        if actual is None:  # gone from DingTalk's lists: update; a "not found" recreates it
            changes = {k: [None, v] for k, v in payload.items() if k != "userid"}
            return Op(
                action=A.UPDATE,
                dingtalk_id=link.userid,
                fields={k: v for k, v in payload.items() if k != "userid"},
                create_fields=create_payload,
                changes=changes,
                **base,
            )
        return self._changed_user_op(
            A.UPDATE, link.userid, actual, payload, create_payload, base, previous=link.last_payload
        )

    def _changed_user_op(
        self, action, userid, actual, payload, create_payload, base, *, always=False, previous=None
    ) -> Op | None:
        changes = _diff(payload, actual)
        for name in previous or {}:  # a value we set before and the directory emptied since
            if name not in payload and name not in ("userid", "dept_id_list") and actual.get(name):
                changes[name] = [actual.get(name), ""]
        dept_change = self._dept_change(base["dept_orgs"], actual)
        if dept_change:
            changes["dept_id_list"] = dept_change
        if not changes and not always:
            return None
        fields = {k: v[1] for k, v in changes.items() if k != "dept_id_list"}
        keep = self._unmanaged_depts(actual)
        return Op(
            action=action,
            dingtalk_id=userid,
            fields=fields,
            create_fields=create_payload,
            changes=changes,
            keep_depts=keep,
            **base,
        )

    def _dept_change(self, dept_orgs: list[int], actual: dict[str, Any]) -> list | None:
        desired = [self.plan.org_dept.get(o) for o in dept_orgs]
        current = _int_list(actual.get("dept_id_list"))
        wanted = set(desired) | set(self._unmanaged_depts(actual))
        if None in desired or wanted != set(current):
            return [current, desired]
        return None

    def _unmanaged_depts(self, actual: dict[str, Any]) -> list[int]:
        """Departments the user is in that lie outside every target: not ours to change.

        A full sync read every department under the targets; an incremental run knows the
        departments it manages and the targets, and keeps the others of the last payload.
        """
        current = _int_list(actual.get("dept_id_list"))
        if self.remote is not None:
            return [d for d in current if d not in self.remote.depts]
        managed = set(self.dept_owner) | self.plan.target_depts
        return [d for d in current if d not in managed]

    def _match(self, payload: dict[str, Any], held: dict[str, UserConflict]):
        if self.remote is None:
            return None
        for key in self.settings.match_keys:
            if key in held:
                continue  # that value is another user's: matching by it would adopt them
            user = self.remote.user_by(key, payload.get(key, ""))
            if user is not None and user.userid not in self.userid_owner:
                return user
        return None

    # --- conflicts ----------------------------------------------------------------------

    def _held_conflicts(self, account_id: int, payload: dict[str, Any]) -> dict[str, UserConflict]:
        """The account's open conflicts that still hold: its value is unchanged and DingTalk,
        as far as this run can see, still gives the value to the same other user."""
        held = {}
        for conflict in self.conflicts.get(account_id, ()):
            if self._conflict_stale(conflict, payload):
                self.plan.stale_conflicts.append(conflict.pk)
            else:
                held[conflict.field] = conflict
        return held

    def _conflict_stale(self, conflict: UserConflict, payload: dict[str, Any]) -> bool:
        value = payload.get(conflict.field, "")
        if normal_value(conflict.field, value) != normal_value(conflict.field, conflict.value):
            return True  # the account's value changed
        if conflict.detected_at and conflict.detected_at < timezone.now() - CONFLICT_RETRY:
            return True
        if self.remote is None or not conflict.holder_userid:
            return False
        holder = self.remote.users.get(conflict.holder_userid)
        if holder is None:
            return False  # not visible from here (outside every target): keep holding
        return normal_value(conflict.field, holder.raw.get(conflict.field, "")) != normal_value(
            conflict.field, conflict.value
        )

    def _hold_back(self, op: Op, held: dict[str, UserConflict]) -> Op | None:
        """Leave out the values another DingTalk user holds; without them a create cannot
        happen at all (a user needs its mobile), and an update sends the rest."""
        conflict = next(iter(held.values()))
        reason = conflict_text(conflict)
        if op.action == A.CREATE:
            op.skip = reason
            return op
        for name in held:
            op.fields.pop(name, None)
            op.changes.pop(name, None)
        op.note = reason
        if not op.changes and op.action == A.UPDATE:
            op.skip = reason
        return op

    # --- deletions ----------------------------------------------------------------------

    def _plan_user_deletions(self) -> None:
        protect = self.settings.protect_adopted
        for link in self.user_links.values():
            account = self.source.accounts.get(link.account_ref)
            if account is not None and account.status == "active":
                continue
            adopted = protect and link.origin == "adopted"
            self.plan.user_deletions.append(
                Op(
                    object_type=USER,
                    action=A.DELETE,
                    source_id=link.account_ref,
                    source_name=link.display_name or link.username,
                    source_key=link.username,
                    dingtalk_id=link.userid,
                    unlink_only=not self.settings.delete or adopted,
                    note=_kept_note(self.settings.delete, adopted),
                )
            )

    def _plan_dept_deletions(self) -> None:
        links = [link for ref, link in self.dept_links.items() if ref not in self.source.orgs]
        levels = self._levels(links)
        for link in sorted(links, key=lambda link: (-levels[link.dept_id], -link.depth)):
            self.plan.dept_deletions.append(
                Op(
                    object_type=DEPT,
                    action=A.DELETE,
                    source_id=link.org_ref,
                    source_name=link.org_name,
                    dingtalk_id=str(link.dept_id),
                    depth=link.depth,
                    unlink_only=not self.settings.delete,
                    note=_kept_note(self.settings.delete, False),
                )
            )

    def _levels(self, links: list[DepartmentLink]) -> dict[int, int]:
        """How deep each department to delete lies below the others being deleted, from
        DingTalk's parents (a full sync's read, else the parent last pushed): children go
        first. A link's stored depth is the organisation's at its last push, which a move of
        an ancestor does not update."""
        parents = {}
        for link in links:
            dept = self.remote.depts.get(link.dept_id) if self.remote is not None else None
            parents[link.dept_id] = dept.parent_id if dept else link.last_payload.get("parent_id")

        def level(dept_id: int, seen: frozenset = frozenset()) -> int:
            parent = parents.get(dept_id)
            if parent not in parents or parent in seen:
                return 0
            return 1 + level(parent, seen | {dept_id})

        return {dept_id: level(dept_id) for dept_id in parents}


def _kept_note(delete: bool, adopted: bool) -> Text | None:
    """Why a deletion only unlinks (the DingTalk object stays), or None when it deletes."""
    if not delete:
        return Text(N_("Kept in DingTalk and unlinked: the provider's deletion policy is keep."))
    if adopted:
        return Text(
            N_(
                "Kept in DingTalk and unlinked: the console adopted this user rather than "
                "created it, and the provider protects adopted users."
            )
        )
    return None


def conflict_text(conflict: UserConflict) -> Text:
    """The sentence an event shows for a conflict: who holds what, and the two ways out."""
    if conflict.holder_userid:
        return Text(
            N_(
                "DingTalk user %(holder)s (userid %(userid)s) already has the %(field)s "
                "%(value)s. Change this account's %(field)s, or link the account to that "
                "DingTalk user on the account's sync history page."
            ),
            {
                "holder": conflict.holder_name or conflict.holder_userid,
                "userid": conflict.holder_userid,
                "field": conflict.field,
                "value": conflict.value,
            },
        )
    return Text(
        N_(
            "Another DingTalk user already has the %(field)s %(value)s. Change this account's "
            "%(field)s, or find that user in DingTalk's admin backend and change theirs."
        ),
        {"field": conflict.field, "value": conflict.value},
    )


def _int_list(value: Any) -> list[int]:
    if not value:
        return []
    if isinstance(value, str):
        return [int(v) for v in value.split(",") if v.strip()]
    return [int(v) for v in value]


def _same(new: Any, old: Any, name: str = "") -> bool:
    if name == "mobile" and new and old:
        return normal_value("mobile", new) == normal_value("mobile", old)
    if isinstance(new, dict):
        if isinstance(old, str):
            try:
                old = json.loads(old)
            except ValueError:
                return False
        return new == (old or {})
    if old is None:  # DingTalk omits empty values: absent equals 0, false or empty
        return new in ("", None, 0, False) or new == [] or new == {}
    return str(new).strip() == str(old).strip()


def _diff(desired: dict[str, Any], actual: dict[str, Any]) -> dict[str, list[Any]]:
    """Fields whose desired value differs from DingTalk's (userid never changes; a mobile
    DingTalk spells ``+86-139…`` is the directory's ``139…``)."""
    return {
        name: [actual.get(name), value]
        for name, value in desired.items()
        if name != "userid" and not _same(value, actual.get(name), name)
    }
