"""Reliability: faults, killed workers, malformed accounts and edits during a sync.

Each test ends by comparing DingTalk (the sandbox) with what the directory says it should
hold. `make test` runs a reduced size; `make reliability` sets RELIABILITY_SCALE=full.
"""

import os
import random
import time

import pytest
from django.utils import timezone

from dtconsole.access.services import SYSTEM
from dtconsole.directory import services as directory
from dtconsole.directory.models import Account, Membership
from dtconsole.sync import engine, watchdog
from dtconsole.sync.models import SyncEvent, SyncJob, UserLink
from dtconsole.sync.services import sync_job_enqueue
from tests.factories import make_account, make_org, make_provider
from tests.test_sync_engine import dingtalk
from tests.test_sync_worker import kill, start_worker, wait_for

FULL = os.environ.get("RELIABILITY_SCALE") == "full"
ACCOUNTS = 2000 if FULL else 120
MALFORMED = 1000 if FULL else 40

pytestmark = pytest.mark.django_db(transaction=True)


def build_directory(accounts: int, teams: int = 8):
    company = make_org("Company", code="co")
    groups = [make_org(f"Group{g}", parent=company, code=f"g{g}") for g in range(2)]
    units = [make_org(f"Team{t}", parent=groups[t % 2], code=f"t{t}") for t in range(teams)]
    for i in range(accounts):
        make_account(
            f"r{i:05d}", orgs=[units[i % teams]], mobile=f"136{i:08d}", email=f"r{i}@example.com"
        )
    return company


def expected_state() -> tuple[dict[str, str | None], dict[str, tuple]]:
    """What DingTalk should hold: dept name -> parent name; userid -> (name, title, dept)."""
    from dtconsole.directory.models import Organization

    orgs = {o.pk: o for o in Organization.objects.all()}
    depts = {
        o.name: (orgs[o.parent_id].name if o.parent_id and orgs[o.parent_id].parent_id else None)
        for o in orgs.values()
        if o.parent_id
    }
    users = {}
    for account in Account.objects.filter(status="active"):
        primary = (
            Membership.objects.filter(account=account, is_primary=True)
            .select_related("organization")
            .first()
        )
        if primary is None:
            continue
        dept = primary.organization.name if primary.organization.parent_id else None
        users[account.username] = (account.display_name, account.title or None, dept)
    return depts, users


def actual_state(sandbox, corp_id) -> tuple[dict[str, str | None], dict[str, tuple]]:
    depts, users = dingtalk(sandbox, corp_id)
    name = {d["dept_id"]: d["name"] for d in depts.values()}
    tree = {
        d["name"]: (name[d["parent_id"]] if d["parent_id"] != 1 else None)
        for d in depts.values()
        if d["dept_id"] != 1
    }
    people = {
        u["userid"]: (
            u["name"],
            u.get("title") or None,
            name[u["dept_ids"][0]] if u["dept_ids"] and u["dept_ids"][0] != 1 else None,
        )
        for u in users.values()
    }
    return tree, people


def assert_converged(sandbox, corp_id):
    want_depts, want_users = expected_state()
    got_depts, got_users = actual_state(sandbox, corp_id)
    assert got_depts == want_depts
    missing = set(want_users) - set(got_users)
    extra = set(got_users) - set(want_users)
    assert not missing and not extra, (sorted(missing)[:5], sorted(extra)[:5])
    wrong = {u: (got_users[u], want_users[u]) for u in want_users if got_users[u] != want_users[u]}
    assert not wrong, list(wrong.items())[:5]
    assert UserLink.objects.count() == len(want_users)


def run(provider) -> SyncJob:
    job = sync_job_enqueue(SYSTEM, provider, kind="full", trigger="manual")
    engine.run_job(job.pk)
    job.refresh_from_db()
    return job


def test_ten_percent_of_calls_failing_the_sync_converges_without_duplicates(sandbox, settings):
    settings.SYNC_THREADS = 4
    company = build_directory(ACCOUNTS)
    app = sandbox.app()
    provider = make_provider(sandbox, app, [(company, 1)])
    sandbox.control("POST", "faults", path="*", kind="random", rate=0.1, seed=7)
    job = run(provider)
    for _ in range(3):  # an object whose every retry failed is simply taken again next run
        if job.status == "succeeded":
            break
        job = run(provider)
    sandbox.control("DELETE", "faults")
    assert job.status == "succeeded", job.counters
    assert_converged(sandbox, app["corp_id"])


