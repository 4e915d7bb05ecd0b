"""Console entry pages, and DingTalk QR code logon (logic in ``dingtalk_login``)."""

from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from . import dingtalk_login
from .dingtalk_login import LoginRefused


def home(request: HttpRequest) -> HttpResponse:
    """The console opens on the directory."""
    return redirect("directory:org_tree")


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
