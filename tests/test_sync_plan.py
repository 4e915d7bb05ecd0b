"""The planner alone, table by table: directory rows and DingTalk rows in, operations out.

No HTTP and no database: the rows are built here as plain values, so a wrong plan is caught
before the sandbox is involved.
"""

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.dingtalk.types import Department, User
from dtconsole.sync.models import DepartmentLink, UserConflict, UserLink
from dtconsole.sync.plan import Planner, Settings
from dtconsole.sync.remote import RemoteState
from dtconsole.sync.source import OrgNode, SourceDirectory
from mappings.defaults import DEFAULT_MATCH_KEYS, DEFAULT_RULES
from mappings.engine import SourceAccount, SourceOrg

TARGET = 500  # the scope's target department (under DingTalk's root, 1)
OUTSIDE = 900  # a DingTalk department outside every target


def org(id: int, name: str, parent: int | None, depth: int, order: int = 0) -> OrgNode:
    return OrgNode(id, parent, name, f"c{id}", order, f"/{id}/", depth)


def account(id: int, username: str, org_ids=(), **fields) -> SourceAccount:
    values = dict(
        display_name=username.title(),
        mobile=f"1390000{id:04d}",
        email=f"{username}@example.com",
        job_number="",
        title="",
        work_place="",
        hired_date=None,
        status="active",
        extra={},
    )
    values.update(fields)
    orgs = tuple(SourceOrg(o, f"org{o}", None, (f"org{o}",)) for o in org_ids)
    return SourceAccount(id, username, primary_org=orgs[0] if orgs else None, orgs=orgs, **values)


def payload(acc: SourceAccount, depts: list[int]) -> dict:
    """What the console pushed for ``acc`` (the default mapping), in DingTalk's field names."""
    return {
        "name": acc.display_name,
        "mobile": acc.mobile,
        "email": acc.email,
        "userid": acc.username,
        "dept_id_list": depts,
    }


def dingtalk_user(acc: SourceAccount, depts: list[int], userid: str | None = None, **raw) -> User:
    data = {k: v for k, v in payload(acc, depts).items() if k != "userid"}
    data.update(raw)
    uid = userid or acc.username
    return User(uid, data["name"], dept_id_list=depts, raw={**data, "userid": uid})


@dataclass
class World:
    """A scope (company 10 → TARGET, MERGE unless ``under``) and both sides' rows."""

    orgs: list[OrgNode] = field(default_factory=lambda: [org(10, "Company", None, 0)])
    accounts: list[SourceAccount] = field(default_factory=list)
    memberships: dict[int, list[int]] = field(default_factory=dict)
    dept_links: list[DepartmentLink] = field(default_factory=list)
    user_links: list[UserLink] = field(default_factory=list)
    depts: list[Department] = field(default_factory=list)  # under TARGET (full sync)
    users: list[User] = field(default_factory=list)
    conflicts: list[UserConflict] = field(default_factory=list)
    under: bool = False
    multi_org: bool = False
    full: bool = True
    protect_adopted: bool = False

    def plan(self):
        source = SourceDirectory(
            targets={} if self.under else {10: TARGET},
            orgs={o.id: o for o in self.orgs},
            accounts={a.id: a for a in self.accounts},
            memberships={a.id: self.memberships.get(a.id, [10]) for a in self.accounts},
            under={10: TARGET} if self.under else {},
        )
        remote = None
        if self.full:
            remote = RemoteState()
            remote.depts[TARGET] = Department(TARGET, "Target", parent_id=1)
            for dept in self.depts:
                remote.depts[dept.dept_id] = dept
                remote.children.setdefault(dept.parent_id, []).append(dept.dept_id)
            remote.users = {u.userid: u for u in self.users}
        settings = Settings(
            rules=list(DEFAULT_RULES),
            match_keys=list(DEFAULT_MATCH_KEYS),
            multi_org=self.multi_org,
            delete=True,
            protect_adopted=self.protect_adopted,
        )
        planner = Planner(
            source, remote, self.dept_links, self.user_links, settings, self.conflicts
        )
        return planner.build()


def dept_link(org_id: int, dept_id: int, name: str, parent: int, order=0, depth=1):
    return DepartmentLink(
        org_ref=org_id,
        org_name=name,
        dept_id=dept_id,
        depth=depth,
        last_payload={"name": name, "order": order, "parent_id": parent},
    )


def user_link(acc: SourceAccount, userid: str | None, last: dict, origin="created"):
    return UserLink(
        account_ref=acc.id,
        username=acc.username,
        display_name=acc.display_name,
        userid=userid or acc.username,
        last_payload=last,
        origin=origin,
    )


def ops(plan) -> list[tuple]:
    """(object type, action, source id) of every operation, in plan order."""
    return [(op.object_type, op.action, op.source_id) for op in plan.all_ops()]


# --- departments -----------------------------------------------------------------------------


