"""Named services for synchronisation jobs: enqueue, approve, reject, cancel, re-push.

Each writes the audit entry; the run itself happens in ``dtconsole.sync.engine`` on a
django-q2 worker (``dtconsole.sync.tasks``).
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from connectors.dingtalk.errors import DingTalkError, NotFound
from dtconsole.access import roles
from dtconsole.access.services import SYSTEM, require
from dtconsole.audit.services import audit_record
from dtconsole.providers.models import IdentityProvider
from dtconsole.providers.services import provider_client

from .models import SyncEvent, SyncJob, UserConflict, UserLink
from .remote import RemoteState, read_remote
from .texts import N_


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
    """Approve exactly the deletions a stopped run listed; the run goes on and applies them
    with every other change it holds (anything newer is checked against the threshold)."""
    require(actor, roles.DECIDE_SYNC)
    job = _decide(
        actor, job, SyncJob.Decision.APPROVE, _("Only a job awaiting approval can be approved.")
    )
    audit_record(
        actor, "sync.approve", job.provider, after={"job": job.pk, "deletions": _names(job)}
    )
    return job


@transaction.atomic
def sync_job_reject(actor, job: SyncJob) -> SyncJob:
    """Refuse the deletions of a stopped run: it goes on and applies its other changes only;
    its deletions are recorded as not applied, and a later run plans them again."""
    require(actor, roles.DECIDE_SYNC)
    job = _decide(
        actor, job, SyncJob.Decision.REJECT, _("Only a job awaiting approval can be rejected.")
    )
    audit_record(
        actor, "sync.reject", job.provider, after={"job": job.pk, "deletions": _names(job)}
    )
    return job


def _decide(actor, job: SyncJob, decision: str, refusal: str) -> SyncJob:
    job = _locked(job, SyncJob.Status.AWAITING_APPROVAL, refusal)
    job.decision = decision
    job.decided_by = actor if getattr(actor, "pk", None) else None
    job.status = SyncJob.Status.QUEUED
    # The stop's instruction ("approve or reject ...") is answered: the page says what was
    # decided (the decision line) and the run's own outcome replaces it when it ends.
    job.error, job.error_args, job.hint, job.hint_args = "", {}, "", {}
    job.save(
        update_fields=[
            "decision",
            "decided_by",
            "status",
            "error",
            "error_args",
            "hint",
            "hint_args",
        ]
    )
    # The events of the stop stay as its record; what the run then does gets events of its own.
    SyncEvent.objects.filter(job=job, status=SyncEvent.Status.PLANNED).update(
        message=N_("Listed when the run stopped for approval; what was done is its own event."),
        message_args={},
    )
    transaction.on_commit(lambda: dispatch(job.pk))
    return job


def _names(job: SyncJob) -> list[str]:
    return [d.get("name") or d.get("key") or str(d.get("source_id")) for d in job.planned_deletions]


@transaction.atomic
def sync_job_cancel(actor, job: SyncJob) -> SyncJob:
    """Cancel a job that has not started (or is awaiting approval): nothing is applied."""
    require(actor, roles.DECIDE_SYNC)
    job = SyncJob.objects.select_for_update().get(pk=job.pk)
    if job.status not in (SyncJob.Status.QUEUED, SyncJob.Status.AWAITING_APPROVAL):
        raise SyncError(_("Only a queued job, or one awaiting approval, can be cancelled."))
    job.status, job.finished_at = SyncJob.Status.CANCELLED, timezone.now()
    job.error, job.error_args = N_("Cancelled by %(user)s."), {"user": str(actor)}
    job.save(update_fields=["status", "error", "error_args", "finished_at"])
    SyncEvent.objects.filter(job=job, status=SyncEvent.Status.PLANNED).update(
        status=SyncEvent.Status.SKIPPED,
        message=N_("Not applied: the job was cancelled."),
        message_args={},
    )
    audit_record(actor, "sync.cancel", job.provider, after={"job": job.pk})
    return job


@transaction.atomic
def sync_link_user(actor, provider: IdentityProvider, account, userid: str) -> SyncJob:
    """Link an account to an existing DingTalk user (typically the holder of a conflict),
    forget its conflicts, and push it again: that user becomes the account's."""
    require(actor, roles.MANAGE_PROVIDERS)
    other = (
        UserLink.objects.filter(provider=provider, userid=userid)
        .exclude(account_ref=account.pk)
        .first()
    )
    if other is not None:
        raise SyncError(
            _(
                "DingTalk user %(userid)s is already linked to the account %(other)s. Resolve "
                "that account first."
            )
            % {"userid": userid, "other": other.username}
        )
    try:
        with provider_client(provider) as client:
            user = client.user_get(userid)
    except NotFound as exc:
        raise SyncError(
            _("DingTalk has no user with the userid %(userid)s.") % {"userid": userid}
        ) from exc
    except DingTalkError as exc:
        raise SyncError(_("DingTalk answered: %(s)s") % {"s": exc.sentence()}) from exc
    UserLink.objects.update_or_create(
        provider=provider,
        account_ref=account.pk,
        defaults={
            "account": account,
            "username": account.username,
            "display_name": account.display_name[:80],
            "userid": user.userid,
            "unionid": user.unionid or "",
            "origin": "adopted",
            "last_payload": {},
        },
    )
    UserConflict.objects.filter(provider=provider, account_ref=account.pk).delete()
    after = {"provider": provider.name, "userid": user.userid, "name": user.name}
    audit_record(actor, "sync.link_user", account, after=after)
    return sync_object_enqueue(actor, provider, "user", account.pk)


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
