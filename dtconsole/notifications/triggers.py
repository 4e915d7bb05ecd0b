"""Where notifications start: the end of a sync run, and the every-minute watchdog.

Both only queue work for a worker (``dtconsole.notifications.tasks``): nothing here calls
DingTalk or a mail server, so a run or the watchdog never waits for either.
"""

import logging

from django.db import transaction
from django.utils import timezone

from dtconsole.sync.models import SyncJob

from . import queries
from .models import Notification

log = logging.getLogger(__name__)

JOB_KINDS = {
    SyncJob.Status.FAILED: Notification.Kind.JOB_FAILED,
    SyncJob.Status.AWAITING_APPROVAL: Notification.Kind.JOB_AWAITING_APPROVAL,
}


def notify_job_finished(job: SyncJob) -> None:
    """Called by the engine as a run's outcome is saved: once the transaction commits,
    queue a notification of a failed job or one awaiting approval. No query, no call."""
    kind = JOB_KINDS.get(job.status)
    if kind is None:
        return
    job_id = job.pk
    # robust: a broker that refuses the task is logged, and never fails the run.
    transaction.on_commit(lambda: _queue("send_job_notification", job_id, kind), robust=True)


def check_freshness() -> list[int]:
    """Every minute (the sync watchdog): queue a notification for each provider past its
    freshness window that has not been told yet; the ids of those providers."""
    due = queries.stale_due(timezone.now())
    for provider_id in due:
        _queue("send_stale_notification", provider_id)
    return due


def _queue(task: str, *args) -> None:
    from django_q.tasks import async_task

    name = "-".join(["notify", *map(str, args)])
    async_task(f"dtconsole.notifications.tasks.{task}", *args, task_name=name)
