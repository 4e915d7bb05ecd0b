"""Read-side helpers of the audit log: the entries matching its filters, newest first."""

from dataclasses import dataclass

from django.db.models import QuerySet

from .models import AuditEntry


@dataclass
class AuditFilters:
    """What the log is narrowed to; every field is optional."""

    actor: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    q: str = ""  # part of the object's name as recorded


def audit_entries(filters: AuditFilters) -> QuerySet[AuditEntry]:
    """Entries matching ``filters``, newest first (the created_at index orders them; the actor,
    action and object filters each have an index)."""
    exact = {
        "actor_name": filters.actor,
        "action": filters.action,
        "object_type": filters.object_type,
        "object_id": filters.object_id,
    }
    entries = AuditEntry.objects.filter(**{k: v for k, v in exact.items() if v})
    if query := filters.q.strip():
        entries = entries.filter(object_repr__icontains=query)
    return entries.order_by("-created_at", "-id")


def recorded(column: str) -> list[str]:
    """The distinct values recorded in ``column`` (actions, object types, actors)."""
    values = AuditEntry.objects.order_by(column).values_list(column, flat=True).distinct()
    return [v for v in values if v]
