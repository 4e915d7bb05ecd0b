"""Console entry pages (the dashboard), and DingTalk QR code logon (logic in ``dingtalk_login``)."""

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from dtconsole.directory import queries as directory_queries
from dtconsole.sync import queries as sync_queries

from . import dingtalk_login
from .dingtalk_login import LoginRefused


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The dashboard: each provider's health, the workers' heartbeat, the directory's size."""
    context = {
        **_providers_context(),
        "workers": sync_queries.worker_statuses(),
        "directory": directory_queries.directory_size(),
    }
    return render(request, "dashboard/home.html", context)


@require_GET
def home_providers(request: HttpRequest) -> HttpResponse:
    """Partial: the providers' health, polled by the dashboard while a job is queued or
    running (the answer stops the polling once none is)."""
    return render(request, "dashboard/_providers.html", _providers_context())


def _providers_context() -> dict[str, Any]:
    health = sync_queries.providers_health()
    return {"health": health, "polling": any(h.active for h in health)}


@login_not_required
@require_GET
def dingtalk_start(request: HttpRequest, provider_id: int) -> HttpResponse:
    """Send the browser to DingTalk's login page for a provider that offers QR code logon."""
    provider = get_object_or_404(dingtalk_login.login_providers(), pk=provider_id)
    try:
        return redirect(dingtalk_login.start_login(request, provider))
    except LoginRefused as refusal:
        return _refused(request, refusal)


@login_not_required
@require_GET
def dingtalk_callback(request: HttpRequest) -> HttpResponse:
    """Where DingTalk sends the browser back: log in, or show the login page with the reason."""
    try:
        result = dingtalk_login.finish_login(request, request.GET)
    except LoginRefused as refusal:
        return _refused(request, refusal)
    return redirect(result.next_url)


def _refused(request: HttpRequest, refusal: LoginRefused) -> HttpResponse:
    context = {"form": AuthenticationForm(request), "dingtalk_refusal": refusal}
    return render(request, "registration/login.html", context, status=403)
