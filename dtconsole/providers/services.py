"""Named services for identity providers: the only code that changes their configuration.

Each service validates, writes, and records an audit entry (secrets masked). DingTalk is
reached only through ``provider_client`` (the connector), never from views.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from connectors.dingtalk.client import DingTalkClient
from connectors.dingtalk.errors import DingTalkError, NotFound, OutOfScope
from dtconsole.access import roles
from dtconsole.access.services import require
from dtconsole.audit.services import audit_record
from dtconsole.directory.models import Organization
from dtconsole.monitoring.calls import record_dingtalk_call
from dtconsole.sync.texts import translated
from mappings.defaults import DEFAULT_MATCH_KEYS, DEFAULT_RULES
from mappings.engine import Rule, validate_rules
from mappings.models import FieldMapping

from .crypto import CredentialsKeyError
from .models import IdentityProvider, NodeScope
from .tokens import ProviderTokenStore, forget_token
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
SETTINGS_FIELDS = (
    "delete_policy",
    "deletion_threshold_count",
    "deletion_threshold_percent",
    "deletion_window_hours",
    "protect_adopted",
    "full_sync_interval_hours",
    "qps",
)
BASE_URL_FIELDS = ("oapi_base", "api_base", "login_base")


class ProviderError(Exception):
    """A refused provider change, with a sentence that says what to do."""


class SecretUnavailable(ProviderError):
    """The stored AppSecret cannot be used: no configured key decrypts it, or its hosts are
    no longer allowed. Nothing can call DingTalk for this provider until an admin acts."""


class StaleConfiguration(ProviderError):
    """The change was made from an older configuration version than the one stored: someone
    else saved in between. Nothing was written; ``provider`` holds what is stored now."""

    def __init__(self, provider: IdentityProvider, expected: int | None) -> None:
        self.provider = provider
        self.expected = expected
        self.current = provider.config_version
        super().__init__(
            _(
                "Someone else saved this provider's configuration after this change was "
                "prepared (version %(expected)s, now %(current)s), so it was not saved. Look "
                "at the current values and make the change again if it is still needed."
            )
            % {"expected": "?" if expected is None else expected, "current": self.current}
        )


def check_version(provider: IdentityProvider, version: int | None) -> None:
    """Refuse early (``StaleConfiguration``) when ``version`` is not the stored one; None
    skips the check. The services check again, under the row lock."""
    if version is not None:
        current = IdentityProvider.objects.get(pk=provider.pk)
        if current.config_version != version:
            raise StaleConfiguration(current, version)


def _locked(provider: IdentityProvider, version: int | None) -> IdentityProvider:
    """The provider's row as stored, locked until the transaction ends (SQLite's IMMEDIATE
    transactions lock the database instead); ``StaleConfiguration`` when ``version`` (None:
    unchecked) is not the stored one. Call inside ``transaction.atomic``."""
    current = IdentityProvider.objects.select_for_update().get(pk=provider.pk)
    if version is not None and current.config_version != version:
        raise StaleConfiguration(current, version)
    return current


def _bump(current: IdentityProvider) -> list[str]:
    """Count one more configuration change; the columns the caller's save must include."""
    current.config_version += 1
    return ["config_version", "updated_at"]


def host_allowed(url: str) -> bool:
    """Whether ``url`` points at a host in DINGTALK_ALLOWED_HOSTS (empty: any host)."""
    allowed = {h.lower() for h in settings.DINGTALK_ALLOWED_HOSTS}
    if not allowed:
        return True
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return host in allowed or (parts.port is not None and f"{host}:{parts.port}" in allowed)


def provider_client(
    provider: IdentityProvider, *, shared_token: bool = True, **overrides: Any
) -> DingTalkClient:
    """A connector client for ``provider`` (decrypts the AppSecret; never log the client).

    Refuses (``SecretUnavailable``) when the secret cannot be decrypted or a base URL is not
    an allowed host: the secret only ever travels to hosts the admin confirmed it for.
    """
    refused = [
        getattr(provider, f) for f in BASE_URL_FIELDS if not host_allowed(getattr(provider, f))
    ]
    if refused:
        raise SecretUnavailable(
            _(
                "The provider's API base URL %(url)s is not an allowed DingTalk host "
                "(DINGTALK_ALLOWED_HOSTS), so the AppSecret is not sent there. Point the "
                "provider at DingTalk's hosts in step 1, or add the host to DINGTALK_ALLOWED_HOSTS."
            )
            % {"url": refused[0]}
        )
    try:
        secret = provider.app_secret()
    except CredentialsKeyError as exc:
        raise SecretUnavailable(
            _(
                "The stored AppSecret of “%(name)s” cannot be decrypted with CREDENTIALS_KEY. "
                "Restore the key it was encrypted with (add it after the current one), or enter "
                "the AppSecret again in step 1."
            )
            % {"name": provider.name}
        ) from exc
    options: dict[str, Any] = {
        # One token per app for every job and worker; verification fetches its own, so a
        # wrong new secret cannot pass on the old secret's token.
        "token_store": ProviderTokenStore(provider) if shared_token and provider.pk else None,
        "corp_id": provider.corp_id,
        "oapi_base": provider.oapi_base,
        "api_base": provider.api_base,
        "login_base": provider.login_base,
        "qps": provider.qps,
        "timeout": settings.DINGTALK_TIMEOUT,
        "on_call": record_dingtalk_call,  # counted for /metrics (dtconsole.monitoring)
    }
    options.update(overrides)
    return DingTalkClient(provider.app_key, secret, **options)


