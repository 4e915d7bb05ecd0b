"""Incremental sync: directory changes become pending changes and small jobs.

The directory services call ``record_changes`` inside their transaction, so a change and its
pending row commit (or roll back) together: nothing is lost if the process dies right after
the commit. One pending row per (provider, object) whatever the number of edits, and at most
one queued incremental job per provider: a burst of edits to one account makes one write.
"""

from collections.abc import Iterable

from django.db import transaction

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
    providers = list(
        IdentityProvider.objects.filter(
            incremental_enabled=True, step=IdentityProvider.Step.DONE
        ).values_list("pk", flat=True)
    )
    if not providers:
        return
    PendingChange.objects.bulk_create(
        [
            PendingChange(provider_id=p, object_type=object_type, object_id=i)
            for p in providers
            for i in ids
        ],
        ignore_conflicts=True,
    )
    transaction.on_commit(lambda: enqueue_incremental(providers))


def enqueue_incremental(provider_ids: Iterable[int]) -> None:
    """Queue one incremental job per provider unless one is already waiting to start."""
    from .services import sync_job_enqueue

    for provider in IdentityProvider.objects.filter(pk__in=list(provider_ids)):
        waiting = SyncJob.objects.filter(
            provider=provider, kind=SyncJob.Kind.INCREMENTAL, status=SyncJob.Status.QUEUED
        ).exists()
        if not waiting:
            sync_job_enqueue(
                SYSTEM, provider, kind=SyncJob.Kind.INCREMENTAL, trigger=SyncJob.Trigger.CHANGE
            )


@transaction.atomic
def take_pending(provider: IdentityProvider) -> list[PendingChange]:
    """Remove and return the provider's pending changes (a later change adds a new row)."""
    rows = list(PendingChange.objects.select_for_update().filter(provider=provider))
    PendingChange.objects.filter(pk__in=[r.pk for r in rows]).delete()
    return rows
