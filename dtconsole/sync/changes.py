"""Incremental sync: directory changes become pending changes and small jobs.

The directory services call ``record_changes`` inside their transaction, so a change and its
pending row commit (or roll back) together: nothing is lost if the process dies right after
the commit. One pending row per (provider, object) whatever the number of edits, and at most
one queued incremental job per provider: a burst of edits to one account makes one write.

A run reads the pending rows (``peek_pending``) and consumes them (``consume``) only once
what they stand for is applied, and only if they did not change meanwhile: a run that dies,
stops for approval, or holds a deletion back leaves its rows for the next run.
"""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from dtconsole.access.services import SYSTEM
from dtconsole.providers.models import IdentityProvider

from .models import PendingChange, SyncJob

ACCOUNT = "account"
ORGANIZATION = "organization"


def record_changes(object_type: str, ids: Iterable[int]) -> None:
    """Note that these accounts or organisations changed, for every incremental provider."""
    ids = {int(i) for i in ids}
    if not ids:
        return
    from .consequences import collect

    collect(object_type, ids)  # a preview of consequences is watching
    providers = list(
        IdentityProvider.objects.filter(
            incremental_enabled=True, step=IdentityProvider.Step.DONE
        ).values_list("pk", flat=True)
    )
    if not providers:
        return
    now = timezone.now()
    PendingChange.objects.bulk_create(
        [
            PendingChange(provider_id=p, object_type=object_type, object_id=i, changed_at=now)
            for p in providers
            for i in ids
        ],
        update_conflicts=True,
        unique_fields=["provider", "object_type", "object_id"],
        update_fields=["changed_at"],
    )
    transaction.on_commit(lambda: enqueue_incremental(providers))


def enqueue_incremental(provider_ids: Iterable[int]) -> None:
    """Queue one incremental job per provider unless one is already waiting: to start, or
    for an admin's decision on its deletions (its run then takes up every change since)."""
    from .services import sync_job_enqueue

    waiting_statuses = (SyncJob.Status.QUEUED, SyncJob.Status.AWAITING_APPROVAL)
    for provider in IdentityProvider.objects.filter(pk__in=list(provider_ids)):
        waiting = SyncJob.objects.filter(
            provider=provider, kind=SyncJob.Kind.INCREMENTAL, status__in=waiting_statuses
        ).exists()
        if not waiting:
            sync_job_enqueue(
                SYSTEM, provider, kind=SyncJob.Kind.INCREMENTAL, trigger=SyncJob.Trigger.CHANGE
            )


def peek_pending(provider: IdentityProvider) -> list[PendingChange]:
    """The provider's pending changes, as they are now (nothing is removed)."""
    return list(PendingChange.objects.filter(provider=provider).order_by("id"))


def consume(rows: Iterable[PendingChange], keep: Iterable[tuple[str, int]] = ()) -> int:
    """Remove the rows a run has applied, unless they changed since it read them or are in
    ``keep`` ((object_type, object_id) whose change the run held back). Returns the count."""
    keep = set(keep)
    done = [row for row in rows if (row.object_type, row.object_id) not in keep]
    if not done:
        return 0
    # A row bumped after the run read it has a later changed_at than any the run read.
    read_up_to = max(row.changed_at for row in done)
    ids = [row.pk for row in done]
    deleted = 0
    for start in range(0, len(ids), 500):
        chunk = PendingChange.objects.filter(
            pk__in=ids[start : start + 500], changed_at__lte=read_up_to
        )
        deleted += chunk.delete()[0]
    return deleted


def has_pending(provider: IdentityProvider) -> bool:
    return PendingChange.objects.filter(provider=provider).exists()
