"""Read-side helpers of the notification settings page: what the template shows."""

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from dtconsole.audit.models import AuditEntry
from dtconsole.providers.models import IdentityProvider
from dtconsole.providers.presenters import ChangeLine, change_lines

from . import queries
from .forms import NotificationSettingsForm
from .services import StaleNotificationSettings

ACTION = "notifications.update_settings"
RECENT_ENTRIES = 50


@dataclass(frozen=True)
class SettingsChange:
    """One saved change of the notification settings, as the conflict message lists it."""

    entry: AuditEntry
    lines: list[ChangeLine]

    @property
    def part(self) -> str:
        return _("Notifications")


def changes_since(provider: IdentityProvider, version: int | None) -> list[SettingsChange]:
    """The settings changes saved after ``version``, oldest first, from the audit log."""
    entries = AuditEntry.objects.filter(
        object_type=IdentityProvider._meta.label_lower, object_id=str(provider.pk), action=ACTION
    ).order_by("-id")[:RECENT_ENTRIES]
    newer = [e for e in entries if (e.after.get("version") or 0) > (version or 0)]
    return [SettingsChange(e, change_lines(e, version_field="version")) for e in reversed(newer)]


def settings_page(
    provider: IdentityProvider,
    form: NotificationSettingsForm,
    version: int,
    conflict: StaleNotificationSettings | None,
) -> dict[str, Any]:
    """The context of the notification settings page."""
    saved = queries.settings_for(provider)
    context = {
        "provider": provider,
        "form": form,
        "version": version,
        "chosen": queries.recipient_names(provider, list(saved.dingtalk_userids)),
        "email_configured": queries.email_configured(),
        "sent_this_month": queries.sent_this_month(provider),
        "quota_refusal": queries.last_quota_refusal(provider),
        "records": queries.recent(provider),
        "conflict": conflict,
    }
    if conflict is not None:
        context["conflict_changes"] = changes_since(provider, conflict.expected)
    return context
