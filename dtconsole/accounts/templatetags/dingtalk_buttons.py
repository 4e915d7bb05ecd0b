"""The login page's "Log in with DingTalk" buttons (and the reason a DingTalk login failed)."""

from typing import Any

from django import template

from dtconsole.accounts.dingtalk_login import login_providers

register = template.Library()


@register.inclusion_tag("accounts/_dingtalk_login.html", takes_context=True)
def dingtalk_login_buttons(context: template.Context) -> dict[str, Any]:
    """One button per bound provider with QR code logon on; one query, no DingTalk call."""
    return {
        "providers": list(login_providers()),
        "next": context.get("next", ""),
        "refusal": context.get("dingtalk_refusal"),
    }
