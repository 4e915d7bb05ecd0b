"""The audit log as a person reads it: actions as sentences, field names, readable values,
and the object's name linked to its page while it still exists."""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from dtconsole.access import roles
from dtconsole.access.services import SYSTEM
from dtconsole.readable import readable
from dtconsole.sync.models import SyncJob

from .models import AuditEntry

ACTIONS = {
    "organization.create": _("Created an organisation"),
    "organization.update": _("Changed an organisation"),
    "organization.move": _("Moved an organisation"),
    "organization.delete": _("Deleted an organisation"),
    "organization.bulk_upsert": _("Wrote organisations through the API"),
    "account.create": _("Created an account"),
    "account.update": _("Changed an account"),
    "account.set_status": _("Enabled or disabled an account"),
    "account.delete": _("Deleted an account"),
    "account.bulk_upsert": _("Wrote accounts through the API"),
    "membership.add": _("Added an account to an organisation"),
    "membership.remove": _("Removed an account from an organisation"),
    "membership.set_primary": _("Changed an account's primary organisation"),
    "directory.import": _("Imported a CSV file"),
    "directory.import_upload": _("Uploaded a CSV file to import"),
    "directory.import_start": _("Started importing a CSV file"),
    "directory.import_undo": _("Undid a failed CSV import"),
    "provider.create": _("Created a provider"),
    "provider.update_application": _("Changed a provider's application"),
    "provider.verify": _("Verified a provider with DingTalk"),
    "provider.set_scenario": _("Changed a provider's scenario"),
    "provider.update_settings": _("Changed a provider's sync settings"),
    "provider.save_mappings": _("Changed a provider's field mapping"),
    "provider.delete": _("Deleted a provider"),
    "sync.enqueue": _("Started a sync job"),
    "sync.approve": _("Approved the deletions of a sync job"),
    "sync.reject": _("Rejected the deletions of a sync job"),
    "sync.cancel": _("Cancelled a sync job"),
    "sync.link_user": _("Linked an account to a DingTalk user"),
    "user.create": _("Created a console user"),
    "user.set_role": _("Changed a console user's role"),
    "user.set_active": _("Activated or deactivated a console user"),
    "accounts.dingtalk_login": _("Logged in with DingTalk"),
}

# Keys the services record that are not fields of the object's model.
FIELDS = {
    "app_secret": _("AppSecret"),
    "scopes": _("Scopes"),
    "mappings": _("Field mappings"),
    "organizations": _("Organisations"),
    "organization": _("Organisation"),
    "parent": _("Parent organisation"),
    "primary": _("Primary organisation"),
    "members": _("Members"),
    "counts": _("Changes"),
    "rows": _("Rows"),
    "job": _("Job"),
    "kind": _("Kind"),
    "dry_run": _("Dry run"),
    "deletions": _("Deletions"),
    "provider": _("Provider"),
    "provider_id": _("Provider"),
    "userid": _("DingTalk userid"),
    "dingtalk_userid": _("DingTalk userid"),
    "name": _("Name"),
    "role": _("Role"),
    "active": _("Active"),
    "ok": _("Passed"),
    "findings": _("Findings"),
}
HIDDEN = {"config_version"}  # bookkeeping of optimistic concurrency, not a change a person made

# Object types whose page exists: (URL name, model) — the object is linked while it exists.
PAGES = {
    "directory.account": "directory:account_detail",
    "directory.organization": "directory:org_detail",
    "directory.importbatch": "directory:import_preview",
    "providers.identityprovider": "providers:detail",
}


def action_label(action: str) -> str:
    """The action as a sentence in the reader's language (the code when it is new)."""
    return str(ACTIONS.get(action, action))


def actor_label(actor_name: str) -> str:
    """Who acted, as the log names them: the system actor (management commands, the
    scheduler and the sync engine) in the reader's language, a console user by username."""
    if actor_name == SYSTEM.username:
        return str(_("System (commands and background jobs)"))
    return actor_name


def object_type_label(object_type: str) -> str:
    """ "directory.account" as "Account"; the code itself for a model that is gone."""
    model = _model(object_type)
    return capfirst(str(model._meta.verbose_name)) if model else object_type


@dataclass(frozen=True)
class FieldChange:
    """One changed value: before → after, or for two lists the items removed and added."""

    label: str
    before: str = ""
    after: str = ""
    removed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()

    @property
    def is_list(self) -> bool:
        return bool(self.removed or self.added)


