"""Sync objects by type, action and status: each job's events added once to ObjectTotal."""

import pytest

from dtconsole.access.services import SYSTEM
from dtconsole.directory import services as directory
from dtconsole.directory.models import Account
from dtconsole.monitoring.models import CountedJob, ObjectTotal
from dtconsole.monitoring.tallies import count_job_events
from dtconsole.sync import engine
from dtconsole.sync.models import SyncEvent, SyncJob
from dtconsole.sync.services import sync_job_approve, sync_job_enqueue
from tests.factories import make_account, make_org, make_provider

pytestmark = pytest.mark.django_db


def object_totals() -> dict[tuple[str, str, str], int]:
    return {(r.object_type, r.action, r.status): r.total for r in ObjectTotal.objects.all()}


def event_counts() -> dict[tuple[str, str, str], int]:
    counts: dict[tuple[str, str, str], int] = {}
    for key in SyncEvent.objects.values_list("object_type", "action", "status"):
        counts[key] = counts.get(key, 0) + 1
    return counts


def account(username: str) -> Account:
    return Account.objects.get(username=username)


def run_full(provider) -> SyncJob:
    job = sync_job_enqueue(SYSTEM, provider, kind="full", trigger="manual")
    engine.run_job(job.pk)
    job.refresh_from_db()
    return job


@pytest.fixture
def provider(sandbox):
    company = make_org("Company", code="co")
    team = make_org("Team", parent=company, code="tm")
    for name in ("ann", "bob", "cai"):
        make_account(name, orgs=[team])
    return make_provider(sandbox, sandbox.app(), [(company, 1)])


def test_a_finished_job_adds_its_events_by_type_action_and_status(provider):
    job = run_full(provider)
    assert job.status == "succeeded"
    assert object_totals() == event_counts()
    assert object_totals()[("user", "create", "success")] == 3
    assert CountedJob.objects.get(job=job).last_event_id == job.events.order_by("-id")[0].pk


def test_counting_a_job_again_adds_nothing(provider):
    job = run_full(provider)
    before = object_totals()
    assert count_job_events(job.pk) == 0
    assert object_totals() == before


def test_totals_keep_adding_over_jobs(provider):
    run_full(provider)
    directory.account_update(SYSTEM, account("ann"), title="Lead")
    run_full(provider)
    assert object_totals() == event_counts()
    assert object_totals()[("user", "update", "success")] == 1


def test_a_job_stopped_for_approval_is_counted_then_adds_only_its_later_events(
    provider, admin_user
):
    run_full(provider)
    provider.deletion_threshold_count = 1
    provider.deletion_threshold_percent = 100
    provider.save()
    for name in ("ann", "bob"):
        directory.account_delete(SYSTEM, account(name))
    job = run_full(provider)
    assert job.status == "awaiting_approval"
    assert object_totals()[("user", "delete", "planned")] == 2
    sync_job_approve(admin_user, job)
    engine.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    assert object_totals() == event_counts()  # the planned events were not added twice
    assert object_totals()[("user", "delete", "success")] == 2


def test_deleting_old_jobs_leaves_the_totals_alone(provider):
    job = run_full(provider)
    before = object_totals()
    job.delete()
    assert object_totals() == before and not CountedJob.objects.exists()