def snapshot(provider: IdentityProvider, fields: Sequence[str]) -> dict[str, Any]:
    return {name: getattr(provider, name) for name in fields}


# --- step 1: application ---------------------------------------------------------------------


@transaction.atomic
def provider_create(actor, data: dict[str, Any], app_secret: str) -> IdentityProvider:
    """Create a draft provider from wizard step 1 (the secret is required here)."""
    require(actor, roles.MANAGE_PROVIDERS)
    if not app_secret:
        raise ValidationError({"app_secret": _("Enter the AppSecret shown in DingTalk.")})
    provider = IdentityProvider(
        created_by=actor if getattr(actor, "pk", None) else None,
        **{k: data[k] for k in APPLICATION_FIELDS},
    )
    _check_endpoints(provider, None, app_secret)
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
    actor,
    provider: IdentityProvider,
    data: Mapping[str, Any],
    app_secret: str = "",
    *,
    version: int | None = None,
) -> IdentityProvider:
    """Change step 1's values; an empty ``app_secret`` keeps the stored one.

    Changing the app or its endpoints invalidates the last verification. Changing any API
    base URL needs the AppSecret in the same request: the stored secret is never sent to a
    host the admin did not confirm by entering it with that host. ``version`` is the
    configuration version the change was made from (None: unchecked).
    """
    require(actor, roles.MANAGE_PROVIDERS)
    # Compared with what is stored (and locked): a ModelForm has already written its values
    # onto ``provider`` by the time it is valid.
    current = _locked(provider, version)
    before = _application_audit(current, False)
    for name in APPLICATION_FIELDS:
        setattr(current, name, data[name])
    _check_endpoints(current, before, app_secret)
    if app_secret:
        current.set_app_secret(app_secret)
    current.full_clean()
    if _application_audit(current, bool(app_secret)) != before or app_secret:
        current.verification_ok = False
        forget_token(current)
    fields = [*APPLICATION_FIELDS, "app_secret_encrypted", "verification_ok", *_bump(current)]
    current.save(update_fields=fields)
    after = _application_audit(current, bool(app_secret))
    audit_record(actor, "provider.update_application", current, before=before, after=after)
    provider.refresh_from_db()
    return provider


def _check_endpoints(
    provider: IdentityProvider, before: dict[str, Any] | None, app_secret: str
) -> None:
    """Base URLs must be allowed hosts; a changed one must come with the AppSecret."""
    errors: dict[str, str] = {}
    for name in BASE_URL_FIELDS:
        url = getattr(provider, name)
        if not host_allowed(url):
            errors[name] = _(
                "%(host)s is not an allowed DingTalk host. Use DingTalk's own hosts, or ask "
                "whoever runs the console to add it to DINGTALK_ALLOWED_HOSTS."
            ) % {"host": urlsplit(url).netloc or url}
    moved = before is not None and any(before[n] != getattr(provider, n) for n in BASE_URL_FIELDS)
    if moved and not app_secret:
        errors["app_secret"] = _(
            "You changed the API endpoints: enter the AppSecret again to confirm it may be "
            "sent to the new hosts."
        )
    if errors:
        raise ValidationError(errors)


def _application_audit(provider: IdentityProvider, secret_changed: bool) -> dict[str, Any]:
    values = snapshot(provider, APPLICATION_FIELDS)
    # Only the fact that the secret was (re)entered is recorded, never a value or hash of it.
    values["app_secret"] = "entered" if secret_changed else ""
    values["config_version"] = provider.config_version
    return values


# --- step 2: permissions ---------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    ok: bool
    findings: list[Finding]