@dataclass
class AuditRow:
    """An entry as the log shows it."""

    entry: AuditEntry
    actor: str
    action: str
    object_type: str
    url: str  # the object's page, "" when it has none or no longer exists
    changes: list[FieldChange]


def audit_rows(entries: Iterable[AuditEntry]) -> list[AuditRow]:
    """The rows of a page of entries; one query per object type to learn what still exists."""
    entries = list(entries)
    alive = _existing(entries)
    return [
        AuditRow(
            entry,
            actor_label(entry.actor_name),
            action_label(entry.action),
            object_type_label(entry.object_type),
            _url(entry, alive),
            field_changes(entry),
        )
        for entry in entries
    ]


def field_changes(entry: AuditEntry) -> list[FieldChange]:
    """The entry's changed fields with their names and readable values."""
    model = _model(entry.object_type)
    changes = []
    for key, before, after in entry.changes():
        if key in HIDDEN:
            continue
        label = field_label(model, key)
        if isinstance(before or [], list) and isinstance(after or [], list):
            before, after = before or [], after or []
            removed = tuple(readable_item(key, v) for v in before if v not in after)
            added = tuple(readable_item(key, v) for v in after if v not in before)
            if removed or added:
                changes.append(FieldChange(label, removed=removed, added=added))
            continue
        old, new = _value(model, key, before), _value(model, key, after)
        if old != new:  # None → "" is no change a person sees
            changes.append(FieldChange(label, old, new))
    return changes


def field_label(model: type[models.Model] | None, key: str) -> str:
    """A recorded key's name: the model field's verbose name, a known key's, or the key."""
    field = _field(model, key)
    if field is not None and key not in FIELDS:
        return capfirst(str(field.verbose_name))
    return str(FIELDS.get(key, key.replace("_", " ").capitalize()))


# Short names of a scope's placement, for the "Finance [fin] → 1 全公司 (under)" the provider
# services record (the code is stored; the reader's language is applied here).
PLACEMENTS = {"under": _("under the target"), "merge": _("merged into the target")}
_PLACEMENT_CODE = re.compile(r" \((under|merge)\)$")


def readable_item(key: str, value: Any) -> str:
    """One item of a recorded list, readable: a scope's placement in the reader's language."""
    text = readable(value)
    if key == "scopes":
        text = _PLACEMENT_CODE.sub(lambda m: f" ({PLACEMENTS[m.group(1)]})", text)
    return text


def _value(model: type[models.Model] | None, key: str, value: Any) -> str:
    if key == "kind" and _field(model, key) is None and value in SyncJob.Kind.values:
        return str(SyncJob.Kind(value).label)  # the kind of a sync job a provider entry names
    if key == "counts" and isinstance(value, Mapping):
        return "; ".join(f"{action_label(str(k))}: {readable(n)}" for k, n in value.items())
    if key == "role" and value in roles.BY_KEY:
        return str(roles.BY_KEY[value].label)
    field = _field(model, key)
    if field is not None and field.choices and isinstance(value, str):
        return str(dict(field.flatchoices).get(value, value))
    return readable(value)


def _model(object_type: str) -> type[models.Model] | None:
    try:
        return apps.get_model(object_type) if "." in object_type else None
    except LookupError:
        return None


def _field(model: type[models.Model] | None, key: str) -> models.Field | None:
    if model is None:
        return None
    try:
        field = model._meta.get_field(key)
    except FieldDoesNotExist:
        return None
    return field if isinstance(field, models.Field) else None


def _existing(entries: list[AuditEntry]) -> set[tuple[str, str]]:
    """(object type, id) of the entries' objects that still exist and have a page."""
    wanted: dict[str, set[str]] = {}
    for entry in entries:
        if entry.object_type in PAGES and entry.object_id.isdigit():
            wanted.setdefault(entry.object_type, set()).add(entry.object_id)
    alive = set()
    for object_type, ids in wanted.items():
        model = _model(object_type)
        found = model.objects.filter(pk__in=[int(i) for i in ids]).values_list("pk", flat=True)
        alive |= {(object_type, str(pk)) for pk in found}
    return alive


def _url(entry: AuditEntry, alive: set[tuple[str, str]]) -> str:
    if (entry.object_type, entry.object_id) not in alive:
        return ""
    return reverse(PAGES[entry.object_type], args=[int(entry.object_id)])
