"""Run a sync job: claim the provider, read, plan, apply, finish, hand over to the next job.

Full runs read DingTalk live and compare; incremental and single-object runs compare with
the payload last pushed and read nothing. Every step is idempotent (links + matching), so a
job whose worker died is simply run again.
"""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from connectors.dingtalk.errors import DingTalkError
from dtconsole.providers.models import IdentityProvider
from dtconsole.providers.services import ProviderError, provider_client, provider_rules

from .apply import Applier, Recorder, StopRun
from .changes import take_pending
from .models import DepartmentLink, PendingChange, ProviderLock, SyncEvent, SyncJob, UserLink
from .plan import Plan, Planner, Settings
from .remote import read_remote
from .source import read_directory

log = logging.getLogger(__name__)
Status = SyncJob.Status


def stale_before():
    return timezone.now() - timedelta(seconds=settings.SYNC_STALE_SECONDS)


def run_job(job_id: int) -> None:
    """Run one job if it can run now; otherwise leave it queued for the lock holder to start."""
    job = _claim(job_id)
    if job is None:
        return
    try:
        _run(job)
    except StopRun as exc:
        _finish(job, Status.FAILED, _refused(exc.error))
    except DingTalkError as exc:
        _finish(job, Status.FAILED, _refused(exc))
    except ProviderError as exc:  # the secret cannot be used (key, allowed hosts)
        _finish(job, Status.FAILED, str(exc))
    except Exception:
        log.exception("sync job %s crashed", job.pk)
        _finish(
            job,
            Status.FAILED,
            _(
                "The sync stopped on an internal error (see the worker log). "
                "Run it again; nothing is lost."
            ),
        )
    finally:
        _release(job)
        dispatch_next(job.provider_id)


def _run(job: SyncJob) -> None:
    if job.kind == SyncJob.Kind.FULL:
        _run_full(job)
    elif not job.dry_run and not has_full_sync(job.provider):
        _refuse_incremental(job)
    else:
        _run_partial(job)


# --- claiming ----------------------------------------------------------------------------


def _claim(job_id: int) -> SyncJob | None:
    job = SyncJob.objects.select_related("provider").filter(pk=job_id).first()
    if job is None or job.status not in (Status.QUEUED, Status.RUNNING):
        return None
    if job.status == Status.RUNNING and job.heartbeat_at and job.heartbeat_at > stale_before():
        return None  # a live worker is running it (a duplicate delivery)
    if not _lock(job):
        return None
    now = timezone.now()
    SyncJob.objects.filter(pk=job.pk).update(
        status=Status.RUNNING, started_at=job.started_at or now, heartbeat_at=now
    )
    job.refresh_from_db()
    return job


def _lock(job: SyncJob) -> bool:
    """Take the provider's lock, or take it over from a job that stopped beating."""
    ProviderLock.objects.filter(provider_id=job.provider_id).exclude(
        job__status__in=SyncJob.ACTIVE_STATUSES
    ).delete()
    ProviderLock.objects.filter(
        provider_id=job.provider_id, job__heartbeat_at__lt=stale_before()
    ).exclude(job=job).delete()
    try:
        with transaction.atomic():
            ProviderLock.objects.create(provider_id=job.provider_id, job=job)
    except IntegrityError:
        return ProviderLock.objects.filter(provider_id=job.provider_id, job=job).exists()
    return True


def _release(job: SyncJob) -> None:
    ProviderLock.objects.filter(provider_id=job.provider_id, job=job).delete()


def dispatch_next(provider_id: int) -> None:
    """Start the oldest queued job of the provider, if any (one sync per provider at a time)."""
    from .services import dispatch

    nxt = (
        SyncJob.objects.filter(provider_id=provider_id, status=Status.QUEUED).order_by("id").first()
    )
    if nxt is not None:
        dispatch(nxt.pk)


def _finish(job: SyncJob, status: str, error: str = "") -> None:
    job.status, job.error, job.finished_at = status, error, timezone.now()
    job.save(
        update_fields=[
            "status",
            "error",
            "finished_at",
            "counters",
            "progress_done",
            "progress_total",
        ]
    )


# --- full runs ---------------------------------------------------------------------------


def _settings(provider: IdentityProvider) -> Settings:
    return Settings(
        rules=provider_rules(provider),
        match_keys=list(provider.match_keys),
        multi_org=provider.multi_org_enabled,
        delete=provider.delete_policy == IdentityProvider.DeletePolicy.DELETE,
    )


def _links(provider: IdentityProvider, account_ids=None):
    users = UserLink.objects.filter(provider=provider)
    if account_ids is not None:
        users = users.filter(account_ref__in=account_ids)
    return list(DepartmentLink.objects.filter(provider=provider)), list(users)


