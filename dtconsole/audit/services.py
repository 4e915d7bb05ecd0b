"""Writing audit entries. Every configuration service calls ``audit_record``."""

from typing import Any

from django.db import models

from .models import AuditEntry

MASK = "••••••"
CHANGED_MASK = "•••••• (changed)"
# Any key containing one of these words is masked, whatever object it comes from.
SECRET_WORDS = ("secret", "token", "password", "credential", "key_encrypted")


def is_secret_key(key: str) -> bool:
    return any(word in key.lower() for word in SECRET_WORDS)


def mask_secrets(values: dict[str, Any], compare: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy of ``values`` with every secret-looking key replaced by a mask (nested too).

    With ``compare`` (the other side of a change), a secret that differs from it is shown as
    changed, so the audit says "AppSecret changed" without holding either value.
    """
    compare = compare or {}
    masked: dict[str, Any] = {}
    for key, value in values.items():
        if is_secret_key(key):
            changed = key in compare and compare[key] != value
            masked[key] = (CHANGED_MASK if changed else MASK) if value else ""
        elif isinstance(value, dict):
            other = compare.get(key)
            masked[key] = mask_secrets(value, other if isinstance(other, dict) else None)
        else:
            masked[key] = value
    return masked


def audit_record(
    actor,
    action: str,
    obj: models.Model,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record that ``actor`` did ``action`` on ``obj``; secrets in before/after are masked."""
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_name=getattr(actor, "username", "") or "system",
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk or ""),
        object_repr=str(obj)[:200],
        before=mask_secrets(before or {}),
        after=mask_secrets(after or {}, compare=before),
    )