def test_a_worker_killed_three_times_converges_and_loses_no_event(sandbox, settings, tmp_path):
    settings.SYNC_STALE_SECONDS = 2
    company = build_directory(ACCOUNTS)
    # At DingTalk's standard 20 calls/s each fifth of the users takes over a second, so
    # every kill lands while the job is running, however fast its restart.
    app = sandbox.app(qps=20)
    provider = make_provider(sandbox, app, [(company, 1)], qps=20)
    worker = start_worker(tmp_path, 0)
    try:
        job = sync_job_enqueue(SYSTEM, provider, kind="full", trigger="manual")
        for kill_number in range(1, 4):
            threshold = ACCOUNTS * kill_number // 5
            wait_for(
                lambda t=threshold: (
                    UserLink.objects.count() >= t
                    and SyncJob.objects.filter(pk=job.pk, status="running").exists()
                ),
                120,
                f"{threshold} users",
            )
            kill(worker)
            time.sleep(2.5)
            worker = start_worker(tmp_path, kill_number)
            resumed = watchdog.resume_stale_jobs()
            snapshot = SyncJob.objects.values("status", "heartbeat_at").get(pk=job.pk)
            assert resumed == [job.pk], (kill_number, snapshot, timezone.now())
        wait_for(
            lambda: SyncJob.objects.get(pk=job.pk).status not in ("queued", "running"),
            180,
            "the job",
        )
    finally:
        kill(worker)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    assert_converged(sandbox, app["corp_id"])
    succeeded = SyncEvent.objects.filter(job=job, object_type="user", status="success")
    assert set(succeeded.values_list("source_key", flat=True)) == set(
        Account.objects.values_list("username", flat=True)
    )


def test_malformed_accounts_fail_with_a_reason_and_every_good_one_syncs(sandbox, settings):
    settings.SYNC_THREADS = 4
    company = build_directory(ACCOUNTS)
    team = company.children.first().children.first()
    rng = random.Random(3)
    bad = []
    for i in range(MALFORMED):  # written around the services, as a legacy import might have
        kind = ("mobile", "email", "name")[i % 3]
        account = Account.objects.create(
            username=f"bad{i:05d}",
            display_name="   " if kind == "name" else f"Bad {i}",
            mobile=f"12{rng.randrange(10**8):08d}" if kind == "mobile" else f"137{i:08d}",
            email=f"not-an-email-{i}" if kind == "email" else f"bad{i}@example.com",
        )
        Membership.objects.create(account=account, organization=team, is_primary=True)
        bad.append((account, kind))
    app = sandbox.app()
    provider = make_provider(sandbox, app, [(company, 1)])
    job = run(provider)
    assert job.status == "partial"
    failures = {e.source_key: e.text for e in SyncEvent.objects.filter(job=job, status="failed")}
    assert len(failures) == MALFORMED
    for account, kind in bad:
        assert kind in failures[account.username], failures[account.username]
    _, users = dingtalk(sandbox, app["corp_id"])
    good = set(
        Account.objects.exclude(username__startswith="bad").values_list("username", flat=True)
    )
    assert set(users) == good


def test_directory_edits_during_a_full_sync_all_reach_dingtalk(sandbox, tmp_path):
    company = build_directory(ACCOUNTS)
    app = sandbox.app(qps=40)
    provider = make_provider(sandbox, app, [(company, 1)], qps=40, incremental_enabled=True)
    worker = start_worker(tmp_path, 0)
    try:
        job = sync_job_enqueue(SYSTEM, provider, kind="full", trigger="manual")
        wait_for(lambda: UserLink.objects.count() >= ACCOUNTS // 4, 120, "the sync to be under way")
        rng = random.Random(5)
        accounts = list(Account.objects.order_by("pk"))
        teams = list(company.children.first().children.all())
        for account in rng.sample(accounts, min(30, len(accounts))):
            directory.account_update(SYSTEM, account, title=f"Edited {rng.randrange(1000)}")
        for account in rng.sample(accounts, 5):
            directory.membership_add(
                SYSTEM, account, rng.choice(teams), primary=True
            ) if not account.memberships.filter(organization__in=teams).exists() else None
        for account in rng.sample(accounts, 5):
            directory.account_set_status(SYSTEM, account, "disabled")
        directory.organization_update(
            SYSTEM, teams[0], name="Renamed Team", code=teams[0].code, order=0
        )

        def settled() -> bool:
            jobs = SyncJob.objects.filter(provider=provider)
            return (
                not jobs.filter(status__in=("queued", "running")).exists()
                and jobs.filter(pk=job.pk, status="succeeded").exists()
            )

        wait_for(settled, 180, "the full sync and the incremental jobs after it")
    finally:
        kill(worker)
    assert_converged(sandbox, app["corp_id"])
