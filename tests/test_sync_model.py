"""The proof of convergence: a model-based test of the whole sync, over HTTP, against an oracle.

Rules are directory operations through the services (organisations created, renamed, moved
and deleted; accounts created, edited, disabled, enabled and deleted; memberships added,
removed and made primary; mobiles changed) and DingTalk-side edits through the sandbox (a
user deleted, a department renamed, a twin user created, a user added to a department
outside every target). After a directory operation the incremental runs the change queued
go through the real engine; after a DingTalk-side deletion or rename the next full sync does
(incremental runs cannot see DingTalk change, by design); adding a user to a department
outside every target needs no run at all.

After every step the sandbox's state must equal ``expected_dingtalk``: computed from the
directory (and the model's memory of DingTalk-side edits) by this file alone, never by the
planner. At the end of each example a full sync must make no write call. `make test` runs a
few examples; `make fuzz-sync` runs hundreds (FUZZ_SYNC_EXAMPLES).

Every failure this test found is kept as a plain example in test_sync_convergence.py.
"""

import itertools
import os
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from dtconsole.access.services import SYSTEM
from dtconsole.directory import services as directory
from dtconsole.directory.models import Account, Membership, Organization
from dtconsole.providers.models import IdentityProvider
from dtconsole.providers.services import provider_client
from dtconsole.sync import engine
from dtconsole.sync.changes import enqueue_incremental
from dtconsole.sync.models import (
    DepartmentLink,
    PendingChange,
    SyncEvent,
    SyncJob,
    UserConflict,
    UserLink,
)
from tests.factories import make_provider
from tests.test_sync_engine import WRITE_PATHS

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("FUZZ_SYNC_EXAMPLES", "6"))
STEPS = int(os.environ.get("FUZZ_SYNC_STEPS", "25"))
# Shrinking replays examples against the sandbox: thorough but slow; FUZZ_SYNC_SHRINK=0 skips it.
SHRINK = os.environ.get("FUZZ_SYNC_SHRINK", "1") != "0"
ROOT_DEPT = 1
pick = st.integers(min_value=0, max_value=10**6)


@dataclass
class Twin:
    userid: str
    mobile: str


@dataclass
class Memory:
    """What the model knows of DingTalk beyond the directory: edits made there."""

    outside: dict[int, set[int]] = field(default_factory=dict)  # account -> kept dept ids
    adopted: dict[int, str] = field(default_factory=dict)  # account -> a twin's userid
    twins: dict[int, Twin] = field(default_factory=dict)  # account -> twin waiting in DingTalk


# --- the oracle: what DingTalk must hold, from the directory alone ------------------------------


def dept_path(org: Organization, root: Organization, merge: bool) -> tuple[str, ...]:
    """The department's place under the target: names from the scope's organisation down
    (the scope's organisation itself excluded when its contents merge into the target)."""
    chain = []
    node = org
    while node is not None:
        chain.append(node.name)
        if node.pk == root.pk:
            break
        node = node.parent
    chain.reverse()
    return tuple(chain[1:] if merge else chain)


def expected_dingtalk(provider: IdentityProvider, memory: Memory):
    """(departments: path -> order, users: userid -> attributes) DingTalk must hold under the
    target, computed from the directory without the planner."""
    scope = provider.scopes.select_related("organization").get()
    root, merge = scope.organization, scope.placement == "merge"
    in_scope = {
        o.pk: o
        for o in Organization.objects.filter(path__startswith=root.path).select_related("parent")
    }
    depts = {
        dept_path(o, root, merge): o.order
        for o in in_scope.values()
        if not (merge and o.pk == root.pk)
    }
    users = {}
    for account in Account.objects.filter(status="active").order_by("pk"):
        memberships = list(
            Membership.objects.filter(account=account).order_by("-is_primary", "order", "id")
        )
        inside = [m.organization_id for m in memberships if m.organization_id in in_scope]
        if not provider.multi_org_enabled:
            primary = memberships[0].organization_id if memberships else None
            inside = [primary] if primary in in_scope else []
        if not inside:
            continue
        userid = _expected_userid(account, memory)  # before reading memory: it may adopt
        users[userid] = {
            "name": account.display_name,
            "mobile": account.mobile,
            "title": account.title,
            "depts": {dept_path(in_scope[o], root, merge) for o in inside},
            "outside": set(memory.outside.get(account.pk, set())),
        }
    return depts, users


def _expected_userid(account: Account, memory: Memory) -> str:
    twin = memory.twins.get(account.pk)
    if twin is not None and twin.mobile == account.mobile:
        # The account meets its twin when created: DingTalk says the mobile is taken, and the
        # mapping identity (userid, mobile, …) adopts that user, in its department outside.
        del memory.twins[account.pk]
        memory.adopted[account.pk] = twin.userid
        memory.outside.setdefault(account.pk, set()).add(ROOT_DEPT)
    return memory.adopted.get(account.pk, account.username)


