"""Named services for identity providers: the only code that changes their configuration.

Each service validates, writes, and records an audit entry (secrets masked). DingTalk is
reached only through ``provider_client`` (the connector), never from views.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from connectors.dingtalk.client import DingTalkClient
from connectors.dingtalk.errors import DingTalkError, NotFound, OutOfScope
from dtconsole.audit.services import audit_record
from dtconsole.directory.models import Organization
from mappings.defaults import DEFAULT_MATCH_KEYS, DEFAULT_RULES
from mappings.engine import Rule, validate_rules
from mappings.models import FieldMapping

from .models import IdentityProvider, NodeScope
from .verification import Finding, explain

APPLICATION_FIELDS = (
    "name",
    "corp_id",
    "app_key",
    "agent_id",
    "oapi_base",
    "api_base",
    "login_base",
)
SCENARIO_FIELDS = ("incremental_enabled", "qr_logon_enabled", "multi_org_enabled")


class ProviderError(Exception):
    """A refused provider change, with a sentence that says what to do."""


def provider_client(provider: IdentityProvider, **overrides: Any) -> DingTalkClient:
    """A connector client for ``provider`` (decrypts the AppSecret; never log the client)."""
    options: dict[str, Any] = {
        "corp_id": provider.corp_id,
        "oapi_base": provider.oapi_base,
        "api_base": provider.api_base,
        "login_base": provider.login_base,
        "qps": provider.qps,
        "timeout": settings.DINGTALK_TIMEOUT,
    }
    options.update(overrides)
    return DingTalkClient(provider.app_key, provider.app_secret(), **options)


def snapshot(provider: IdentityProvider, fields: Sequence[str]) -> dict[str, Any]:
    return {name: getattr(provider, name) for name in fields}


# --- step 1: application ---------------------------------------------------------------------


@transaction.atomic
def provider_create(actor, data: dict[str, Any], app_secret: str) -> IdentityProvider:
    """Create a draft provider from wizard step 1 (the secret is required here)."""
    if not app_secret:
        raise ValidationError({"app_secret": _("Enter the AppSecret shown in DingTalk.")})
    provider = IdentityProvider(created_by=actor, **{k: data[k] for k in APPLICATION_FIELDS})
    provider.set_app_secret(app_secret)
    provider.step = IdentityProvider.Step.PERMISSIONS
    provider.match_keys = list(DEFAULT_MATCH_KEYS)
    provider.full_clean()
    provider.save()
    _create_default_mappings(provider)
    audit_record(actor, "provider.create", provider, after=_application_audit(provider, True))
    return provider


@transaction.atomic
def provider_update_application(
    actor, provider: IdentityProvider, data: dict[str, Any], app_secret: str = ""
) -> IdentityProvider:
    """Change step 1's values; an empty ``app_secret`` keeps the stored one.

    Changing the app or its endpoints invalidates the last verification.
    """
    before = _application_audit(provider, False)
    for name in APPLICATION_FIELDS:
        setattr(provider, name, data[name])
    if app_secret:
        provider.set_app_secret(app_secret)
    provider.full_clean()
    if _application_audit(provider, bool(app_secret)) != before or app_secret:
        provider.verification_ok = False
    provider.save()
    audit_record(
        actor,
        "provider.update_application",
        provider,
        before=before,
        after=_application_audit(provider, bool(app_secret)),
    )
    return provider


def _application_audit(provider: IdentityProvider, secret_changed: bool) -> dict[str, Any]:
    values = snapshot(provider, APPLICATION_FIELDS)
    # Only the fact that the secret was (re)entered is recorded, never a value or hash of it.
    values["app_secret"] = "entered" if secret_changed else ""
    return values


# --- step 2: permissions ---------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    ok: bool
    findings: list[Finding]


def provider_verify(actor, provider: IdentityProvider) -> Verification:
    """Check against DingTalk that the app can get a token and read and manage the address
    book; store the outcome and, when it passes during the wizard, advance to step 3."""
    with provider_client(provider) as client:
        report = client.check_permissions()
    findings = explain(report, provider)
    provider.verified_at = timezone.now()
    provider.verification_ok = report.ok
    provider.verification = {
        "ok": report.ok,
        "seen_ip": report.seen_ip,
        "missing_scopes": report.missing_scopes,
        "findings": [f.as_dict() for f in findings],
        "root_department": report.root_department.name if report.root_department else None,
    }
    if report.ok and provider.step == IdentityProvider.Step.PERMISSIONS:
        provider.step = IdentityProvider.Step.SCENARIO
    provider.save(update_fields=["verified_at", "verification_ok", "verification", "step"])
    audit_record(
        actor, "provider.verify", provider, after={"ok": report.ok, "findings": len(findings)}
    )
    return Verification(report.ok, findings)


# --- step 3: scenario ------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopeRequest:
    organization: Organization
    target_dept_id: int


def department_name(provider: IdentityProvider, dept_id: int) -> str:
    """The name of a DingTalk department, read live; ProviderError when DingTalk refuses it."""
    try:
        with provider_client(provider) as client:
            return client.department_get(dept_id).name
    except NotFound as exc:
        raise ProviderError(
            _(
                "DingTalk has no department with id %(id)s. Open the department in the DingTalk "
                "admin backend (Contacts > edit department) to read its id."
            )
            % {"id": dept_id}
        ) from exc
    except OutOfScope as exc:
        raise ProviderError(
            _(
                "Department %(id)s is outside the app's authorised scope. In the developer "
                "console set the permission scope to All employees, or pick a department "
                "inside it."
            )
            % {"id": dept_id}
        ) from exc
    except DingTalkError as exc:
        raise ProviderError(_("DingTalk answered: %(s)s") % {"s": exc.sentence()}) from exc


@transaction.atomic
def provider_set_scenario(
    actor, provider: IdentityProvider, scopes: Sequence[ScopeRequest], switches: dict[str, bool]
) -> IdentityProvider:
    """Replace the node scopes and feature switches (wizard step 3).

    Every target department is read from DingTalk first: an id DingTalk does not know is
    refused, and the name is kept to show beside the id.
    """
    _check_scopes_disjoint(scopes)
    names = {s.target_dept_id: department_name(provider, s.target_dept_id) for s in scopes}
    before = _scenario_audit(provider)
    provider.scopes.all().delete()
    NodeScope.objects.bulk_create(
        NodeScope(
            provider=provider,
            organization=s.organization,
            target_dept_id=s.target_dept_id,
            target_dept_name=names[s.target_dept_id],
        )
        for s in scopes
    )
    for name in SCENARIO_FIELDS:
        setattr(provider, name, bool(switches.get(name)))
    if provider.step == IdentityProvider.Step.SCENARIO:
        provider.step = IdentityProvider.Step.MAPPING
    provider.save()
    audit_record(
        actor, "provider.set_scenario", provider, before=before, after=_scenario_audit(provider)
    )
    return provider


def _check_scopes_disjoint(scopes: Sequence[ScopeRequest]) -> None:
    if not scopes:
        raise ProviderError(_("Choose at least one organisation to synchronise."))
    for a in scopes:
        for b in scopes:
            if a is not b and a.organization.path.startswith(b.organization.path):
                raise ProviderError(
                    _("“%(a)s” is inside “%(b)s”, which is already in scope: remove one of them.")
                    % {"a": a.organization.name, "b": b.organization.name}
                )


def _scenario_audit(provider: IdentityProvider) -> dict[str, Any]:
    values = snapshot(provider, SCENARIO_FIELDS)
    values["scopes"] = [
        f"{s.organization_id}->{s.target_dept_id}" for s in provider.scopes.order_by("id")
    ]
    return values


# --- step 4: field mapping -------------------------------------------------------------------


def _create_default_mappings(provider: IdentityProvider) -> None:
    FieldMapping.objects.bulk_create(
        FieldMapping(
            provider=provider,
            target=r.target,
            display_name=r.display_name,
            is_extension=r.is_extension,
            source_kind=r.source_kind,
            source=r.source,
            apply=r.apply,
            default=r.default,
            position=i,
        )
        for i, r in enumerate(DEFAULT_RULES)
    )


@transaction.atomic
def provider_save_mappings(
    actor, provider: IdentityProvider, rules: Sequence[Rule], match_keys: Sequence[str]
) -> IdentityProvider:
    """Replace the provider's field mappings and mapping identity (step 4 or Modify).

    The rules are checked by the mapping engine first; every error names its field.
    """
    errors = validate_rules(rules)
    if errors:
        raise ValidationError([e.message for e in errors])
    before = _mapping_audit(provider)
    provider.field_mappings.all().delete()
    FieldMapping.objects.bulk_create(_mapping_row(provider, i, r) for i, r in enumerate(rules))
    provider.match_keys = list(match_keys)
    if provider.step == IdentityProvider.Step.MAPPING:
        provider.step = IdentityProvider.Step.DONE
    provider.save(update_fields=["match_keys", "step", "updated_at"])
    audit_record(
        actor, "provider.save_mappings", provider, before=before, after=_mapping_audit(provider)
    )
    return provider


def provider_rules(provider: IdentityProvider) -> list[Rule]:
    """The provider's field mappings as engine rules, in order."""
    return [
        Rule(
            target=m.target,
            source_kind=m.source_kind,
            source=m.source,
            apply=m.apply,
            default=m.default,
            is_extension=m.is_extension,
            display_name=m.display_name,
        )
        for m in provider.field_mappings.order_by("position", "id")
    ]


def _mapping_row(provider: IdentityProvider, position: int, rule: Rule) -> FieldMapping:
    return FieldMapping(
        provider=provider,
        target=rule.target,
        display_name=rule.display_name,
        is_extension=rule.is_extension,
        source_kind=rule.source_kind,
        source=rule.source,
        apply=rule.apply,
        default=rule.default,
        position=position,
    )


def _mapping_audit(provider: IdentityProvider) -> dict[str, Any]:
    rows = provider.field_mappings.order_by("position", "id")
    return {
        "match_keys": list(provider.match_keys),
        "mappings": [f"{m.target} <- {m.source_kind}:{m.source} ({m.apply})" for m in rows],
    }


@transaction.atomic
def provider_delete(actor, provider: IdentityProvider) -> None:
    """Delete the provider and the console's links to DingTalk objects; DingTalk is untouched."""
    audit_record(actor, "provider.delete", provider, before=_application_audit(provider, False))
    provider.delete()
