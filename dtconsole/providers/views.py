"""Identity provider pages and the four-step Bind DingTalk wizard.

Thin views: a form, one service call, redirect or render. Every DingTalk call happens inside
``dtconsole.providers.services``.
"""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from dtconsole.access import roles
from dtconsole.access.decorators import page_requires
from dtconsole.directory import queries as directory_queries
from dtconsole.directory.models import Account
from dtconsole.directory.queries import org_search as org_matches
from dtconsole.next_url import next_url
from dtconsole.sync import queries as sync_queries
from dtconsole.sync.models import SyncJob
from dtconsole.sync.services import sync_job_enqueue
from mappings.engine import evaluate
from mappings.sources import source_account

from . import services
from .forms import (
    ApplicationForm,
    FieldMappingFormSet,
    MatchKeysForm,
    ScenarioForm,
    ScopeFormSet,
    SyncSettingsForm,
    attribute_choices,
)
from .models import IdentityProvider
from .presenters import (
    configuration_changes,
    deletion_defaults,
    developer_info,
    permission_checklist,
    row_errors,
    rules_from_formset,
    scope_requests,
    scope_tree_preview,
)

STEP_TEMPLATES = {1: "application", 2: "permissions", 3: "scenario", 4: "mapping"}
ORG_SEARCH_LIMIT = 20
RECENT_JOBS = 10


def provider_list(request: HttpRequest) -> HttpResponse:
    providers = IdentityProvider.objects.annotate(last_sync=Max("sync_jobs__created_at"))
    return render(request, "providers/list.html", {"providers": providers})


def provider_detail(request: HttpRequest, pk: int) -> HttpResponse:
    provider = get_object_or_404(IdentityProvider, pk=pk)
    context = {
        "provider": provider,
        "scopes": provider.scopes.select_related("organization"),
        "mappings": provider.field_mappings.all(),
        "findings": provider.verification.get("findings", []),
        **_recent_jobs_context(provider),
    }
    return render(request, "providers/detail.html", context)


@require_GET
def provider_jobs(request: HttpRequest, pk: int) -> HttpResponse:
    """Partial: the provider's recent jobs, polled by its page while one is queued or
    running; the answer that finds none running stops the polling."""
    provider = get_object_or_404(IdentityProvider.objects.only("pk"), pk=pk)
    return render(request, "providers/_recent_jobs.html", _recent_jobs_context(provider))


def _recent_jobs_context(provider: IdentityProvider) -> dict[str, Any]:
    jobs = list(sync_queries.job_list(provider=provider)[:RECENT_JOBS])
    return {
        "rows": [
            (j, sync_queries.counter_summary(j.counters), sync_queries.job_duration(j))
            for j in jobs
        ],
        "polling": sync_queries.has_active(jobs),
        "poll_url": reverse("providers:jobs", args=[provider.pk]),
        "provider_id": provider.pk,
    }


@page_requires(roles.MANAGE_PROVIDERS)
def wizard_step(request: HttpRequest, pk: int | None = None, step: int = 1) -> HttpResponse:
    """Dispatch to the step's view; a step beyond the one reached goes back to it."""
    if step not in STEP_VIEWS:
        raise Http404(_("The wizard has four steps."))
    provider = get_object_or_404(IdentityProvider, pk=pk) if pk else None
    if provider is None and step != 1:
        return redirect("providers:bind")
    if provider is not None and step > min(provider.step, 4):
        return redirect("providers:wizard", pk=provider.pk, step=min(provider.step, 4))
    return STEP_VIEWS[step](request, provider)


def _render_step(
    request, provider, step: int, context: dict, conflict: services.StaleConfiguration | None = None
) -> HttpResponse:
    context.update({"provider": provider, "step": step, "steps": IdentityProvider.Step.choices[:4]})
    context.update(_conflict_context(conflict))
    template = f"providers/wizard_{STEP_TEMPLATES[step]}.html"
    return render(request, template, context, status=409 if conflict else 200)


# --- optimistic concurrency: a form carries the configuration version it was opened at -------


def _posted_version(request: HttpRequest) -> int | None:
    """The configuration version the posted form was opened at (its hidden field)."""
    try:
        return int(request.POST.get("config_version", ""))
    except ValueError:
        return None


def _posted(
    request: HttpRequest, provider: IdentityProvider | None
) -> tuple[Any, services.StaleConfiguration | None]:
    """(the posted data, None), or (None, the refusal) when the form was opened at another
    configuration version than the stored one; (None, None) for a GET. The service checks
    the version again, with the provider row locked."""
    if request.method != "POST":
        return None, None
    if provider is not None:
        version = _posted_version(request)
        if version != provider.config_version:
            return None, services.StaleConfiguration(provider, version)
    return request.POST, None


def _conflict_context(conflict: services.StaleConfiguration | None) -> dict[str, Any]:
    if conflict is None:
        return {}
    return {
        "conflict": conflict,
        "conflict_changes": configuration_changes(conflict.provider, conflict.expected),
    }