def test_a_merge_scope_root_stands_for_the_target_and_its_children_are_created_under_it():
    world = World(orgs=[org(10, "Company", None, 0), org(11, "Sales", 10, 1, order=2)])
    plan = world.plan()
    assert ops(plan) == [("department", "create", 11)]
    (op,) = plan.departments
    assert op.parent_org == 10 and plan.org_dept[10] == TARGET and op.fields["order"] == 2


def test_an_under_scope_root_becomes_a_department_under_the_target():
    world = World(orgs=[org(10, "Company", None, 0), org(11, "Sales", 10, 1)], under=True)
    plan = world.plan()
    assert ops(plan) == [("department", "create", 10), ("department", "create", 11)]
    assert plan.departments[0].parent_dept == TARGET
    assert plan.departments[1].parent_dept is None and plan.departments[1].parent_org == 10


@pytest.mark.parametrize(
    ("dingtalk", "expected"),
    [
        (Department(601, "Sales", parent_id=TARGET, order=0), []),
        (Department(601, "Old name", parent_id=TARGET, order=0), [("department", "update", 11)]),
        (Department(601, "Sales", parent_id=777, order=0), [("department", "update", 11)]),
    ],
    ids=["unchanged", "renamed", "moved"],
)
def test_a_linked_department_is_updated_only_when_dingtalk_differs(dingtalk, expected):
    world = World(
        orgs=[org(10, "Company", None, 0), org(11, "Sales", 10, 1)],
        dept_links=[dept_link(11, 601, "Sales", TARGET)],
        depts=[dingtalk],
    )
    plan = world.plan()
    assert ops(plan) == expected
    if expected:
        assert plan.departments[0].dingtalk_id == "601"


def test_an_unlinked_organisation_adopts_a_same_named_department_under_its_parent():
    world = World(
        orgs=[org(10, "Company", None, 0), org(11, "Sales", 10, 1)],
        depts=[Department(601, "Sales", parent_id=TARGET, order=0)],
    )
    assert ops(world.plan()) == [("department", "match", 11)]


def test_departments_of_deleted_organisations_are_deleted_deepest_first():
    world = World(
        dept_links=[
            dept_link(11, 601, "A", TARGET, depth=1),
            dept_link(12, 602, "A1", 601, depth=2),
        ],
        depts=[Department(601, "A", TARGET), Department(602, "A1", 601)],
    )
    plan = world.plan()
    assert [op.dingtalk_id for op in plan.dept_deletions] == ["602", "601"]


# --- users -----------------------------------------------------------------------------------


def test_a_new_account_is_created_in_its_primary_organisations_department():
    ann = account(1, "ann")
    plan = World(accounts=[ann]).plan()
    (op,) = plan.users
    assert (op.action, op.dept_orgs, op.fields["userid"]) == ("create", [10], "ann")


def test_an_unlinked_account_matches_an_existing_user_by_mobile_and_diffs_against_it():
    ann = account(1, "ann")
    twin = dingtalk_user(ann, [TARGET], userid="dt-ann", name="Ann Old")
    plan = World(accounts=[ann], users=[twin]).plan()
    (op,) = plan.users
    assert op.action == "match" and op.dingtalk_id == "dt-ann"
    assert op.changes == {"name": ["Ann Old", "Ann"]}


def test_a_linked_unchanged_account_plans_nothing():
    ann = account(1, "ann")
    world = World(
        accounts=[ann],
        user_links=[user_link(ann, None, payload(ann, [TARGET]))],
        users=[dingtalk_user(ann, [TARGET])],
    )
    plan = world.plan()
    assert ops(plan) == [] and plan.unchanged == 1


def test_a_mobile_spelt_with_plus_86_in_dingtalk_is_the_same_number():
    ann = account(1, "ann")
    world = World(
        accounts=[ann],
        user_links=[user_link(ann, None, payload(ann, [TARGET]))],
        users=[dingtalk_user(ann, [TARGET], mobile=f"+86-{ann.mobile}")],
    )
    assert ops(world.plan()) == []


@pytest.mark.parametrize("full", [True, False], ids=["full", "incremental"])
def test_a_department_outside_every_target_is_kept_in_the_users_list(full):
    ann = account(1, "ann", title="Lead")
    before = account(1, "ann")  # what was pushed: the title changed since
    world = World(
        accounts=[ann],
        user_links=[user_link(ann, None, payload(before, [TARGET, OUTSIDE]))],
        users=[dingtalk_user(before, [TARGET, OUTSIDE])],
        full=full,
    )
    (op,) = world.plan().users
    assert op.changes == {"title": [None, "Lead"]}
    assert "dept_id_list" not in op.changes and op.keep_depts == [OUTSIDE]