def actual_dingtalk(sandbox, provider: IdentityProvider):
    """The same two maps read from the sandbox's state: what lies under the target."""
    corp = next(
        c for c in sandbox.control("GET", "state")["corps"] if c["corp_id"] == provider.corp_id
    )
    by_id = {int(d["dept_id"]): d for d in corp["departments"]}
    target = provider.scopes.get().target_dept_id

    def path(dept_id: int) -> tuple[str, ...] | None:
        names = []
        while dept_id != target:
            dept = by_id.get(dept_id)
            if dept is None or dept_id == ROOT_DEPT:
                return None  # not under the target
            names.append(dept["name"])
            dept_id = int(dept["parent_id"])
        return tuple(reversed(names))

    depts = {path(d): by_id[d]["order"] for d in by_id if d != target and path(d) is not None}
    users = {}
    for user in corp["users"]:
        inside = {path(d) for d in user["dept_ids"] if path(d) is not None}
        if not inside:
            continue
        users[user["userid"]] = {
            "name": user["name"],
            "mobile": user["mobile"],
            "title": user["title"],
            "depts": inside,
            "outside": {d for d in user["dept_ids"] if path(d) is None},
        }
    return depts, users


# --- the state machine --------------------------------------------------------------------------


class SyncModel(RuleBasedStateMachine):
    sandbox = None  # set by the test

    def __init__(self) -> None:
        super().__init__()
        self.memory = Memory()
        self.names = itertools.count(1)
        self.provider: IdentityProvider | None = None

    # setup ------------------------------------------------------------------------------

    @initialize(multi_org=st.booleans(), merge=st.booleans())
    def bind(self, multi_org: bool, merge: bool) -> None:
        for model in (SyncJob, UserConflict, PendingChange, UserLink, DepartmentLink):
            model.objects.all().delete()
        IdentityProvider.objects.all().delete()
        Account.objects.all().delete()
        depths = Organization.objects.values_list("depth", flat=True).distinct()
        for depth in sorted(depths, reverse=True):  # children first: parent is protected
            Organization.objects.filter(depth=depth).delete()
        self.sandbox.control("POST", "reset")
        app = self.sandbox.app()
        self.root = directory.organization_create(SYSTEM, name="Root", code="root")
        self.outside = directory.organization_create(SYSTEM, name="Outside", code="outside")
        provider = make_provider(
            self.sandbox,
            app,
            [],
            incremental_enabled=True,
            multi_org_enabled=multi_org,
            deletion_threshold_count=10**6,
            deletion_threshold_percent=100,
        )
        with provider_client(provider, shared_token=False) as client:
            target = client.department_create("Target", ROOT_DEPT)
            self.elsewhere = client.department_create("Elsewhere", ROOT_DEPT)
        provider.scopes.create(
            organization=self.root, target_dept_id=target, placement="merge" if merge else "under"
        )
        self.provider = provider
        self.full_sync()

    # helpers ----------------------------------------------------------------------------

    def name(self, prefix: str) -> str:
        return f"{prefix}{next(self.names)}"

    def mobile(self) -> str:
        return f"139{next(self.names):08d}"

    def orgs(self, *, movable: bool = False) -> list[Organization]:
        orgs = list(Organization.objects.order_by("pk"))
        fixed = {self.root.pk, self.outside.pk}
        return [o for o in orgs if o.pk not in fixed] if movable else orgs

    def accounts(self) -> list[Account]:
        return list(Account.objects.order_by("pk"))

    def run_incremental(self) -> None:
        enqueue_incremental([self.provider.pk])
        self.run_queued()

    def run_queued(self) -> None:
        for _ in range(5):  # a run may queue a follow-up; never more than a few
            jobs = list(SyncJob.objects.filter(status="queued").order_by("id"))
            if not jobs:
                return
            for job in jobs:
                engine.run_job(job.pk)
                job.refresh_from_db()
                assert job.status == "succeeded", (job.status, job.error_text, failed_events(job))

    def full_sync(self) -> SyncJob:
        from dtconsole.sync.services import sync_job_enqueue

        job = sync_job_enqueue(SYSTEM, self.provider, kind="full", trigger="manual")
        engine.run_job(job.pk)
        job.refresh_from_db()
        assert job.status == "succeeded", (job.error_text, failed_events(job))
        return job

    def client(self):
        return provider_client(self.provider, shared_token=False)

    def in_dingtalk(self) -> dict[str, dict]:
        return actual_dingtalk(self.sandbox, self.provider)[1]

    def userid_of(self, account: Account) -> str | None:
        link = UserLink.objects.filter(provider=self.provider, account_ref=account.pk).first()
        return link.userid if link else None

    # directory: organisations -----------------------------------------------------------

    @rule(parent=pick)
    def create_org(self, parent: int) -> None:
        orgs = self.orgs()
        directory.organization_create(
            SYSTEM, name=self.name("组织"), parent=orgs[parent % len(orgs)], order=parent % 3
        )
        self.run_incremental()

    @precondition(lambda self: self.orgs(movable=True))
    @rule(which=pick)
    def rename_org(self, which: int) -> None:
        orgs = self.orgs(movable=True)
        org = orgs[which % len(orgs)]
        directory.organization_update(
            SYSTEM, org, name=self.name("改名"), code=org.code, order=which % 4
        )
        self.run_incremental()

    @precondition(lambda self: self.orgs(movable=True))
    @rule(which=pick, parent=pick)
    def move_org(self, which: int, parent: int) -> None:
        orgs = self.orgs(movable=True)
        org = orgs[which % len(orgs)]
        targets = [o for o in self.orgs() if not o.path.startswith(org.path)]
        directory.organization_move(SYSTEM, org, targets[parent % len(targets)])
        self.run_incremental()

    @precondition(lambda self: any(not o.children.exists() for o in self.orgs(movable=True)))
    @rule(which=pick)
    def delete_org(self, which: int) -> None:
        leaves = [o for o in self.orgs(movable=True) if not o.children.exists()]
        directory.organization_delete(SYSTEM, leaves[which % len(leaves)])
        self.run_incremental()

    # directory: accounts ----------------------------------------------------------------

    @rule(first=pick, second=pick, two=st.booleans())
    def create_account(self, first: int, second: int, two: bool) -> None:
        orgs = self.orgs()
        chosen = [orgs[first % len(orgs)]]
        if two and orgs[second % len(orgs)] not in chosen:
            chosen.append(orgs[second % len(orgs)])
        n = next(self.names)
        directory.account_create(
            SYSTEM,
            organizations=chosen,
            username=f"u{n}",
            display_name=f"成员{n}",
            mobile=self.mobile(),
            email=f"u{n}@example.com",
            title=f"title {n % 3}",
        )
        self.run_incremental()

    @precondition(lambda self: self.accounts())
    @rule(which=pick, what=st.sampled_from(["title", "display_name", "mobile"]))
    def edit_account(self, which: int, what: str) -> None:
        accounts = self.accounts()
        account = accounts[which % len(accounts)]
        value = self.mobile() if what == "mobile" else self.name("新")
        directory.account_update(SYSTEM, account, **{what: value})
        self.run_incremental()

    @precondition(lambda self: self.accounts())
    @rule(which=pick)
    def toggle_account(self, which: int) -> None:
        accounts = self.accounts()
        account = accounts[which % len(accounts)]
        status = "disabled" if account.status == "active" else "active"
        directory.account_set_status(SYSTEM, account, status)
        self.run_incremental()

    @precondition(lambda self: self.accounts())
    @rule(which=pick)
    def delete_account(self, which: int) -> None:
        accounts = self.accounts()
        directory.account_delete(SYSTEM, accounts[which % len(accounts)])
        self.run_incremental()

    @precondition(lambda self: self.accounts())
    @rule(which=pick, org=pick, primary=st.booleans())
    def add_membership(self, which: int, org: int, primary: bool) -> None:
        account = self.accounts()[which % len(self.accounts())]
        orgs = [o for o in self.orgs() if not account.memberships.filter(organization=o).exists()]
        if orgs:
            directory.membership_add(SYSTEM, account, orgs[org % len(orgs)], primary=primary)
            self.run_incremental()

    @precondition(lambda self: Membership.objects.exists())
    @rule(which=pick)
    def remove_membership(self, which: int) -> None:
        memberships = list(Membership.objects.select_related("organization").order_by("pk"))
        directory.membership_remove(SYSTEM, memberships[which % len(memberships)])
        self.run_incremental()

    @precondition(lambda self: Membership.objects.filter(is_primary=False).exists())
    @rule(which=pick)
    def make_primary(self, which: int) -> None:
        memberships = list(Membership.objects.filter(is_primary=False).order_by("pk"))
        directory.membership_set_primary(SYSTEM, memberships[which % len(memberships)])
        self.run_incremental()

    # DingTalk-side edits ----------------------------------------------------------------

    def synced_accounts(self) -> list[Account]:
        present = self.in_dingtalk()
        return [a for a in self.accounts() if self.userid_of(a) in present]

    @precondition(lambda self: self.synced_accounts())
    @rule(which=pick)
    def dingtalk_deletes_a_user(self, which: int) -> None:
        accounts = self.synced_accounts()
        account = accounts[which % len(accounts)]
        with self.client() as client:
            client.user_delete(self.userid_of(account))
        self.memory.outside.pop(account.pk, None)
        self.memory.adopted.pop(account.pk, None)
        self.full_sync()  # a deleted user comes back with the next full sync

    @precondition(lambda self: DepartmentLink.objects.exists())
    @rule(which=pick)
    def dingtalk_renames_a_department(self, which: int) -> None:
        links = list(DepartmentLink.objects.order_by("pk"))
        with self.client() as client:
            client.department_update(links[which % len(links)].dept_id, name=self.name("钉钉改名"))
        self.full_sync()  # and the next full sync names it back

    @precondition(lambda self: self.synced_accounts())
    @rule(which=pick)
    def dingtalk_adds_a_user_outside_every_target(self, which: int) -> None:
        accounts = self.synced_accounts()
        account = accounts[which % len(accounts)]
        userid = self.userid_of(account)
        with self.client() as client:
            current = client.user_get(userid).dept_id_list
            client.user_update(userid, {"dept_id_list": [*current, self.elsewhere]})
        self.memory.outside.setdefault(account.pk, set()).add(self.elsewhere)

    def absent_accounts(self) -> list[Account]:
        _depts, users = expected_dingtalk(self.provider, self.memory)
        taken = {u["mobile"] for u in self.in_dingtalk().values()}
        anywhere = self.everyone_in_dingtalk()
        return [
            a
            for a in self.accounts()
            if a.username not in users
            and a.username not in anywhere
            and a.pk not in self.memory.twins
            and a.mobile not in taken
        ]

    def everyone_in_dingtalk(self) -> set[str]:
        corp = next(
            c
            for c in self.sandbox.control("GET", "state")["corps"]
            if c["corp_id"] == self.provider.corp_id
        )
        return {u["userid"] for u in corp["users"]}

    @precondition(lambda self: self.absent_accounts())
    @rule(which=pick, by_userid=st.booleans())
    def dingtalk_has_a_twin_of_an_absent_account(self, which: int, by_userid: bool) -> None:
        """A DingTalk user outside every target that holds the account's mobile, or its
        username as userid: when the account comes into scope it adopts that user."""
        accounts = self.absent_accounts()
        account = accounts[which % len(accounts)]
        userid = account.username if by_userid else f"twin{next(self.names)}"
        mobile = self.mobile() if by_userid else account.mobile
        self.sandbox.control(
            "POST",
            "users",
            corp_id=self.provider.corp_id,
            userid=userid,
            name="Twin",
            mobile=mobile,
            dept_id_list=[ROOT_DEPT],
        )
        self.memory.twins[account.pk] = Twin(userid, account.mobile)

    # invariants -------------------------------------------------------------------------

    @invariant()
    def dingtalk_holds_what_the_directory_says(self) -> None:
        if self.provider is None:
            return
        expected = expected_dingtalk(self.provider, self.memory)
        present = {a.pk for a in self.accounts()}
        for mapping in (self.memory.outside, self.memory.adopted):
            for account_id in [a for a in mapping if a not in present]:
                del mapping[account_id]
        actual = actual_dingtalk(self.sandbox, self.provider)
        assert actual[0] == expected[0], f"departments differ: {diff(actual[0], expected[0])}"
        assert actual[1] == expected[1], f"users differ: {diff(actual[1], expected[1])}"
        self._forget_the_absent(expected[1])

    def _forget_the_absent(self, users: dict) -> None:
        """An account DingTalk no longer holds loses what DingTalk kept for its user."""
        for account in self.accounts():
            if self.memory.adopted.get(account.pk, account.username) not in users:
                self.memory.outside.pop(account.pk, None)
                self.memory.adopted.pop(account.pk, None)

    def teardown(self) -> None:
        if self.provider is None:
            return
        self.sandbox.control("POST", "calls/reset")
        self.full_sync()
        written = {
            path: n
            for path, n in self.sandbox.calls().get(self.provider.app_key, {}).items()
            if path.rsplit("/", 1)[-1] in WRITE_PATHS
        }
        assert written == {}, f"a full sync after the example still wrote: {written}"


def diff(actual: dict, expected: dict) -> dict:
    """Keys whose values differ: (DingTalk's, the oracle's)."""
    keys = set(actual) | set(expected)
    return {k: (actual.get(k), expected.get(k)) for k in keys if actual.get(k) != expected.get(k)}


def failed_events(job: SyncJob) -> list:
    return [
        (e.source_key, e.action, e.text, e.detail)
        for e in SyncEvent.objects.filter(job=job).exclude(status="success")
    ]


def test_incremental_runs_converge_to_what_the_directory_says(sandbox):
    SyncModel.sandbox = sandbox
    run_state_machine_as_test(
        SyncModel,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=EXAMPLES <= 10,  # `make test`: the same examples every run
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[p for p in Phase if SHRINK or p is not Phase.shrink],
        ),
    )
