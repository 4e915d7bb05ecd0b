"""Read-side helpers of the notification settings page: what the template shows."""

from typing import Any

from dtconsole.providers.models import IdentityProvider
from dtconsole.providers.presenters import configuration_changes

from . import queries
from .forms import NotificationSettingsForm
from .services import StaleNotificationSettings

ACTION = "notifications.update_settings"


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
        context["conflict_changes"] = configuration_changes(
            provider, conflict.expected or 0, actions=[ACTION], version_field="version"
        )
    return context