def test_a_membership_change_sends_the_new_department_and_keeps_the_outside_one():
    ann = account(1, "ann")
    world = World(
        orgs=[org(10, "Company", None, 0), org(11, "Sales", 10, 1)],
        accounts=[ann],
        memberships={1: [11]},
        dept_links=[dept_link(11, 601, "Sales", TARGET)],
        depts=[Department(601, "Sales", TARGET, order=0)],
        user_links=[user_link(ann, None, payload(ann, [TARGET, OUTSIDE]))],
        users=[dingtalk_user(ann, [TARGET, OUTSIDE])],
    )
    (op,) = world.plan().users
    assert op.changes["dept_id_list"] == [[TARGET, OUTSIDE], [601]]
    assert op.keep_depts == [OUTSIDE]


def test_with_multi_organisation_on_a_user_goes_to_every_in_scope_organisation():
    ann = account(1, "ann")
    world = World(
        orgs=[org(10, "Company", None, 0), org(11, "Sales", 10, 1)],
        accounts=[ann],
        memberships={1: [11, 10]},
        multi_org=True,
    )
    plan = world.plan()
    assert plan.users[0].dept_orgs == [11, 10]
    world.multi_org = False
    assert world.plan().users[0].dept_orgs == [11]


def test_a_mapping_error_of_a_linked_account_is_an_update_that_fails():
    ann = account(1, "ann", display_name="")  # DingTalk needs a name
    world = World(accounts=[ann], user_links=[user_link(ann, None, {})], full=False)
    (op,) = world.plan().users
    assert op.action == "update" and op.error is not None


# --- deletions -------------------------------------------------------------------------------


def test_a_disabled_linked_account_is_deleted_and_an_adopted_one_only_unlinked_when_protected():
    ann = account(1, "ann", status="disabled")
    bob = account(2, "bob", status="disabled")
    world = World(
        accounts=[ann, bob],
        user_links=[
            user_link(ann, None, payload(ann, [TARGET])),
            user_link(bob, "dt-bob", payload(bob, [TARGET]), origin="adopted"),
        ],
        protect_adopted=True,
    )
    plan = world.plan()
    by_key = {op.source_key: op for op in plan.user_deletions}
    assert not by_key["ann"].unlink_only and by_key["bob"].unlink_only
    assert [op.source_key for op in plan.deleting()] == ["ann"]
    assert by_key["ann"].source_name == "Ann"


# --- conflicts -------------------------------------------------------------------------------


def conflict(acc: SourceAccount, value: str, holder="stranger", age=timedelta(0)) -> UserConflict:
    return UserConflict(
        pk=acc.id,
        account_ref=acc.id,
        field="mobile",
        value=value,
        holder_userid=holder,
        holder_name="Stranger",
        detected_at=timezone.now() - age,
    )


def test_an_update_holds_back_a_mobile_another_user_holds_and_sends_the_rest():
    ann = account(1, "ann", mobile="13900009999", title="Lead")
    before = account(1, "ann")
    stranger = User("stranger", "Stranger", raw={"userid": "stranger", "mobile": "13900009999"})
    world = World(
        accounts=[ann],
        user_links=[user_link(ann, None, payload(before, [TARGET]))],
        users=[dingtalk_user(before, [TARGET]), stranger],
        conflicts=[conflict(ann, "13900009999")],
    )
    (op,) = world.plan().users
    assert set(op.changes) == {"title"} and "mobile" not in op.fields
    assert op.note is not None and "already has the" in op.note.msgid


def test_an_unlinked_account_whose_mobile_is_held_is_skipped_not_retried():
    ann = account(1, "ann", mobile="13900009999")
    world = World(accounts=[ann], conflicts=[conflict(ann, "13900009999")], full=False)
    plan = world.plan()
    assert plan.users == [] and [op.source_id for op in plan.skipped] == [1]


@pytest.mark.parametrize(
    ("value", "age", "stale"),
    [("13900009999", timedelta(0), False), ("13900001234", timedelta(0), True)],
    ids=["same value: held", "value changed: tried again"],
)
def test_a_conflict_ends_when_the_accounts_value_changes(value, age, stale):
    ann = account(1, "ann", mobile="13900009999")
    world = World(accounts=[ann], conflicts=[conflict(ann, value, age=age)], full=False)
    plan = world.plan()
    assert (plan.stale_conflicts == [1]) is stale
    assert bool(plan.users) is stale


def test_a_conflict_is_tried_again_after_a_day():
    ann = account(1, "ann", mobile="13900009999")
    old = conflict(ann, "13900009999", age=timedelta(hours=25))
    plan = World(accounts=[ann], conflicts=[old], full=False).plan()
    assert plan.stale_conflicts == [1] and plan.users


def test_a_full_sync_that_sees_the_holder_release_the_value_tries_again():
    ann = account(1, "ann", mobile="13900009999")
    stranger = User("stranger", "Stranger", raw={"userid": "stranger", "mobile": "13700000000"})
    plan = World(accounts=[ann], users=[stranger], conflicts=[conflict(ann, "13900009999")]).plan()
    assert plan.stale_conflicts == [1] and plan.users[0].action == "create"