def step_application(request: HttpRequest, provider: IdentityProvider | None) -> HttpResponse:
    posted, conflict = _posted(request, provider)
    form = ApplicationForm(posted, instance=provider, creating=provider is None)
    if posted is not None and form.is_valid():
        data, secret = form.cleaned_data, form.cleaned_data.pop("app_secret")
        try:
            if provider is None:
                provider = services.provider_create(request.user, data, secret)
            else:
                version = _posted_version(request)
                services.provider_update_application(
                    request.user, provider, data, secret, version=version
                )
        except services.StaleConfiguration as exc:
            conflict = exc
            provider.refresh_from_db()
            form = ApplicationForm(None, instance=provider)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            return redirect("providers:wizard", pk=provider.pk, step=2)
    context = {"form": form, "developer": developer_info(provider)}
    return _render_step(request, provider, 1, context, conflict)


def step_permissions(request: HttpRequest, provider: IdentityProvider) -> HttpResponse:
    findings = None
    if request.method == "POST":
        try:
            result = services.provider_verify(request.user, provider)
        except services.SecretUnavailable as exc:
            messages.error(request, str(exc))
            return redirect("providers:wizard", pk=provider.pk, step=2)
        if result.ok:
            messages.success(request, _("Verified: the app can read and manage the address book."))
            return redirect("providers:wizard", pk=provider.pk, step=3)
        findings = result.findings
    context = {"checklist": permission_checklist(), "findings": findings}
    return _render_step(request, provider, 2, context)


def step_scenario(request: HttpRequest, provider: IdentityProvider) -> HttpResponse:
    posted, conflict = _posted(request, provider)
    formset, form = _scenario_forms(provider, posted)
    if posted is not None and formset.is_valid() and form.is_valid():
        scopes, version = scope_requests(formset.forms), _posted_version(request)
        try:
            services.provider_set_scenario(
                request.user, provider, scopes, form.cleaned_data, version=version
            )
        except services.StaleConfiguration as exc:
            conflict = exc
            provider.refresh_from_db()
            formset, form = _scenario_forms(provider, None)
        except services.ProviderError as exc:
            formset.non_form_errors().append(str(exc))
        else:
            return redirect("providers:wizard", pk=provider.pk, step=4)
    context = {"formset": formset, "form": form, "deletion_defaults": deletion_defaults()}
    return _render_step(request, provider, 3, context, conflict)


def _scenario_forms(provider: IdentityProvider, data: Any) -> tuple[Any, ScenarioForm]:
    """Step 3's scope rows (the stored scopes, then an empty row) and switches."""
    initial = [
        {
            "organization": s.organization,
            "target_dept_id": s.target_dept_id,
            "placement": s.placement,
        }
        for s in provider.scopes.select_related("organization")
    ]
    formset = ScopeFormSet(data, initial=initial, prefix="scope")
    return formset, ScenarioForm(data, instance=provider)


def step_mapping(request: HttpRequest, provider: IdentityProvider) -> HttpResponse:
    posted, conflict = _posted(request, provider)
    formset, keys = _mapping_forms(provider, posted)
    if posted is not None and formset.is_valid() and keys.is_valid():
        rules, match_keys = rules_from_formset(formset), keys.cleaned_data["match_keys"]
        try:
            services.provider_save_mappings(
                request.user, provider, rules, match_keys, version=_posted_version(request)
            )
        except services.StaleConfiguration as exc:
            conflict = exc
            provider.refresh_from_db()
            formset, keys = _mapping_forms(provider, None)
        except ValidationError as exc:
            formset.non_form_errors().extend(exc.messages)
        else:
            return _after_mapping_saved(request, provider)
    context = {"formset": formset, "keys": keys}
    return _render_step(request, provider, 4, context, conflict)


def _mapping_forms(provider: IdentityProvider, data: Any) -> tuple[Any, MatchKeysForm]:
    return _mapping_formset(provider, data), MatchKeysForm(
        data, initial={"match_keys": provider.match_keys}
    )


def _mapping_formset(provider: IdentityProvider, data: Any) -> Any:
    """The mapping rows, their attribute pickers listing the extra attributes in use."""
    attributes = attribute_choices(directory_queries.extra_attribute_keys())
    return FieldMappingFormSet(
        data, instance=provider, prefix="map", form_kwargs={"attributes": attributes}
    )


def _after_mapping_saved(request: HttpRequest, provider: IdentityProvider) -> HttpResponse:
    if request.POST.get("action") == "save_sync":
        job = sync_job_enqueue(
            request.user, provider, kind=SyncJob.Kind.FULL, trigger=SyncJob.Trigger.WIZARD
        )
        messages.success(
            request, _("Saved. A full synchronisation is queued as job #%(id)s.") % {"id": job.pk}
        )
    else:
        messages.success(request, _("Field mapping saved. No synchronisation was started."))
    return redirect("providers:detail", pk=provider.pk)


STEP_VIEWS = {1: step_application, 2: step_permissions, 3: step_scenario, 4: step_mapping}


