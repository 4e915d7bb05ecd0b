"""Sync objects by type, action and status: each job's events added to ``ObjectTotal``.

Counting at scrape time would group a table of millions of events; instead a job's events
are grouped once, through the job's own index, when it ends (or stops for approval), and
added to a table of a few dozen rows. ``CountedJob`` remembers the last event counted, so a
job counted when it stopped for approval adds only its newer events when it ends.
"""

import logging

from django.db import transaction
from django.db.models import Count, Max

from dtconsole.sync.models import SyncEvent, SyncJob

from . import calls, totals
from .models import CountedJob, ObjectTotal

log = logging.getLogger(__name__)


def count_job_events(job_id: int) -> int:
    """Add the job's events not counted yet to ``ObjectTotal``; returns how many."""
    with transaction.atomic():
        mark, _created = CountedJob.objects.select_for_update().get_or_create(job_id=job_id)
        groups = list(
            SyncEvent.objects.filter(job_id=job_id, id__gt=mark.last_event_id)
            .values_list("object_type", "action", "status")
            .annotate(n=Count("id"), last=Max("id"))
            .order_by()
        )
        if not groups:
            return 0
        rows = [(kind, action, status, n) for kind, action, status, n, _last in groups]
        totals.add(ObjectTotal, ("object_type", "action", "status"), ("total",), rows)
        mark.last_event_id = max(last for *_group, last in groups)
        mark.save(update_fields=["last_event_id"])
        return sum(n for *_group, n, _last in groups)


def job_finished(job: SyncJob) -> None:
    """The engine's hook when a job ends or stops for approval: count its events and save
    this process's DingTalk call counts. Never fails the job (metrics only)."""
    try:
        count_job_events(job.pk)
        calls.flush_calls()
    except Exception:
        log.exception("metrics of sync job %s not recorded", job.pk)
