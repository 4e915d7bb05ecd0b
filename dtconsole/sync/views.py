"""Sync pages: jobs (polled while they run), events, one object's timeline, DingTalk's side.

Thin views: a form, one service call, then a redirect (with a message) or a render. Reads go
through ``queries``; every state change goes through ``services``. Login is required by
middleware.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from connectors.dingtalk.errors import DingTalkError
from dtconsole.directory.models import Account
from dtconsole.next_url import next_url
from dtconsole.providers.models import IdentityProvider
from dtconsole.providers.services import ProviderError

from . import queries, services
from .forms import (
    EventFilterForm,
    JobEventFilterForm,
    JobFilterForm,
    LinkUserForm,
    RepushForm,
    StartSyncForm,
)
from .models import SyncEvent, SyncJob

JOB_PAGE_SIZE = 50
PENDING_PAGE_SIZE = 50


def _keyset(request: HttpRequest, rows: Any) -> queries.KeysetPage:
    before = queries.cursor(request.GET, "before")
    after = None if before is not None else queries.cursor(request.GET, "after")
    return queries.keyset_page(rows, before=before, after=after)


# --- jobs ------------------------------------------------------------------------------------


def _job_rows_context(request: HttpRequest) -> dict[str, Any]:
    filters = JobFilterForm(request.GET)
    page = _keyset(request, queries.job_list(**filters.filters()))
    rows = [(job, queries.counter_summary(job.counters), queries.job_duration(job)) for job in page]
    return {"filters": filters, "page": page, "rows": rows, "polling": queries.has_active(page)}


@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    """Jobs newest first, filtered by provider and status; the table polls while one runs."""
    context = _job_rows_context(request)
    context["start_form"] = StartSyncForm()
    return render(request, "sync/job_list.html", context)


@require_GET
def job_rows(request: HttpRequest) -> HttpResponse:
    """Partial: the job table of ``job_list`` (same query string), polled while a job runs."""
    return render(request, "sync/_job_table.html", _job_rows_context(request))


@require_POST
def job_start(request: HttpRequest) -> HttpResponse:
    """Queue a full synchronisation of one provider, then show the new job."""
    form = StartSyncForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a provider to synchronise."))
        return redirect("sync:job_list")
    provider, dry_run = form.cleaned_data["provider"], form.cleaned_data["dry_run"]
    try:
        job = services.sync_job_enqueue(
            request.user,
            provider,
            kind=SyncJob.Kind.FULL,
            trigger=SyncJob.Trigger.MANUAL,
            dry_run=dry_run,
        )
    except services.SyncError as exc:
        messages.error(request, str(exc))
        return redirect("sync:job_list")
    messages.success(request, _("Job #%(id)s is queued.") % {"id": job.pk})
    return redirect("sync:job_detail", pk=job.pk)


def _job_status_context(job: SyncJob) -> dict[str, Any]:
    return {
        "job": job,
        "summary": queries.counter_summary(job.counters),
        "duration": queries.job_duration(job),
        "polling": queries.is_active(job),
    }


@require_GET
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A job's status (polled while it runs), its counters, actions and events (or plan)."""
    job = get_object_or_404(
        SyncJob.objects.select_related("provider", "requested_by", "decided_by"), pk=pk
    )
    status_form = JobEventFilterForm(request.GET)
    events = queries.job_events(job, status=status_form.status_filter())
    context = _job_status_context(job)
    page = queries.with_diffs(_keyset(request, events))
    context.update({"status_form": status_form, "page": page})
    return render(request, "sync/job_detail.html", context)


@require_GET
def job_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Partial: the job's status block. It carries the polling trigger only while the job is
    queued or running; a poll that finds the job finished reloads the page (new events)."""
    job = get_object_or_404(
        SyncJob.objects.select_related("provider", "requested_by", "decided_by"), pk=pk
    )
    context = _job_status_context(job)
    response = render(request, "sync/_job_status.html", context)
    if request.GET.get("poll") and not context["polling"]:
        response["HX-Refresh"] = "true"
    return response


def _job_action(
    request: HttpRequest, pk: int, service: Callable[[Any, SyncJob], SyncJob], done: str
) -> HttpResponse:
    job = get_object_or_404(SyncJob, pk=pk)
    try:
        service(request.user, job)
    except services.SyncError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done % {"id": job.pk})
    return redirect("sync:job_detail", pk=job.pk)


@require_POST
def job_approve(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve the deletions a job stopped for; the job goes on."""
    done = _("Deletions of job #%(id)s approved; the job goes on.")
    return _job_action(request, pk, services.sync_job_approve, done)