def provider_verify(actor, provider: IdentityProvider) -> Verification:
    """Check against DingTalk that the app can get a token and read and manage the address
    book; store the outcome and, when it passes during the wizard, advance to step 3."""
    require(actor, roles.MANAGE_PROVIDERS)
    with provider_client(provider, shared_token=False) as client:
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
    """One scope as asked for: a source organisation, the target department, the placement."""

    organization: Organization
    target_dept_id: int
    placement: str = NodeScope.Placement.UNDER


def department_name(actor, provider: IdentityProvider, dept_id: int) -> str:
    """The name of a DingTalk department, read live; ProviderError when DingTalk refuses it.

    Only for those who configure the provider: it calls DingTalk with the app's secret.
    """
    require(actor, roles.MANAGE_PROVIDERS)
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


def provider_set_scenario(
    actor,
    provider: IdentityProvider,
    scopes: Sequence[ScopeRequest] | None,
    switches: Mapping[str, bool] | None,
    *,
    version: int | None = None,
) -> IdentityProvider:
    """Replace the node scopes and the feature switches (wizard step 3; the API's scopes and
    switches). None keeps that part as it is.

    Every target department is read from DingTalk first, outside the transaction: an id
    DingTalk does not know is refused, and the name is kept to show beside the id. New
    scopes move the wizard on to step 4. ``version``: as in ``provider_update_application``.
    """
    require(actor, roles.MANAGE_PROVIDERS)
    check_version(provider, version)  # before asking DingTalk for anything
    names = {}
    if scopes is not None:
        _check_scopes_disjoint(scopes)
        names = {
            s.target_dept_id: department_name(actor, provider, s.target_dept_id) for s in scopes
        }
    with transaction.atomic():
        current = _locked(provider, version)
        before = _scenario_audit(current)
        if scopes is not None:
            _replace_scopes(current, scopes, names)
            if current.step == IdentityProvider.Step.SCENARIO:
                current.step = IdentityProvider.Step.MAPPING
        if switches is not None:
            for name in SCENARIO_FIELDS:
                setattr(current, name, bool(switches.get(name)))
        current.save(update_fields=[*SCENARIO_FIELDS, "step", *_bump(current)])
        after = _scenario_audit(current)
        audit_record(actor, "provider.set_scenario", current, before=before, after=after)
    provider.refresh_from_db()
    return provider


def _replace_scopes(
    provider: IdentityProvider, scopes: Sequence[ScopeRequest], names: Mapping[int, str]
) -> None:
    provider.scopes.all().delete()
    NodeScope.objects.bulk_create(
        NodeScope(
            provider=provider,
            organization=s.organization,
            target_dept_id=s.target_dept_id,
            target_dept_name=names[s.target_dept_id],
            placement=s.placement,
        )
        for s in scopes
    )


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
    scopes = provider.scopes.select_related("organization").order_by("id")
    values["scopes"] = [scope_label(s) for s in scopes]
    values["config_version"] = provider.config_version
    return values


def scope_label(scope: NodeScope) -> str:
    """A scope as the audit log reads it: “Finance [fin] → 1 全公司 (under)”."""
    org = scope.organization
    name = f"{org.name} [{org.code}]" if org.code else org.name
    target = f"{scope.target_dept_id} {scope.target_dept_name}".strip()
    return f"{name} → {target} ({scope.placement})"


# --- the API: any part of the configuration in one request ----------------------------------


@transaction.atomic
def provider_update(
    actor,
    provider: IdentityProvider,
    data: Mapping[str, Any],
    app_secret: str = "",
    *,
    version: int | None = None,
) -> IdentityProvider:
    """Change any of the provider's application fields, scenario switches and sync settings
    at once (the API's PATCH and PUT), all or nothing.

    Each part goes through its own service (``provider_update_application``,
    ``provider_set_scenario``, ``provider_update_settings``), so it is checked and audited
    exactly as on the pages; absent fields are kept. ``app_secret`` replaces the stored one,
    and must come with any change of an API base URL. ``version`` is checked once, with the
    row locked for the whole change; each part then counts as one configuration change.
    """
    require(actor, roles.MANAGE_PROVIDERS)
    current = _locked(provider, version)
    if app_secret or any(name in data for name in APPLICATION_FIELDS):
        application = {**snapshot(current, APPLICATION_FIELDS), **_pick(data, APPLICATION_FIELDS)}
        provider_update_application(actor, current, application, app_secret)
    if any(name in data for name in SCENARIO_FIELDS):
        switches = {**snapshot(current, SCENARIO_FIELDS), **_pick(data, SCENARIO_FIELDS)}
        provider_set_scenario(actor, current, None, switches)
    if any(name in data for name in SETTINGS_FIELDS):
        provider_update_settings(actor, current, _pick(data, SETTINGS_FIELDS))
    provider.refresh_from_db()
    return provider