@page_requires(roles.MANAGE_PROVIDERS)
def provider_settings(request: HttpRequest, pk: int) -> HttpResponse:
    """Modify > Sync settings: deletion policy and threshold, adopted users, schedule, QPS."""
    provider = get_object_or_404(IdentityProvider, pk=pk)
    posted, conflict = _posted(request, provider)
    form = SyncSettingsForm(posted, instance=provider)
    back = next_url(request, reverse("providers:detail", args=[provider.pk]))
    if posted is not None and form.is_valid():
        version = _posted_version(request)
        try:
            services.provider_update_settings(
                request.user, provider, form.cleaned_data, version=version
            )
        except services.StaleConfiguration as exc:
            conflict = exc
            provider.refresh_from_db()
            form = SyncSettingsForm(None, instance=provider)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Sync settings saved."))
            return redirect(back)
    context = {"provider": provider, "form": form, "next": back, **_conflict_context(conflict)}
    return render(request, "providers/settings.html", context, status=409 if conflict else 200)


@require_POST
def provider_verify(request: HttpRequest, pk: int) -> HttpResponse:
    provider = get_object_or_404(IdentityProvider, pk=pk)
    try:
        result = services.provider_verify(request.user, provider)
    except services.SecretUnavailable as exc:
        messages.error(request, str(exc))
        return redirect("providers:detail", pk=pk)
    if result.ok:
        messages.success(request, _("Verified: the app can read and manage the address book."))
    else:
        messages.error(request, _("Verification failed: see the findings below."))
    return redirect("providers:detail", pk=pk)


@require_POST
def provider_sync(request: HttpRequest, pk: int) -> HttpResponse:
    """Start a full sync (or a dry run) of the provider now."""
    provider = get_object_or_404(IdentityProvider, pk=pk, step=IdentityProvider.Step.DONE)
    dry_run = request.POST.get("dry_run") == "1"
    job = sync_job_enqueue(
        request.user,
        provider,
        kind=SyncJob.Kind.FULL,
        trigger=SyncJob.Trigger.MANUAL,
        dry_run=dry_run,
    )
    messages.success(request, _("Sync job #%(id)s queued.") % {"id": job.pk})
    return redirect("sync:job_detail", pk=job.pk)


@page_requires(roles.MANAGE_PROVIDERS)
def provider_delete(request: HttpRequest, pk: int) -> HttpResponse:
    provider = get_object_or_404(IdentityProvider, pk=pk)
    if request.method == "POST":
        services.provider_delete(request.user, provider)
        messages.success(
            request,
            _("Provider “%(name)s” deleted. Nothing was changed in DingTalk.")
            % {"name": provider.name},
        )
        return redirect("providers:list")
    return render(request, "providers/delete.html", {"provider": provider})


@require_GET
@page_requires(roles.MANAGE_PROVIDERS)
def department_name(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: the name of the DingTalk department typed in step 3, read live."""
    provider = get_object_or_404(IdentityProvider, pk=pk)
    try:
        # htmx sends the input under its formset name (scope-0-target_dept_id).
        raw = next((v for k, v in request.GET.items() if k.endswith("dept_id")), "")
        dept_id = int(raw)
        context = {"name": services.department_name(request.user, provider, dept_id)}
    except ValueError:
        context = {"error": _("Enter a department id: a number, 1 for the root.")}
    except services.ProviderError as exc:
        context = {"error": str(exc)}
    return render(request, "providers/_department_name.html", context)


@require_GET
@page_requires(roles.MANAGE_PROVIDERS)
def scope_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: the top of the DingTalk tree step 3's rows would make, as entered (read only:
    the directory, and the target departments' names from DingTalk)."""
    provider = get_object_or_404(IdentityProvider, pk=pk)
    forms = ScopeFormSet(request.GET, prefix="scope").forms
    context = {
        "targets": scope_tree_preview(
            request.user, provider, scope_requests(f for f in forms if f.is_valid())
        ),
        "errors": row_errors(forms),
    }
    return render(request, "providers/_scope_preview.html", context)


@require_GET
def org_search(request: HttpRequest) -> HttpResponse:
    """htmx: organisations matching ``q``, as buttons that fill step 3's organisation field."""
    query = request.GET.get("q", "")
    context = {
        "matches": org_matches(query, limit=ORG_SEARCH_LIMIT),
        "searched": bool(query.strip()),
    }
    return render(request, "providers/_org_matches.html", context)


@require_POST
def mapping_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: the DingTalk payload the unsaved mapping would produce for one account."""
    provider = get_object_or_404(IdentityProvider, pk=pk)
    formset = _mapping_formset(provider, request.POST)
    username = request.POST.get("preview_username", "").strip()
    account = Account.objects.filter(username=username).first()
    context: dict = {"username": username, "account": account}
    if account is None:
        context["error"] = _("No account has the username “%(u)s”.") % {"u": username}
    elif not formset.is_valid():
        context["error"] = _("Fix the highlighted rows first.")
    else:
        context["result"] = evaluate(
            rules_from_formset(formset), source_account(account), creating=True
        )
    return render(request, "providers/_mapping_preview.html", context)


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)
