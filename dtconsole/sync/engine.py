"""Run a sync job: claim it, read, plan, apply, finish, hand over to the next job.

Full runs read DingTalk live and compare; incremental runs compare with the payload last
pushed; single-object runs read the one object from DingTalk. Every step is idempotent
(links + matching), so a job whose worker died is simply run again: its pending changes are
consumed only once applied.

A job is claimed by one atomic status change (queued → running): a second delivery of the
same job by the broker finds it running and does nothing.
"""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from connectors.dingtalk.errors import DingTalkError, NotFound
from dtconsole.monitoring.tallies import job_finished
from dtconsole.notifications.triggers import notify_job_finished
from dtconsole.providers.models import IdentityProvider
from dtconsole.providers.services import ProviderError, provider_client, provider_rules

from . import deletions
from .apply import Applier, Recorder, StopRun
from .changes import consume, peek_pending
from .models import (
    DepartmentLink,
    PendingChange,
    ProviderLock,
    SyncEvent,
    SyncJob,
    UserConflict,
    UserLink,
)
from .plan import Plan, Planner, Settings
from .remote import read_remote
from .source import read_directory
from .texts import N_, Text, stored

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
        _finish(job, Status.FAILED, _refused(exc.error), hint=exc.error)
    except DingTalkError as exc:
        _finish(job, Status.FAILED, _refused(exc), hint=exc)
    except ProviderError as exc:  # the secret cannot be used (key, allowed hosts)
        _finish(job, Status.FAILED, str(exc))
    except Exception:
        log.exception("sync job %s crashed", job.pk)
        _finish(
            job,
            Status.FAILED,
            Text(
                N_(
                    "The sync stopped on an internal error (see the worker log). "
                    "Run it again; nothing is lost."
                )
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
    """Queued → running, by exactly one worker; then the provider's lock, or back to queued."""
    now = timezone.now()
    claimed = SyncJob.objects.filter(pk=job_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=Coalesce("started_at", now), heartbeat_at=now
    )
    if not claimed:
        log.info("sync job %s was handed over again but is not queued: nothing to do", job_id)
        return None
    job = SyncJob.objects.select_related("provider").get(pk=job_id)
    if not _lock(job):
        SyncJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(status=Status.QUEUED)
        return None
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
        # Held by this job already (resumed after its worker died), or by another one.
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


def _finish(job: SyncJob, status: str, error: Text | str = "", hint: DingTalkError | None = None):
    """Save the job's outcome. A job awaiting approval has not finished."""
    job.status = status
    job.error, job.error_args = stored(error)
    job.hint = hint.hint if hint is not None else ""
    job.hint_args = dict(hint.hint_args or {}) if hint is not None else {}
    job.finished_at = None if status == Status.AWAITING_APPROVAL else timezone.now()
    job.save(
        update_fields=[
            "status",
            "error",
            "error_args",
            "hint",
            "hint_args",
            "finished_at",
            "counters",
            "progress_done",
            "progress_total",
            "planned_deletions",
        ]
    )
    notify_job_finished(job)
    job_finished(job)  # /metrics: its objects and this process's DingTalk calls


# --- full runs ---------------------------------------------------------------------------


def _settings(provider: IdentityProvider) -> Settings:
    return Settings(
        rules=provider_rules(provider),
        match_keys=list(provider.match_keys),
        multi_org=provider.multi_org_enabled,
        delete=provider.delete_policy == IdentityProvider.DeletePolicy.DELETE,
        protect_adopted=provider.protect_adopted,
    )


def _links(provider: IdentityProvider, account_ids=None):
    users = UserLink.objects.filter(provider=provider)
    if account_ids is not None:
        users = users.filter(account_ref__in=account_ids)
    return list(DepartmentLink.objects.filter(provider=provider)), list(users)


def _conflicts(provider: IdentityProvider, account_ids=None) -> list[UserConflict]:
    conflicts = UserConflict.objects.filter(provider=provider)
    if account_ids is not None:
        conflicts = conflicts.filter(account_ref__in=account_ids)
    return list(conflicts)


def _run_full(job: SyncJob) -> None:
    provider = job.provider
    options = _settings(provider)
    with provider_client(provider) as client:
        source = read_directory(provider)
        remote = read_remote(client, source.target_depts, on_progress=lambda: _beat(job))
        dept_links, user_links = _links(provider)
        planner = Planner(source, remote, dept_links, user_links, options, _conflicts(provider))
        plan = planner.build()
        del source, dept_links, user_links, planner  # freed before the plan is applied
        _execute(job, client, plan, options, remote=remote)


def _execute(job, client, plan: Plan, options: Settings, *, remote=None, pending=None) -> None:
    """Apply ``plan`` (or record it, for a dry run), within the deletion threshold.

    ``pending`` (incremental runs) are the pending changes the plan was made from: consumed
    once applied, except those whose deletion was held back or rejected.
    """
    recorder = Recorder(job)
    job.progress_total = len(plan.all_ops()) + len(plan.skipped)
    recorder.counters["unchanged"] = plan.unchanged
    if job.dry_run:
        _record_planned(recorder, plan.all_ops())
        job.progress_done = job.progress_total
        return _finish(job, Status.SUCCEEDED)
    # "planned" and "pending_deletions" describe a stop for approval; a run that goes on
    # after the decision counts what it applies (and sets them again if it stops again).
    recorder.counters.pop("planned", None)
    recorder.counters.pop("pending_deletions", None)
    gate = deletions.decide(job, plan)
    if gate.stop is not None:
        return _stop_for_approval(job, recorder, plan, gate.stop)
    _record_skipped(recorder, plan)
    Applier(
        job,
        client,
        plan,
        delete=options.delete,
        match_keys=options.match_keys,
        recorder=recorder,
        remote=remote,
    ).run()
    UserConflict.objects.filter(pk__in=plan.stale_conflicts).delete()
    _record_rejected(recorder, gate.rejected)
    if pending is not None:
        consume(pending, keep={_pending_key(op) for op in gate.held})
    _finish_applied(job, recorder, gate)


def _finish_applied(job: SyncJob, recorder: Recorder, gate: deletions.Gate) -> None:
    counters = recorder.counters
    failed = counters.get("failed", 0)
    succeeded = sum(n for k, n in counters.items() if k.endswith(_SUCCESS_SUFFIXES))
    if gate.rejected or job.decision == SyncJob.Decision.REJECT:
        message = Text(
            N_(
                "The deletions were rejected: %(n)d not applied. The run's other changes "
                "were applied; a later run plans the deletions again."
            ),
            {"n": len(gate.rejected)},
        )
        return _finish(job, Status.REJECTED, message)
    if gate.held:
        follow = _follow_up(job)
        message = Text(
            N_(
                "%(n)d deletions were planned after the approval and would pass the "
                "threshold: they are held for a new approval (job #%(job)s). %(why)s"
            ),
            {"n": len(gate.held), "job": follow, "why": _as_arg(gate.held_over.sentence())},
        )
        return _finish(job, Status.PARTIAL if failed else Status.SUCCEEDED, message)
    if failed and not succeeded:
        return _finish(job, Status.FAILED, Text(N_("Every change failed: see the events.")))
    _finish(job, Status.PARTIAL if failed else Status.SUCCEEDED)


_SUCCESS_SUFFIXES = ("_create", "_update", "_delete", "_match", "_skip")


def _stop_for_approval(job, recorder: Recorder, plan: Plan, over: deletions.Threshold) -> None:
    """Record exactly the deletions the run would make and wait: nothing is applied."""
    planned = plan.deleting()
    recorder.counters["pending_deletions"] = len(planned)
    _record_planned(recorder, planned)
    job.planned_deletions = [deletions.listed(op) for op in planned]
    message = Text(
        N_("%(why)s Approve or reject the deletions listed on this page; nothing was changed."),
        {"why": _as_arg(over.sentence())},
    )
    _finish(job, Status.AWAITING_APPROVAL, message)


def _follow_up(job: SyncJob) -> int:
    """A new job of the same kind that will plan, and stop for, the deletions held back."""
    from dtconsole.access.services import SYSTEM

    from .services import sync_job_enqueue

    follow = sync_job_enqueue(SYSTEM, job.provider, kind=job.kind, trigger=job.trigger)
    return follow.pk


def _pending_key(op) -> tuple[str, int]:
    return (
        "account" if op.object_type == SyncEvent.ObjectType.USER else "organization",
        op.source_id,
    )


def _as_arg(text: Text) -> dict:
    """A text used inside another one's arguments (rendered with it, in the reader's language)."""
    return {"msgid": text.msgid, "args": dict(text.args)}


def _record_planned(recorder: Recorder, ops) -> None:
    for op in ops:
        recorder.event(
            op, SyncEvent.Status.PLANNED, started=time.monotonic(), message=op.error or ""
        )
    recorder.job.progress_done = 0
    recorder.flush()


def _record_skipped(recorder: Recorder, plan: Plan) -> None:
    """Objects held back by an unresolved conflict: one event each, no DingTalk call."""
    for op in plan.skipped:
        recorder.event(
            op, SyncEvent.Status.SKIPPED, started=time.monotonic(), message=op.skip, action="skip"
        )


def _record_rejected(recorder: Recorder, ops) -> None:
    for op in ops:
        recorder.event(op, SyncEvent.Status.REJECTED, started=time.monotonic())
    recorder.flush()


def _beat(job: SyncJob) -> None:
    now = timezone.now()
    if job.heartbeat_at is None or (now - job.heartbeat_at).total_seconds() > 5:
        job.heartbeat_at = now
        SyncJob.objects.filter(pk=job.pk).update(heartbeat_at=now)


# --- incremental and single-object runs --------------------------------------------------


def has_full_sync(provider: IdentityProvider) -> bool:
    """Whether a real (not dry) full sync has completed for the provider."""
    return SyncJob.completed_full(provider).exists()


def _refuse_incremental(job: SyncJob) -> None:
    recorder = Recorder(job)
    message = Text(
        N_(
            "Incremental sync needs one successful full sync first: "
            "run a full sync from the provider page."
        )
    )
    changes = peek_pending(job.provider) if job.kind == SyncJob.Kind.INCREMENTAL else []
    for change in changes or ([_scope_change(job)] if job.kind == SyncJob.Kind.SINGLE else []):
        recorder.skipped(change.object_type, change.object_id, message)
    recorder.flush()
    if changes:
        consume(changes)  # the full sync this asks for covers them
    _finish(job, Status.FAILED, message)


def _scope_change(job: SyncJob) -> PendingChange:
    kind = "account" if job.scope.get("type") == "user" else "organization"
    return PendingChange(provider=job.provider, object_type=kind, object_id=job.scope.get("id"))


def _run_partial(job: SyncJob) -> None:
    """Incremental (the pending changes) or single-object run."""
    provider = job.provider
    incremental = job.kind == SyncJob.Kind.INCREMENTAL
    changes = peek_pending(provider) if incremental else [_scope_change(job)]
    account_ids = {c.object_id for c in changes if c.object_type == "account"}
    with provider_client(provider) as client:
        fetch = None
        if not incremental:  # a re-push compares with what DingTalk holds now
            org_ids = {c.object_id for c in changes if c.object_type == "organization"}

            def fetch(dept_links, user_links):
                return _read_actual(
                    client, user_links, [d for d in dept_links if d.org_ref in org_ids]
                )

        plan, options = plan_partial(provider, account_ids, fetch)
        if not incremental and not plan.all_ops() and not plan.skipped:
            plan.skipped.append(_in_step(job))
        _execute(job, client, plan, options, pending=changes if incremental else None)


def plan_partial(provider: IdentityProvider, account_ids: set[int], fetch=None):
    """The plan of an incremental or single-object run over ``account_ids`` (and the
    organisations), with the settings it was made with. ``fetch(dept_links, user_links)``
    reads what DingTalk holds now (a re-push); without it the links stand for DingTalk."""
    options = _settings(provider)
    source = read_directory(provider, account_ids=account_ids)
    dept_links, user_links = _links(provider, account_ids)
    fetched = fetch(dept_links, user_links) if fetch else {}
    conflicts = _conflicts(provider, account_ids)
    planner = Planner(source, None, dept_links, user_links, options, conflicts, fetched)
    return planner.build(), options


def _in_step(job: SyncJob):
    """The event of a re-push that found nothing to send."""
    from .plan import A, Op

    change = _scope_change(job)
    op_type = SyncEvent.ObjectType.USER if change.object_type == "account" else "department"
    op = Op(object_type=op_type, action=A.SKIP, source_id=change.object_id, source_name="")
    op.source_name = _source_name(change)
    op.skip = Text(N_("DingTalk already holds what the directory says: nothing was sent."))
    return op


def _source_name(change: PendingChange) -> str:
    from .apply import _name_of

    return _name_of(change.object_type, change.object_id)


def _read_actual(client, user_links: list[UserLink], dept_links: list[DepartmentLink]) -> dict:
    """What DingTalk holds now of a re-push's objects (by userid and dept id); an object
    DingTalk no longer has reads as empty, so the push recreates it."""
    fetched: dict = {}
    for link in user_links:
        try:
            fetched[link.userid] = client.user_get(link.userid).raw
        except NotFound:
            fetched[link.userid] = {}
    for link in dept_links:
        try:
            dept = client.department_get(link.dept_id)
        except NotFound:
            fetched[link.dept_id] = {}
            continue
        fetched[link.dept_id] = {
            "name": dept.name,
            "order": dept.order,
            "parent_id": dept.parent_id,
        }
    return fetched


def _refused(exc: DingTalkError) -> Text:
    return Text(N_("DingTalk refused: %(error)s"), {"error": str(exc)})