def _pick(data: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    return {name: data[name] for name in names if name in data}


# --- sync settings ---------------------------------------------------------------------------


@transaction.atomic
def provider_update_settings(
    actor, provider: IdentityProvider, data: Mapping[str, Any], *, version: int | None = None
) -> IdentityProvider:
    """Change the provider's sync settings: deletion policy, threshold and window, protected
    adopted users, the full sync schedule and the QPS budget.

    ``data`` holds some or all of ``SETTINGS_FIELDS``; absent ones are kept. The model's
    validators decide what is allowed (a ValidationError names each refused field). The audit
    entry records readable values (“Delete in DingTalk”, “every 6 hours”), not codes.
    ``version``: as in ``provider_update_application``.
    """
    require(actor, roles.MANAGE_PROVIDERS)
    current = _locked(provider, version)
    before = settings_audit(current)
    for name in SETTINGS_FIELDS:
        if name in data:
            setattr(current, name, data[name])
    others = [f.name for f in IdentityProvider._meta.fields if f.name not in SETTINGS_FIELDS]
    current.clean_fields(exclude=others)
    current.save(update_fields=[*SETTINGS_FIELDS, *_bump(current)])
    audit_record(
        actor, "provider.update_settings", current, before=before, after=settings_audit(current)
    )
    provider.refresh_from_db()
    return provider


def settings_audit(provider: IdentityProvider) -> dict[str, Any]:
    """The sync settings as an admin reads them, in the console's language (audit values)."""
    with translation.override(settings.LANGUAGE_CODE):
        return {
            "delete_policy": str(provider.get_delete_policy_display()),
            "deletion_threshold_count": provider.deletion_threshold_count,
            "deletion_threshold_percent": f"{provider.deletion_threshold_percent}%",
            "deletion_window_hours": _hours(provider.deletion_window_hours),
            "protect_adopted": _("on") if provider.protect_adopted else _("off"),
            "full_sync_interval_hours": (
                _("every %(hours)s") % {"hours": _hours(provider.full_sync_interval_hours)}
                if provider.full_sync_interval_hours
                else _("off")
            ),
            "qps": _("%(n)d calls per second") % {"n": provider.qps},
            "config_version": provider.config_version,
        }


def _hours(n: int) -> str:
    return ngettext("%(n)d hour", "%(n)d hours", n) % {"n": n}


# --- step 4: field mapping -------------------------------------------------------------------


def _create_default_mappings(provider: IdentityProvider) -> None:
    """The default rows, their display names in the language of the admin binding the app
    (stored as the admin's own data from then on)."""
    FieldMapping.objects.bulk_create(
        FieldMapping(
            provider=provider,
            target=r.target,
            display_name=_(r.display_name),
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
    actor,
    provider: IdentityProvider,
    rules: Sequence[Rule],
    match_keys: Sequence[str],
    *,
    version: int | None = None,
) -> IdentityProvider:
    """Replace the provider's field mappings and mapping identity (step 4 or Modify).

    The rules are checked by the mapping engine first; every error names its field.
    ``version``: as in ``provider_update_application``; a caller that built ``rules`` from
    the stored ones must pass the version it read them at, or a concurrent change is lost.
    """
    require(actor, roles.MANAGE_PROVIDERS)
    errors = validate_rules(rules)
    if errors:
        raise ValidationError([translated(e.text) for e in errors])
    current = _locked(provider, version)
    before = _mapping_audit(current)
    current.field_mappings.all().delete()
    FieldMapping.objects.bulk_create(_mapping_row(current, i, r) for i, r in enumerate(rules))
    current.match_keys = list(match_keys)
    if current.step == IdentityProvider.Step.MAPPING:
        current.step = IdentityProvider.Step.DONE
    current.save(update_fields=["match_keys", "step", *_bump(current)])
    audit_record(
        actor, "provider.save_mappings", current, before=before, after=_mapping_audit(current)
    )
    provider.refresh_from_db()
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
        "config_version": provider.config_version,
    }


@transaction.atomic
def provider_delete(actor, provider: IdentityProvider) -> None:
    """Delete the provider and the console's links to DingTalk objects; DingTalk is untouched."""
    require(actor, roles.MANAGE_PROVIDERS)
    audit_record(actor, "provider.delete", provider, before=_application_audit(provider, False))
    provider.delete()
