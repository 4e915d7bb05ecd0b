"""The watchdog sends jobs that lost their worker back to a worker, and starts schedules."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dtconsole.providers.models import IdentityProvider
from dtconsole.sync import watchdog
from dtconsole.sync.models import SyncJob

pytestmark = pytest.mark.django_db


def job(provider, status, age_seconds, heartbeat_age=None) -> SyncJob:
    j = SyncJob.objects.create(provider=provider, kind="full", trigger="manual", status=status)
    now = timezone.now()
    beat = None if heartbeat_age is None else now - timedelta(seconds=heartbeat_age)
    SyncJob.objects.filter(pk=j.pk).update(
        created_at=now - timedelta(seconds=age_seconds), heartbeat_at=beat
    )
    return j


@pytest.fixture
def provider():
    return IdentityProvider.objects.create(
        name="P", corp_id="dingx", app_key="k", agent_id="1", step=IdentityProvider.Step.DONE
    )


def test_a_running_job_that_stopped_beating_is_queued_again(provider, settings):
    settings.SYNC_STALE_SECONDS = 60
    dead = job(provider, "running", 600, heartbeat_age=120)
    alive = job(provider, "running", 600, heartbeat_age=5)
    assert watchdog.resume_stale_jobs() == [dead.pk]
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.status == "queued" and alive.status == "running"


def test_a_queued_job_lost_by_a_dead_worker_is_dispatched_again(provider, settings):
    settings.SYNC_STALE_SECONDS = 60
    lost = job(provider, "queued", 600)
    fresh = job(provider, "queued", 5)
    assert watchdog.resume_stale_jobs() == [lost.pk]
    assert fresh.pk not in watchdog.resume_stale_jobs()


def test_a_queued_job_waiting_behind_a_live_run_is_left_alone(provider, settings):
    settings.SYNC_STALE_SECONDS = 60
    job(provider, "running", 600, heartbeat_age=5)
    job(provider, "queued", 600)
    assert watchdog.resume_stale_jobs() == []


def test_a_due_schedule_starts_a_full_sync_once(provider):
    provider.full_sync_interval_hours = 24
    provider.save()
    (started,) = watchdog.start_scheduled_syncs()
    assert SyncJob.objects.get(pk=started).trigger == "schedule"
    assert watchdog.start_scheduled_syncs() == []


def test_the_watchdog_task_records_that_a_worker_is_alive(settings):
    from datetime import timedelta

    from django.utils import timezone

    from dtconsole.sync import heartbeat, tasks
    from dtconsole.sync.models import WorkerHeartbeat

    assert not heartbeat.worker_alive()
    tasks.sync_watchdog()
    assert heartbeat.worker_alive()
    WorkerHeartbeat.objects.update(seen_at=timezone.now() - timedelta(seconds=91))
    assert not heartbeat.worker_alive()
