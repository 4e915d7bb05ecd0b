"""Small helpers for the notification tests: a synced provider, failing and stopping jobs,
and what the DingTalk sandbox received. Test modules wrap the first two in fixtures."""

from connectors.dingtalk.scopes import SCOPES
from dtconsole.access.services import SYSTEM
from dtconsole.directory import services as directory
from dtconsole.notifications.services import notification_settings_update
from dtconsole.sync import engine
from dtconsole.sync.models import SyncJob
from dtconsole.sync.services import sync_job_enqueue
from tests.factories import make_account, make_org, make_provider
from tests.test_sync_engine import run_full


def run_tasks_inline(monkeypatch) -> None:
    """django-q2 runs each queued task at once, in this process (its documented sync mode):
    the engine's and watchdog's queued notifications are sent before the call returns."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)


def synced_provider(sandbox):
    """(provider, sandbox app, people): Ann, Bob and Cai synced once, so linked in DingTalk.
    The deletion threshold is 1, so deleting two of them stops the next run for approval."""
    company = make_org("Company", code="co")
    people = [
        make_account(name, orgs=[company], display_name=display)
        for name, display in (("ann", "Ann Admin"), ("bob", "Bob Ops"), ("cai", "Cai Wen"))
    ]
    app = sandbox.app()
    provider = make_provider(sandbox, app, [(company, 1)], deletion_threshold_count=1)
    assert run_full(provider).status == "succeeded"
    return provider, app, people


def choose(actor, provider, **data):
    """Switch notifications on for ann and bob (and whatever ``data`` says)."""
    values = {"enabled": True, "dingtalk_userids": ["ann", "bob"], **data}
    return notification_settings_update(actor, provider, values)


def run(job: SyncJob, capture) -> SyncJob:
    """Run ``job`` in this process, running what it schedules for after the commit."""
    with capture(execute=True):
        engine.run_job(job.pk)
    job.refresh_from_db()
    return job


def failing_job(sandbox, app, provider, capture) -> SyncJob:
    """A full sync that fails: the app lost the permission to read departments."""
    scopes = [s.code for s in SCOPES if s.code != "qyapi_get_department_list"]
    sandbox.app(**app, scopes=scopes)
    job = run(sync_job_enqueue(SYSTEM, provider, kind="full", trigger="manual"), capture)
    assert job.status == "failed", job.error_text
    return job


def waiting_job(people, provider, capture) -> SyncJob:
    """A full sync that stops for approval: two leavers pass the threshold of one."""
    for person in people[1:]:
        directory.account_delete(SYSTEM, person)
    job = run(sync_job_enqueue(SYSTEM, provider, kind="full", trigger="manual"), capture)
    assert job.status == "awaiting_approval", job.error_text
    return job


def received(sandbox) -> list[dict]:
    """The work notifications the sandbox received, oldest first."""
    return sandbox.control("GET", "messages")["messages"]
