"""Notice jobs whose worker died and resume them; start scheduled full syncs."""

import logging
from datetime import timedelta

from django.db.models import Max, Q
from django.utils import timezone

from dtconsole.providers.models import IdentityProvider

from .engine import stale_before
from .models import SyncJob

log = logging.getLogger(__name__)


def resume_stale_jobs() -> list[int]:
    """Running jobs that stopped beating go back to the queue and are dispatched again."""
    from .services import dispatch

    stale = list(
        SyncJob.objects.filter(
            status=SyncJob.Status.RUNNING, heartbeat_at__lt=stale_before()
        ).values_list("pk", flat=True)
    )
    for job_id in stale:
        log.warning("sync job %s stopped beating: resuming it", job_id)
        SyncJob.objects.filter(pk=job_id, status=SyncJob.Status.RUNNING).update(
            status=SyncJob.Status.QUEUED
        )
        dispatch(job_id)
    return stale


def start_scheduled_syncs() -> list[int]:
    """A full sync for every bound provider whose schedule is due and that has none waiting."""
    from .services import sync_job_enqueue

    started = []
    due = IdentityProvider.objects.filter(
        step=IdentityProvider.Step.DONE, full_sync_interval_hours__gt=0
    )
    for provider in due.annotate(last=Max("sync_jobs__created_at", filter=_full_jobs())):
        if provider.last and provider.last > timezone.now() - timedelta(
            hours=provider.full_sync_interval_hours
        ):
            continue
        if SyncJob.objects.filter(provider=provider, status__in=SyncJob.ACTIVE_STATUSES).exists():
            continue
        started.append(
            sync_job_enqueue(
                None, provider, kind=SyncJob.Kind.FULL, trigger=SyncJob.Trigger.SCHEDULE
            ).pk
        )
    return started


def _full_jobs() -> Q:
    return Q(sync_jobs__kind=SyncJob.Kind.FULL)
