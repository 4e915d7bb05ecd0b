"""Incremental and single-object synchronisation: directory changes reach DingTalk."""

import pytest

from dtconsole.access.services import SYSTEM
from dtconsole.directory import services as directory
from dtconsole.sync import engine
from dtconsole.sync.models import PendingChange, SyncEvent, SyncJob
from dtconsole.sync.services import sync_object_enqueue
from tests.factories import make_account, make_org, make_provider
from tests.test_sync_engine import dingtalk, run_full, writes

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(sandbox):
    company = make_org("Company", code="co")
    team = make_org("Team", parent=company, code="team")
    ann = make_account("ann", orgs=[team], title="Engineer")
    provider = make_provider(sandbox, sandbox.app(), [(company, 1)], incremental_enabled=True)
    return provider, company, team, ann


def edit(django_capture_on_commit_callbacks, fn, *args, **kw):
    """Run a directory service and its after-commit hooks, as a real request would."""
    with django_capture_on_commit_callbacks(execute=True):
        return fn(SYSTEM, *args, **kw)


def run_queued() -> list[SyncJob]:
    jobs = list(SyncJob.objects.filter(status="queued").order_by("id"))
    for job in jobs:
        engine.run_job(job.pk)
        job.refresh_from_db()
    return jobs


def test_incremental_sync_before_any_full_sync_is_refused_with_an_event(
    setup, django_capture_on_commit_callbacks
):
    provider, _, _, ann = setup
    edit(django_capture_on_commit_callbacks, directory.account_update, ann, title="Lead")
    (job,) = run_queued()
    assert job.kind == "incremental" and job.status == "failed"
    assert "needs one successful full sync first" in job.error_text
    event = SyncEvent.objects.get(job=job)
    assert (
        event.status == "skipped" and event.source_id == ann.pk and "full sync first" in event.text
    )


def test_an_account_edit_reaches_dingtalk_with_one_write(
    sandbox, setup, django_capture_on_commit_callbacks
):
    provider, _, _, ann = setup
    run_full(provider)
    sandbox.control("POST", "calls/reset")
    edit(django_capture_on_commit_callbacks, directory.account_update, ann, title="Lead")
    (job,) = run_queued()
    assert job.status == "succeeded", job.error
    _, users = dingtalk(sandbox, provider.corp_id)
    assert users["ann"]["title"] == "Lead"
    assert writes(sandbox.calls()) == 1
    event = SyncEvent.objects.get(job=job)
    assert event.changes == {"title": ["Engineer", "Lead"]}


def test_a_burst_of_edits_to_one_account_makes_one_job_and_one_write(
    sandbox, setup, django_capture_on_commit_callbacks
):
    provider, _, _, ann = setup
    run_full(provider)
    sandbox.control("POST", "calls/reset")
    for title in ("A", "B", "C", "D", "E"):
        edit(django_capture_on_commit_callbacks, directory.account_update, ann, title=title)
    assert PendingChange.objects.count() == 1
    jobs = run_queued()
    assert len(jobs) == 1
    assert writes(sandbox.calls()) == 1
    _, users = dingtalk(sandbox, provider.corp_id)
    assert users["ann"]["title"] == "E"


def test_new_accounts_renamed_and_deleted_organisations_follow(
    sandbox, setup, django_capture_on_commit_callbacks
):
    provider, company, team, ann = setup
    provider.deletion_threshold_percent = 100
    provider.save()
    run_full(provider)
    ed = lambda fn, *a, **k: edit(django_capture_on_commit_callbacks, fn, *a, **k)  # noqa: E731
    ed(directory.organization_update, team, name="Platform", code="team", order=0)
    newbie = ed(lambda _actor: make_account("newbie", orgs=[team]))
    ops = ed(directory.organization_create, name="Ops", parent=company, code="ops")
    run_queued()
    depts, users = dingtalk(sandbox, provider.corp_id)
    names = {d["name"] for d in depts.values()}
    assert {"Platform", "Ops"} <= names and "Team" not in names
    assert "newbie" in users
    ed(directory.organization_delete, ops)
    ed(directory.account_set_status, newbie, "disabled")
    run_queued()
    depts, users = dingtalk(sandbox, provider.corp_id)
    assert "Ops" not in {d["name"] for d in depts.values()} and "newbie" not in users


def test_a_membership_change_moves_the_user(sandbox, setup, django_capture_on_commit_callbacks):
    provider, company, team, ann = setup
    run_full(provider)
    other = edit(
        django_capture_on_commit_callbacks,
        directory.organization_create,
        name="Other",
        parent=company,
        code="oth",
    )
    run_queued()
    edit(django_capture_on_commit_callbacks, directory.membership_add, ann, other, primary=True)
    run_queued()
    depts, users = dingtalk(sandbox, provider.corp_id)
    other_id = next(d["dept_id"] for d in depts.values() if d["name"] == "Other")
    assert users["ann"]["dept_ids"] == [other_id]


def test_no_incremental_job_when_the_switch_is_off(setup, django_capture_on_commit_callbacks):
    provider, _, _, ann = setup
    provider.incremental_enabled = False
    provider.save()
    edit(django_capture_on_commit_callbacks, directory.account_update, ann, title="Lead")
    assert not SyncJob.objects.exists() and not PendingChange.objects.exists()


def test_a_single_object_re_push_of_an_unchanged_user_sends_nothing_and_says_so(
    sandbox, setup, admin_user
):
    provider, _, _, ann = setup
    run_full(provider)
    sandbox.control("POST", "calls/reset")
    job = sync_object_enqueue(admin_user, provider, "user", ann.pk)
    engine.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    assert sandbox.calls()[provider.app_key].get("/topapi/v2/user/update") is None
    event = SyncEvent.objects.get(job=job)
    assert event.status == "skipped" and "nothing was sent" in event.text
