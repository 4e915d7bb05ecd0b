"""Read-side helpers of the provider pages: what the templates show, computed once."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from connectors.dingtalk.scopes import SCOPES
from dtconsole.audit.models import AuditEntry
from dtconsole.dingtalk_texts import translate
from dtconsole.directory import queries as directory_queries
from mappings.engine import Rule

from . import services
from .forms import live_rows, rules_of
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
            # The DingTalk name is Chinese already: no English gloss beside it in Chinese.
            "en": "" if (get_language() or "").startswith("zh") else s.name_en,
            "purpose": translate(s.purpose),
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
    return rules_of(live_rows(formset.forms))


# --- step 3: scopes and the tree they make -----------------------------------------------------

PREVIEW_CHILDREN = 10  # first-level children shown per organisation; the rest are counted


def scope_requests(forms: Iterable) -> list[services.ScopeRequest]:
    """The scopes of valid step-3 rows, in order; empty and removed rows are skipped."""
    return [
        services.ScopeRequest(
            f.cleaned_data["organization"],
            f.cleaned_data["target_dept_id"],
            f.cleaned_data["placement"],  # ScopeForm.clean gives a row without one "under"
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


# --- what changed since a configuration version (optimistic concurrency refusals) ------------

CONFIGURATION_ACTIONS = {
    "provider.update_application": gettext_lazy("Application"),
    "provider.set_scenario": gettext_lazy("Scenario"),
    "provider.save_mappings": gettext_lazy("Field mapping"),
    "provider.update_settings": gettext_lazy("Sync settings"),
}
# Every versioned part of a provider's configuration, the notification settings included.
ALL_PARTS = {
    **CONFIGURATION_ACTIONS,
    "notifications.update_settings": gettext_lazy("Notifications"),
}
RECENT_ENTRIES = 50  # how far back the audit log is read for a refusal's explanation


@dataclass(frozen=True)
class ChangeLine:
    """One changed value: before → after, or for a list the items removed and added."""

    name: str
    before: object = None
    after: object = None
    removed: tuple = ()
    added: tuple = ()

    @property
    def is_list(self) -> bool:
        return bool(self.removed or self.added)


@dataclass(frozen=True)
class ConfigurationChange:
    """One saved configuration change: who, when, which part, and the values it changed."""

    entry: AuditEntry
    lines: list[ChangeLine]

    @property
    def part(self) -> str:
        return str(ALL_PARTS.get(self.entry.action, self.entry.action))

    def as_dict(self) -> dict[str, object]:
        return {
            "action": self.entry.action,
            "actor": self.entry.actor_name,
            "at": self.entry.created_at.isoformat(),
            "version": self.entry.after.get("config_version"),
            "changes": [
                {"field": ln.name, "removed": list(ln.removed), "added": list(ln.added)}
                if ln.is_list
                else {"field": ln.name, "before": ln.before, "after": ln.after}
                for ln in self.lines
            ],
        }


def configuration_changes(
    provider: IdentityProvider,
    since: int | None,
    *,
    actions: Iterable[str] = tuple(CONFIGURATION_ACTIONS),
    version_field: str = "config_version",
) -> list[ConfigurationChange]:
    """The provider's configuration changes saved after version ``since``, oldest first,
    read from the audit log (secrets are already masked there). None: the latest one."""
    entries = AuditEntry.objects.filter(
        object_type=IdentityProvider._meta.label_lower,
        object_id=str(provider.pk),
        action__in=list(actions),
    ).order_by("-id")[:RECENT_ENTRIES]
    if since is None:
        newer = list(entries[:1])
    else:
        newer = [e for e in entries if (e.after.get(version_field) or 0) > since]
    return [ConfigurationChange(e, change_lines(e, version_field)) for e in reversed(newer)]


def change_lines(entry: AuditEntry, version_field: str) -> list[ChangeLine]:
    """An audited settings change as lines to show: lists as removed/added, the version
    counter (``version_field``) left out. Shared by every page that refuses a stale save."""
    lines = []
    for name, before, after in entry.changes():
        if name == version_field:
            continue
        if isinstance(before, list) and isinstance(after, list):
            removed = tuple(v for v in before if v not in after)
            added = tuple(v for v in after if v not in before)
            lines.append(ChangeLine(name, removed=removed, added=added))
        else:
            lines.append(ChangeLine(name, before, after))
    return lines
