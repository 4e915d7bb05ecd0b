"""Notice jobs whose worker died and resume them; start scheduled full syncs."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Max, Q
from django.utils import timezone

from dtconsole.access.services import SYSTEM
from dtconsole.providers.models import IdentityProvider

from .engine import stale_before
from .models import SyncJob

log = logging.getLogger(__name__)


def resume_stale_jobs() -> list[int]:
    """Send jobs that lost their worker back to a worker.

    A running job that stopped beating goes back to the queue. A queued job that has waited
    past the same limit while nothing live holds its provider was lost between the broker
    and a worker (one died after taking the task): it is dispatched again. Dispatching twice
    is harmless, a job is claimed once.
    """
    from .services import dispatch

    stale = stale_before()
    dead = SyncJob.objects.filter(status=SyncJob.Status.RUNNING, heartbeat_at__lt=stale)
    resumed = list(dead.values_list("pk", flat=True))
    for job_id in resumed:
        log.warning("sync job %s stopped beating: resuming it", job_id)
        SyncJob.objects.filter(pk=job_id, status=SyncJob.Status.RUNNING).update(
            status=SyncJob.Status.QUEUED
        )
    waiting = SyncJob.objects.filter(status=SyncJob.Status.QUEUED, created_at__lt=stale).filter(
        Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=stale)
    )
    live = SyncJob.objects.filter(status=SyncJob.Status.RUNNING, heartbeat_at__gte=stale)
    lost = waiting.exclude(provider__in=live.values("provider")).exclude(pk__in=resumed)
    for job_id in lost.order_by("id").values_list("pk", flat=True):
        log.warning(
            "sync job %s waited past %ss with no worker: dispatching it again",
            job_id,
            settings.SYNC_STALE_SECONDS,
        )
        resumed.append(job_id)
    for job_id in resumed:
        dispatch(job_id)
    return resumed


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
                SYSTEM, provider, kind=SyncJob.Kind.FULL, trigger=SyncJob.Trigger.SCHEDULE
            ).pk
        )
    return started


def _full_jobs() -> Q:
    return Q(sync_jobs__kind=SyncJob.Kind.FULL)
