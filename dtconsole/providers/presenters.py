"""Read-side helpers of the provider pages: what the templates show, computed once."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from connectors.dingtalk.scopes import SCOPES
from dtconsole.directory import queries as directory_queries
from mappings.engine import Rule

from . import services
from .models import IdentityProvider, NodeScope


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


# --- step 3: scopes and the tree they make -----------------------------------------------------

PREVIEW_CHILDREN = 10  # first-level children shown per organisation; the rest are counted


def scope_requests(forms: Iterable) -> list[services.ScopeRequest]:
    """The scopes of valid step-3 rows, in order; empty and removed rows are skipped."""
    return [
        services.ScopeRequest(
            f.cleaned_data["organization"],
            f.cleaned_data["target_dept_id"],
            f.cleaned_data.get("placement") or NodeScope.Placement.UNDER,
        )
        for f in forms
        if f.cleaned_data.get("organization") and not f.cleaned_data.get("DELETE")
    ]


def row_errors(forms: Sequence) -> list[str]:
    """“Row 2: …” for each step-3 row that does not validate."""
    return [
        _("Row %(n)d: %(errors)s")
        % {"n": i + 1, "errors": " ".join(m for ms in f.errors.values() for m in ms)}
        for i, f in enumerate(forms)
        if not f.is_valid()
    ]


@dataclass
class PreviewNode:
    """A department the scope would make in DingTalk: a directory organisation."""

    name: str
    members: int
    children: list["PreviewNode"] = field(default_factory=list)
    more_children: int = 0


@dataclass
class PreviewRow:
    """What one scope puts under its target: the organisation itself (UNDER), or its
    children and direct members (MERGE)."""

    organization: str
    placement: str
    nodes: list[PreviewNode]
    more_nodes: int = 0
    merged_members: int = 0

    @property
    def merges(self) -> bool:
        return self.placement == NodeScope.Placement.MERGE


@dataclass
class TargetPreview:
    """A target DingTalk department and what the scopes would put under it."""

    dept_id: int
    name: str = ""
    error: str = ""
    rows: list[PreviewRow] = field(default_factory=list)


def scope_tree_preview(
    actor, provider: IdentityProvider, scopes: Sequence[services.ScopeRequest]
) -> list[TargetPreview]:
    """The top of the DingTalk tree ``scopes`` would make, grouped by target department.

    Computed from the directory; DingTalk is only read, for the targets' names (through
    ``department_name``, so only those who configure the provider may ask).
    """
    targets: dict[int, TargetPreview] = {}
    for scope in scopes:
        target = targets.get(scope.target_dept_id)
        if target is None:
            target = targets[scope.target_dept_id] = _target(actor, provider, scope.target_dept_id)
        target.rows.append(_preview_row(scope))
    return list(targets.values())


def _target(actor, provider: IdentityProvider, dept_id: int) -> TargetPreview:
    try:
        return TargetPreview(dept_id, name=services.department_name(actor, provider, dept_id))
    except services.ProviderError as exc:
        return TargetPreview(dept_id, error=str(exc))


def _preview_row(scope: services.ScopeRequest) -> PreviewRow:
    org = scope.organization
    children = _children(org)
    shown, more = children[:PREVIEW_CHILDREN], max(0, len(children) - PREVIEW_CHILDREN)
    row = PreviewRow(org.name, scope.placement, nodes=[])
    if scope.placement == NodeScope.Placement.MERGE:
        row.nodes, row.more_nodes = shown, more
        row.merged_members = directory_queries.member_counts(org)[0]
    else:
        members = directory_queries.member_counts(org)[1]
        row.nodes = [PreviewNode(org.name, members, shown, more)]
    return row


def _children(org) -> list[PreviewNode]:
    """The organisation's children in the directory's order, with their subtree members."""
    return [
        PreviewNode(n.org.name, n.subtree_members) for n in directory_queries.tree_children(org)
    ]
