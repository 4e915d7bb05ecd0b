"""Read-side helpers of the provider pages: what the templates show, computed once."""

from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from connectors.dingtalk.scopes import SCOPES
from mappings.engine import Rule

from .models import IdentityProvider


def developer_info(provider: IdentityProvider | None) -> list[dict[str, str]]:
    """The values step 1 tells the admin to paste into DingTalk, with where they go."""
    public = settings.PUBLIC_URL.rstrip("/")
    seen_ip = (provider.verification.get("seen_ip") if provider else None) or ""
    egress = settings.EGRESS_IP or seen_ip
    return [
        {
            "label": _("Callback domain"),
            "value": urlsplit(public).netloc,
            "where": _(
                "Development configuration > Sharing settings (登录与分享 > 回调域名). "
                "Needed for DingTalk QR code logon; leave it out to disable that logon."
            ),
        },
        {
            "label": _("Application homepage URL"),
            "value": f"{public}/",
            "where": _("Security settings > In-app SSO address (应用首页地址)."),
        },
        {
            "label": _("Egress IP"),
            "value": egress,
            "where": _(
                "Security settings > Server egress IP (服务器出口IP), so only this console "
                "can call DingTalk as this app."
            )
            if egress
            else _(
                "Unknown here: set EGRESS_IP, or continue — step 2 reports the IP DingTalk sees."
            ),
        },
    ]


def permission_checklist() -> list[dict[str, object]]:
    """Step 2's checklist: each DingTalk permission to request and why."""
    return [
        {
            "code": s.code,
            "zh": s.name_zh,
            "en": s.name_en,
            "purpose": s.purpose,
            "required": s.required,
        }
        for s in SCOPES
    ]


def deletion_defaults() -> dict[str, object]:
    """The deletion settings a new provider starts with (the model's defaults), for step 3."""
    field = IdentityProvider._meta.get_field
    return {
        "delete_policy": IdentityProvider.DeletePolicy(field("delete_policy").default).label,
        "deletion_threshold_count": field("deletion_threshold_count").default,
        "deletion_threshold_percent": field("deletion_threshold_percent").default,
        "deletion_window_hours": field("deletion_window_hours").default,
    }


def rules_from_formset(formset) -> list[Rule]:
    """The engine rules of a valid field-mapping formset, in form order, deleted rows skipped."""
    rules = []
    for form in formset.forms:
        data = form.cleaned_data
        if not data or data.get("DELETE") or not data.get("target"):
            continue
        rules.append(
            Rule(
                target=data["target"].strip(),
                source_kind=data["source_kind"],
                source=data.get("source", ""),
                apply=data["apply"],
                default=data.get("default", ""),
                is_extension=bool(data.get("is_extension")),
                display_name=data.get("display_name", ""),
            )
        )
    return rules