def _run_full(job: SyncJob) -> None:
    provider = job.provider
    options = _settings(provider)
    with provider_client(provider) as client:
        plan = _plan_full(job, client, options)
        _execute(job, client, plan, options)


def _plan_full(job: SyncJob, client, options: Settings) -> Plan:
    """Read both sides and plan; what was read is freed before the plan is applied."""
    source = read_directory(job.provider)
    remote = read_remote(
        client, sorted(set(source.targets.values())), on_progress=lambda: _beat(job)
    )
    dept_links, user_links = _links(job.provider)
    return Planner(source, remote, dept_links, user_links, options).build()


def _execute(job: SyncJob, client, plan: Plan, options: Settings) -> None:
    recorder = Recorder(job)
    job.progress_total = len(plan.all_ops())
    recorder.counters["unchanged"] = plan.unchanged
    if job.dry_run:
        _record_planned(recorder, plan.all_ops())
        return _finish(job, Status.SUCCEEDED)
    if options.delete and not job.deletions_approved and _over_threshold(job.provider, plan):
        recorder.counters["pending_deletions"] = plan.deletions
        _record_planned(recorder, plan.user_deletions + plan.dept_deletions)
        return _finish(
            job,
            Status.AWAITING_APPROVAL,
            _(
                "%(n)d deletions exceed the provider's threshold: "
                "approve or reject them on this page."
            )
            % {"n": plan.deletions},
        )
    Applier(
        job, client, plan, delete=options.delete, match_keys=options.match_keys, recorder=recorder
    ).run()
    _finish(job, Status.PARTIAL if recorder.counters.get("failed") else Status.SUCCEEDED)


def _over_threshold(provider: IdentityProvider, plan: Plan) -> bool:
    """Whether the plan deletes more than the provider allows without approval: more than
    its count, or more than its percentage of everything the provider manages (all links,
    whatever part of them this run looked at)."""
    deletions = plan.deletions
    if deletions == 0:
        return False
    linked = (
        DepartmentLink.objects.filter(provider=provider).count()
        + UserLink.objects.filter(provider=provider).count()
    )
    percent = deletions * 100 / linked if linked else 100
    return (
        deletions > provider.deletion_threshold_count
        or percent > provider.deletion_threshold_percent
    )


def _record_planned(recorder: Recorder, ops) -> None:
    for op in ops:
        recorder.event(op, SyncEvent.Status.PLANNED, started=time.monotonic(), message=op.error)
    recorder.job.progress_done = 0
    recorder.flush()


def _beat(job: SyncJob) -> None:
    now = timezone.now()
    if job.heartbeat_at is None or (now - job.heartbeat_at).total_seconds() > 5:
        job.heartbeat_at = now
        SyncJob.objects.filter(pk=job.pk).update(heartbeat_at=now)


# --- incremental and single-object runs --------------------------------------------------


def has_full_sync(provider: IdentityProvider) -> bool:
    """Whether a real (not dry) full sync has completed for the provider."""
    return SyncJob.objects.filter(
        provider=provider,
        kind=SyncJob.Kind.FULL,
        dry_run=False,
        status__in=(Status.SUCCEEDED, Status.PARTIAL),
    ).exists()


def _refuse_incremental(job: SyncJob) -> None:
    recorder = Recorder(job)
    message = _(
        "Incremental sync needs one successful full sync first: "
        "run a full sync from the provider page."
    )
    for change in (
        take_pending(job.provider) if job.kind == SyncJob.Kind.INCREMENTAL else [_scope_change(job)]
    ):
        recorder.skipped(change.object_type, change.object_id, message)
    recorder.flush()
    _finish(job, Status.FAILED, message)


def _scope_change(job: SyncJob) -> PendingChange:
    kind = "account" if job.scope.get("type") == "user" else "organization"
    return PendingChange(provider=job.provider, object_type=kind, object_id=job.scope.get("id"))


def _run_partial(job: SyncJob) -> None:
    """Incremental (the pending changes) or single-object run, compared with last payloads."""
    provider = job.provider
    changes = (
        take_pending(provider) if job.kind == SyncJob.Kind.INCREMENTAL else [_scope_change(job)]
    )
    account_ids = {c.object_id for c in changes if c.object_type == "account"}
    options = _settings(provider)
    source = read_directory(provider, account_ids=account_ids)
    dept_links, user_links = _links(provider, account_ids)
    if job.kind == SyncJob.Kind.SINGLE:  # a re-push sends every field again
        org_ids = {c.object_id for c in changes if c.object_type == "organization"}
        for link in user_links + [d for d in dept_links if d.org_ref in org_ids]:
            link.last_payload = {}
    plan = Planner(source, None, dept_links, user_links, options).build()
    with provider_client(provider) as client:
        _execute(job, client, plan, options)


def _refused(exc: DingTalkError) -> str:
    return _("DingTalk refused: %(s)s") % {"s": exc.sentence()}
