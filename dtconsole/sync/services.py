"""Named services for synchronisation jobs: enqueue, approve, reject, cancel, re-push.

Each writes the audit entry; the run itself happens in ``dtconsole.sync.engine`` on a
django-q2 worker (``dtconsole.sync.tasks``).
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dtconsole.access import roles
from dtconsole.access.services import SYSTEM, require
from dtconsole.audit.services import audit_record
from dtconsole.providers.models import IdentityProvider
from dtconsole.providers.services import provider_client

from .models import SyncJob
from .remote import RemoteState, read_remote


class SyncError(Exception):
    """A refused action on a job, with a sentence that says why."""


def dispatch(job_id: int) -> None:
    """Hand a job to the django-q2 broker."""
    from django_q.tasks import async_task

    async_task("dtconsole.sync.tasks.run_sync_job", job_id, task_name=f"sync-job-{job_id}")


@transaction.atomic
def sync_job_enqueue(
    actor, provider: IdentityProvider, *, kind: str, trigger: str, dry_run: bool = False, scope=None
) -> SyncJob:
    """Queue a synchronisation run of ``provider``; it starts once the transaction commits.

    Runs the console starts itself (incremental, scheduled) come from ``SYSTEM``.
    """
    require(actor, roles.RUN_SYNC)
    job = SyncJob.objects.create(
        provider=provider,
        kind=kind,
        trigger=trigger,
        dry_run=dry_run,
        requested_by=actor if getattr(actor, "pk", None) else None,
        scope=scope or {},
    )
    if actor is not SYSTEM:
        audit_record(
            actor, "sync.enqueue", provider, after={"job": job.pk, "kind": kind, "dry_run": dry_run}
        )
    transaction.on_commit(lambda: dispatch(job.pk))
    return job


def sync_object_enqueue(
    actor, provider: IdentityProvider, object_type: str, object_id: int
) -> SyncJob:
    """Re-push one account ("user") or organisation ("department") to DingTalk."""
    require(actor, roles.RUN_SYNC)
    if object_type not in ("user", "department"):
        raise SyncError(_("Only a user or a department can be pushed on its own."))
    return sync_job_enqueue(
        actor,
        provider,
        kind=SyncJob.Kind.SINGLE,
        trigger=SyncJob.Trigger.MANUAL,
        scope={"type": object_type, "id": int(object_id)},
    )


@transaction.atomic
def sync_job_approve(actor, job: SyncJob) -> SyncJob:
    """Let a run that stopped at the deletion threshold carry out its deletions."""
    require(actor, roles.DECIDE_SYNC)
    job = _locked(
        job, SyncJob.Status.AWAITING_APPROVAL, _("Only a job awaiting approval can be approved.")
    )
    job.decision = SyncJob.Decision.APPROVE
    job.status = SyncJob.Status.QUEUED
    job.save(update_fields=["decision", "status"])
    audit_record(actor, "sync.approve", job.provider, after={"job": job.pk})
    transaction.on_commit(lambda: dispatch(job.pk))
    return job


@transaction.atomic
def sync_job_reject(actor, job: SyncJob) -> SyncJob:
    """Refuse the deletions of a run awaiting approval: it ends without writing anything."""
    require(actor, roles.DECIDE_SYNC)
    job = _locked(
        job, SyncJob.Status.AWAITING_APPROVAL, _("Only a job awaiting approval can be rejected.")
    )
    _close(job, SyncJob.Status.CANCELLED, _("Deletions rejected by %(user)s.") % {"user": actor})
    audit_record(actor, "sync.reject", job.provider, after={"job": job.pk})
    return job


@transaction.atomic
def sync_job_cancel(actor, job: SyncJob) -> SyncJob:
    """Cancel a job that has not started (or is awaiting approval)."""
    require(actor, roles.DECIDE_SYNC)
    job = SyncJob.objects.select_for_update().get(pk=job.pk)
    if job.status not in (SyncJob.Status.QUEUED, SyncJob.Status.AWAITING_APPROVAL):
        raise SyncError(_("Only a queued job, or one awaiting approval, can be cancelled."))
    _close(job, SyncJob.Status.CANCELLED, _("Cancelled by %(user)s.") % {"user": actor})
    audit_record(actor, "sync.cancel", job.provider, after={"job": job.pk})
    return job


def dingtalk_snapshot(actor, provider: IdentityProvider) -> RemoteState:
    """What DingTalk holds under the provider's target departments, read live."""
    require(actor, roles.VIEW)
    targets = sorted(set(provider.scopes.values_list("target_dept_id", flat=True))) or [1]
    with provider_client(provider) as client:
        return read_remote(client, targets)


def _locked(job: SyncJob, status: str, message: str) -> SyncJob:
    job = SyncJob.objects.select_for_update().get(pk=job.pk)
    if job.status != status:
        raise SyncError(message)
    return job


def _close(job: SyncJob, status: str, message: str) -> None:
    job.status, job.error, job.finished_at = status, message, timezone.now()
    job.save(update_fields=["status", "error", "finished_at"])
