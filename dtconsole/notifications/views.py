"""Notification pages: a provider's notification settings and record, for administrators.

Thin views: a form, one service call, redirect or render.
"""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from dtconsole.access import roles
from dtconsole.access.decorators import page_requires
from dtconsole.providers.models import IdentityProvider

from . import presenters, queries, services
from .forms import NotificationSettingsForm
from .models import Notification


@page_requires(roles.MANAGE_PROVIDERS)
def notification_settings(request: HttpRequest, pk: int) -> HttpResponse:
    """Modify > Notifications: who is told about failed, waiting and stale syncs, and how often."""
    provider = get_object_or_404(IdentityProvider, pk=pk)
    conf = queries.settings_for(provider)
    version = _posted_version(request) if request.method == "POST" else conf.version
    form = NotificationSettingsForm(request.POST or None, instance=conf)
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            services.notification_settings_update(
                request.user, provider, form.cleaned_data, version=version
            )
        except services.StaleNotificationSettings as exc:
            conflict, version = exc, exc.current.version
            form = NotificationSettingsForm(instance=exc.current)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Notification settings saved."))
            return redirect("notifications:settings", pk=provider.pk)
    context = presenters.settings_page(provider, form, version, conflict)
    return render(request, "notifications/settings.html", context, status=409 if conflict else 200)


def _posted_version(request: HttpRequest) -> int | None:
    """The settings version the posted form was opened at (its hidden field)."""
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return None


def _add_errors(form: NotificationSettingsForm, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@require_GET
@page_requires(roles.MANAGE_PROVIDERS)
def recipient_search(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: the provider's linked DingTalk users matching ``q``, as buttons that add one."""
    provider = get_object_or_404(IdentityProvider, pk=pk)
    query = request.GET.get("q", "")
    context: dict[str, Any] = {
        "matches": queries.recipient_matches(provider, query),
        "searched": bool(query.strip()),
    }
    return render(request, "notifications/_recipient_matches.html", context)


@require_POST
@page_requires(roles.MANAGE_PROVIDERS)
def check_delivery(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask DingTalk who received one work notification (one call against the quota)."""
    notification = get_object_or_404(Notification.objects.select_related("provider"), pk=pk)
    try:
        services.notification_check_delivery(request.user, notification)
    except services.NotificationError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("DingTalk's delivery result is shown below."))
    url = reverse("notifications:settings", args=[notification.provider_id])
    return redirect(f"{url}#notification-{notification.pk}")
