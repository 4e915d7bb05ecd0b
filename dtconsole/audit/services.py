"""Writing audit entries. Every service that changes state calls ``audit_record``.

Inside ``audit_batch`` (a CSV import, an API bulk call) the per-object entries are counted
instead of written, and the batch writes one entry with the counts when it ends without error.
"""

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import models

from .models import AuditEntry

_batch: ContextVar[Counter | None] = ContextVar("audit_batch", default=None)

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
    obj: models.Model | None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    object_type: str = "",
    object_repr: str = "",
) -> AuditEntry | None:
    """Record that ``actor`` did ``action`` on ``obj``; secrets in before/after are masked.

    ``obj`` may be None for a change that has no single object (then give ``object_type``
    and ``object_repr``). Inside ``audit_batch`` the action is only counted.
    """
    counts = _batch.get()
    if counts is not None:
        counts[action] += 1
        return None
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_name=getattr(actor, "username", "") or "system",
        action=action,
        object_type=obj._meta.label_lower if obj is not None else object_type,
        object_id=str(obj.pk or "") if obj is not None else "",
        object_repr=(object_repr or str(obj))[:200],
        before=mask_secrets(before or {}),
        after=mask_secrets(after or {}, compare=before),
    )


@contextmanager
def audit_batch(
    actor, action: str, obj: models.Model | None = None, **details: Any
) -> Iterator[Counter]:
    """One audit entry for many changes: per-object entries inside are counted, and on a
    clean exit one ``action`` entry records ``details`` and the counts per action."""
    if _batch.get() is not None:  # nested: the outer batch counts everything
        yield _batch.get()
        return
    counts: Counter = Counter()
    token = _batch.set(counts)
    try:
        yield counts
    finally:
        _batch.reset(token)
    label, object_type = details.pop("label", ""), details.pop("object_type", "")
    after = {**details, "counts": dict(sorted(counts.items()))}
    audit_record(actor, action, obj, after=after, object_type=object_type, object_repr=label)
