"""Deletion safety: the rolling threshold across jobs, approvals bound to the plan, rejection,
cancellation and protected adopted users, against the sandbox over HTTP."""

import pytest

from dtconsole.access.services import SYSTEM
from dtconsole.directory import services as directory
from dtconsole.sync import engine
from dtconsole.sync.models import PendingChange, SyncEvent, SyncJob, UserLink
from dtconsole.sync.services import sync_job_approve, sync_job_cancel, sync_job_reject
from tests.factories import make_account, make_org, make_provider
from tests.test_sync_engine import dingtalk, run_full
from tests.test_sync_incremental import edit, run_queued

pytestmark = pytest.mark.django_db


@pytest.fixture
def company(sandbox):
    """27 accounts in one team, synced once; threshold 50 objects or 10 %, window 24 h."""
    company = make_org("Company", code="co")
    team = make_org("Team", parent=company, code="team")
    people = [
        make_account(f"p{n:02d}", orgs=[team], display_name=f"员工{n:02d}") for n in range(27)
    ]
    provider = make_provider(sandbox, sandbox.app(), [(company, 1)], incremental_enabled=True)
    assert run_full(provider).status == "succeeded"
    return provider, team, people


def users_in_dingtalk(sandbox, provider) -> set[str]:
    return set(dingtalk(sandbox, provider.corp_id)[1])


def decide_and_run(service, admin_user, job) -> SyncJob:
    service(admin_user, job)
    engine.run_job(job.pk)
    job.refresh_from_db()
    return job


def test_eleven_single_account_runs_cannot_pass_the_threshold_one_at_a_time(
    sandbox, company, django_capture_on_commit_callbacks
):
    provider, _team, people = company
    outcomes = []
    for person in people[:11]:
        edit(django_capture_on_commit_callbacks, directory.account_delete, person)
        outcomes.extend(job.status for job in run_queued())
    # 28 objects managed (27 users + 1 department): 2 deletions are 7 %, a third is 10.7 %.
    # Later changes wait behind the stopped job instead of starting jobs of their own.
    assert outcomes == ["succeeded", "succeeded", "awaiting_approval"]
    stopped = SyncJob.objects.get(status="awaiting_approval")
    assert "2 already made in the last 24 hours" in stopped.error_text
    assert "10%" in stopped.error_text and "50 objects" in stopped.error_text
    assert stopped.finished_at is None
    remaining = users_in_dingtalk(sandbox, provider)
    assert {p.username for p in people[2:11]} <= remaining
    # The deletions wait as pending changes: nothing was consumed by the stopped run.
    assert PendingChange.objects.filter(provider=provider, object_type="account").count() == 9


def test_approving_a_stopped_incremental_job_holds_what_came_since_for_a_new_approval(
    sandbox, company, admin_user, django_capture_on_commit_callbacks
):
    provider, _team, people = company
    for person in people[:6]:
        edit(django_capture_on_commit_callbacks, directory.account_delete, person)
        run_queued()
    stopped = SyncJob.objects.get(status="awaiting_approval")
    assert [d["key"] for d in stopped.planned_deletions] == ["p02"]
    job = decide_and_run(sync_job_approve, admin_user, stopped)
    assert "p02" not in users_in_dingtalk(sandbox, provider)
    assert {"p03", "p04", "p05"} <= users_in_dingtalk(sandbox, provider)
    assert "3 deletions were planned after the approval" in job.error_text
    (follow,) = run_queued()
    assert follow.status == "awaiting_approval"
    assert sorted(d["key"] for d in follow.planned_deletions) == ["p03", "p04", "p05"]


def test_an_approval_applies_exactly_the_listed_deletions_while_newer_ones_wait(
    sandbox, company, admin_user
):
    provider, _team, people = company
    provider.deletion_threshold_count = 2
    provider.deletion_threshold_percent = 100
    provider.save()
    for person in people[:4]:
        directory.account_delete(SYSTEM, person)
    job = run_full(provider)
    assert job.status == "awaiting_approval"
    assert sorted(d["key"] for d in job.planned_deletions) == ["p00", "p01", "p02", "p03"]
    assert {d["name"] for d in job.planned_deletions} >= {"员工00"}
    for person in people[4:6]:  # two more leave while the job waits
        directory.account_delete(SYSTEM, person)
    job = decide_and_run(sync_job_approve, admin_user, job)
    assert job.status == "succeeded", job.error_text
    remaining = users_in_dingtalk(sandbox, provider)
    assert not {"p00", "p01", "p02", "p03"} & remaining
    assert {"p04", "p05"} <= remaining
    assert "held for a new approval" in job.error_text
    follow = SyncJob.objects.filter(status="queued").get()
    engine.run_job(follow.pk)
    follow.refresh_from_db()
    assert follow.status == "awaiting_approval"
    assert sorted(d["key"] for d in follow.planned_deletions) == ["p04", "p05"]


