"""Named services for synchronisation jobs."""

from django.db import transaction

from dtconsole.audit.services import audit_record
from dtconsole.providers.models import IdentityProvider

from .models import SyncJob


@transaction.atomic
def sync_job_enqueue(
    actor, provider: IdentityProvider, *, kind: str, trigger: str, dry_run: bool = False
) -> SyncJob:
    """Queue a synchronisation run of ``provider`` and record who asked for it."""
    job = SyncJob.objects.create(
        provider=provider, kind=kind, trigger=trigger, dry_run=dry_run, requested_by=actor
    )
    audit_record(
        actor, "sync.enqueue", provider, after={"job": job.pk, "kind": kind, "dry_run": dry_run}
    )
    return job