@require_POST
def job_reject(request: HttpRequest, pk: int) -> HttpResponse:
    """Refuse the deletions a job stopped for."""
    done = _(
        "Deletions of job #%(id)s rejected: the job goes on with its other changes and "
        "deletes nothing in DingTalk."
    )
    return _job_action(request, pk, services.sync_job_reject, done)


@require_POST
def job_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel a job that has not started."""
    return _job_action(request, pk, services.sync_job_cancel, _("Job #%(id)s cancelled."))


# --- events ----------------------------------------------------------------------------------


@require_GET
def event_list(request: HttpRequest) -> HttpResponse:
    """Every sync event, newest first: filters, a person search and keyset pages of 50."""
    filters = EventFilterForm(request.GET)
    page = queries.with_diffs(_keyset(request, queries.event_list(filters.filters())))
    return render(request, "sync/event_list.html", {"filters": filters, "page": page})


def _object_type(object_type: str) -> str:
    if object_type not in SyncEvent.ObjectType.values:
        raise Http404(_("Unknown object type."))
    return object_type


@require_GET
def object_timeline(request: HttpRequest, object_type: str, source_id: int) -> HttpResponse:
    """Every event of one account or organisation across jobs and providers, newest first."""
    object_type = _object_type(object_type)
    page = queries.with_diffs(_keyset(request, queries.object_events(object_type, source_id)))
    source = queries.object_source(object_type, source_id)
    context = {
        "object_type": object_type,
        "source_id": source_id,
        "source": source,
        "label": queries.object_label(source, page),
        "page": page,
        "providers": queries.object_providers(object_type, source_id),
        "conflicts": queries.account_conflicts(source_id) if object_type == "user" else [],
    }
    return render(request, "sync/object_timeline.html", context)


@require_POST
def object_repush(request: HttpRequest, object_type: str, source_id: int) -> HttpResponse:
    """Push one account or organisation to one provider again, then show the new job."""
    object_type = _object_type(object_type)
    form = RepushForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a provider to push to."))
        return redirect("sync:object_timeline", object_type=object_type, source_id=source_id)
    provider = form.cleaned_data["provider"]
    try:
        job = services.sync_object_enqueue(request.user, provider, object_type, source_id)
    except services.SyncError as exc:
        messages.error(request, str(exc))
        return redirect("sync:object_timeline", object_type=object_type, source_id=source_id)
    messages.success(request, _("Re-push queued as job #%(id)s.") % {"id": job.pk})
    return redirect("sync:job_detail", pk=job.pk)


@require_POST
def link_user(request: HttpRequest, source_id: int) -> HttpResponse:
    """Link an account to the DingTalk user holding its conflicting value (its conflicts are
    forgotten and it is pushed again), then go back to the page the admin came from."""
    account = get_object_or_404(Account, pk=source_id)
    form = LinkUserForm(request.POST)
    back = next_url(request, reverse("directory:account_detail", args=[account.pk]))
    if not form.is_valid():
        messages.error(request, _("Choose a provider and a DingTalk userid to link to."))
        return redirect(back)
    provider, userid = form.cleaned_data["provider"], form.cleaned_data["userid"]
    try:
        job = services.sync_link_user(request.user, provider, account, userid)
    except services.SyncError as exc:
        messages.error(request, str(exc))
        return redirect(back)
    done = _("%(account)s is now linked to DingTalk user %(userid)s; job #%(id)s pushes it again.")
    messages.success(request, done % {"account": account.username, "userid": userid, "id": job.pk})
    return redirect(back)


# --- pending changes -------------------------------------------------------------------------


@require_GET
def pending_list(request: HttpRequest, provider_id: int) -> HttpResponse:
    """The directory changes waiting for the provider's next incremental run, 50 a page."""
    provider = get_object_or_404(IdentityProvider, pk=provider_id)
    page = Paginator(queries.pending_changes(provider), PENDING_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = queries.with_objects(page)
    context = {"provider": provider, "page": page, "rows": rows}
    return render(request, "sync/pending_list.html", context)


# --- DingTalk's side -------------------------------------------------------------------------


@require_GET
def dingtalk_view(request: HttpRequest, provider_id: int) -> HttpResponse:
    """What DingTalk holds under the provider's target departments, read live (read-only)."""
    provider = get_object_or_404(IdentityProvider, pk=provider_id)
    context: dict[str, Any] = {"provider": provider, "targets": queries.provider_targets(provider)}
    try:
        state = services.dingtalk_snapshot(request.user, provider)
    except DingTalkError as exc:
        context.update({"error": str(exc), "hint": exc.rendered_hint()})
    except ProviderError as exc:
        context["error"] = str(exc)
    else:
        context["tree"] = queries.dingtalk_tree(state, context["targets"])
    return render(request, "sync/dingtalk_view.html", context)