def test_approving_an_incremental_job_applies_its_deletions_and_every_other_change(
    sandbox, company, admin_user, django_capture_on_commit_callbacks
):
    provider, _team, people = company
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for person in people[:4]:
            directory.account_set_status(SYSTEM, person, "disabled")
        directory.account_update(SYSTEM, people[10], title="Team lead")
    (job,) = run_queued()
    assert job.status == "awaiting_approval"
    _, users = dingtalk(sandbox, provider.corp_id)
    assert users["p10"].get("title") != "Team lead"  # held with the deletions
    job = decide_and_run(sync_job_approve, admin_user, job)
    assert job.status == "succeeded", job.error_text
    _, users = dingtalk(sandbox, provider.corp_id)
    assert users["p10"]["title"] == "Team lead"
    assert not {"p00", "p01", "p02", "p03"} & set(users)
    assert not PendingChange.objects.filter(provider=provider).exists()
    planned = SyncEvent.objects.filter(job=job, status=SyncEvent.Status.PLANNED)
    assert planned.count() == 4 and all("stopped for approval" in e.message for e in planned)
    # The counters say what the run applied, not what it had planned when it stopped.
    assert "planned" not in job.counters and "pending_deletions" not in job.counters
    assert job.counters["user_delete"] == 4 and job.counters["user_update"] == 1


def test_rejecting_applies_the_other_changes_and_leaves_the_deletions_for_a_later_run(
    sandbox, company, admin_user, django_capture_on_commit_callbacks
):
    provider, _team, people = company
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for person in people[:4]:
            directory.account_set_status(SYSTEM, person, "disabled")
        directory.account_update(SYSTEM, people[10], title="Team lead")
    (job,) = run_queued()
    job = decide_and_run(sync_job_reject, admin_user, job)
    assert job.status == "rejected" and job.finished_at is not None
    _, users = dingtalk(sandbox, provider.corp_id)
    assert users["p10"]["title"] == "Team lead"
    assert {"p00", "p01", "p02", "p03"} <= set(users)
    rejected = SyncEvent.objects.filter(job=job, status="rejected")
    assert sorted(rejected.values_list("source_key", flat=True)) == ["p00", "p01", "p02", "p03"]
    assert rejected.first().get_status_display() == "Not applied (rejected)"
    # The next run plans them again (and stops again: they are still over the threshold).
    edit(django_capture_on_commit_callbacks, directory.account_update, people[11], title="New")
    (again,) = run_queued()
    assert again.status == "awaiting_approval"
    assert sorted(d["key"] for d in again.planned_deletions) == ["p00", "p01", "p02", "p03"]


def test_cancelling_a_waiting_job_applies_nothing_and_says_so_on_its_events(
    sandbox, company, admin_user
):
    provider, _team, people = company
    provider.deletion_threshold_count = 1
    provider.save()
    for person in people[:3]:
        directory.account_delete(SYSTEM, person)
    job = run_full(provider)
    sync_job_cancel(admin_user, job)
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert not SyncEvent.objects.filter(job=job, status="planned").exists()
    assert SyncEvent.objects.filter(job=job, status="skipped").count() == 3
    assert {"p00", "p01", "p02"} <= users_in_dingtalk(sandbox, provider)


def test_a_protected_adopted_user_is_unlinked_instead_of_deleted(sandbox, admin_user):
    company = make_org("Company", code="co")
    ann = make_account("ann", orgs=[company], mobile="13911112222")
    bob = make_account("bob", orgs=[company])
    provider = make_provider(
        sandbox, sandbox.app(), [(company, 1)], protect_adopted=True, deletion_threshold_percent=100
    )
    sandbox.control(
        "POST",
        "users",
        corp_id=provider.corp_id,
        userid="dt-ann",
        name="Ann before the console",
        mobile="13911112222",
        dept_id_list=[1],
    )
    assert run_full(provider).status == "succeeded"
    assert UserLink.objects.get(account_ref=ann.pk).origin == "adopted"
    assert UserLink.objects.get(account_ref=bob.pk).origin == "created"
    directory.account_delete(SYSTEM, ann)
    directory.account_delete(SYSTEM, bob)
    job = run_full(provider)
    assert job.status == "succeeded", job.error_text
    users = users_in_dingtalk(sandbox, provider)
    assert "dt-ann" in users and "bob" not in users
    kept = SyncEvent.objects.get(job=job, source_key="ann")
    assert kept.action == "skip" and "protects adopted users" in kept.text
    assert not UserLink.objects.filter(account_ref=ann.pk).exists()


def test_the_keep_policy_never_stops_for_approval_and_deletes_nothing(sandbox, company):
    provider, _team, people = company
    provider.delete_policy = "unlink"
    provider.save()
    for person in people[:10]:
        directory.account_delete(SYSTEM, person)
    job = run_full(provider)
    assert job.status == "succeeded"
    assert {p.username for p in people[:10]} <= users_in_dingtalk(sandbox, provider)
    assert job.counters.get("user_skip") == 10


def test_an_approved_run_still_only_deletes_what_was_listed_when_nothing_newer_came(
    sandbox, company, admin_user
):
    provider, _team, people = company
    provider.deletion_threshold_count = 1
    provider.deletion_threshold_percent = 100
    provider.save()
    directory.account_delete(SYSTEM, people[0])
    directory.account_delete(SYSTEM, people[1])
    job = decide_and_run(sync_job_approve, admin_user, run_full(provider))
    assert job.status == "succeeded" and job.error == ""
    assert job.counters["user_delete"] == 2
