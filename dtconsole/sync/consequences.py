"""What a directory change will do in DingTalk, said before it is made.

``preview(change)`` makes the change for real inside a transaction, asks the planner what each
bound provider would then remove from DingTalk (and whether that would stop for approval),
and rolls everything back: the change, its audit entry and its pending changes. The same
planner as the sync decides, so the preview says what the sync will do.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import translation

from dtconsole.providers.models import IdentityProvider

from . import deletions
from .changes import ACCOUNT
from .plan import Op
from .texts import N_, Text, stored

_collector: ContextVar[dict[str, set[int]] | None] = ContextVar("changes", default=None)
SHOWN = 10  # names listed per kind of object


def collect(object_type: str, ids: set[int]) -> None:
    """Called by ``record_changes``: note what changed while a preview is being made."""
    changed = _collector.get()
    if changed is not None:
        changed.setdefault(object_type, set()).update(ids)


@dataclass
class Consequence:
    """What one provider's sync would do about the change."""

    provider: IdentityProvider
    removed_users: list[str] = field(default_factory=list)
    removed_depts: list[str] = field(default_factory=list)
    unlinked: int = 0  # kept in DingTalk, no longer managed (keep policy, protected adoption)
    stops: deletions.Threshold | None = None  # the run would wait for approval
    incremental: bool = False

    @property
    def removes(self) -> bool:
        return bool(self.removed_users or self.removed_depts)

    def sentence(self) -> Text:
        """One line an admin reads on a confirmation page or in the API's answer."""
        if not self.removes and not self.unlinked:
            return Text(N_("%(provider)s: nothing is removed from DingTalk."), self._args())
        text = N_(
            "%(provider)s: removes %(users)d users and %(depts)d departments from DingTalk "
            "%(when)s (deletion policy: %(policy)s)."
        )
        if not self.removes:
            text = N_(
                "%(provider)s: %(unlinked)d users stay in DingTalk and are no longer managed "
                "(deletion policy: %(policy)s)."
            )
        return Text(text, self._args())

    def approval(self) -> Text | None:
        if self.stops is None:
            return None
        return Text(
            N_(
                "This will stop for approval: more than %(count)d deletions or %(percent)d%% "
                "within %(hours)d hours (%(already)d already made)."
            ),
            {
                "count": self.stops.count_limit,
                "percent": self.stops.percent_limit,
                "hours": self.stops.window_hours,
                "already": self.stops.recent,
            },
        )

    def _args(self) -> dict[str, Any]:
        # The policy's name as a text of its own (its msgid), so that a stored sentence reads
        # it in each reader's language, not in the language it was stored in.
        with translation.override(None):
            policy = str(self.provider.get_delete_policy_display())
        when = N_("within seconds") if self.incremental else N_("at its next full sync")
        return {
            "provider": self.provider.name,
            "users": len(self.removed_users),
            "depts": len(self.removed_depts),
            "unlinked": self.unlinked,
            "policy": {"msgid": policy, "args": {}},
            "when": {"msgid": when, "args": {}},
        }

    def as_dict(self, *, stored_texts: bool = False) -> dict[str, Any]:
        """The API's shape, texts in the reader's language; ``stored_texts``: the texts as
        [msgid, args], to keep and render later in each reader's (``from_stored``)."""
        approval = self.approval()
        if stored_texts:
            return {
                **self.as_dict(),
                "summary": list(stored(self.sentence())),
                "approval": list(stored(approval)) if approval else None,
            }
        return {
            "provider": self.provider.pk,
            "provider_name": self.provider.name,
            "removed_users": self.removed_users,
            "removed_departments": self.removed_depts,
            "unlinked_users": self.unlinked,
            "stops_for_approval": self.stops is not None,
            "summary": str(self.sentence()),
            "approval": str(approval) if approval else "",
        }


@dataclass
class StoredConsequence:
    """A consequence kept as ``as_dict(stored_texts=True)``, read back for a page or the API."""

    data: dict[str, Any]

    @property
    def removed_users(self) -> list[str]:
        return self.data["removed_users"]

    @property
    def removed_depts(self) -> list[str]:
        return self.data["removed_departments"]

    @property
    def removes(self) -> bool:
        return bool(self.removed_users or self.removed_depts or self.data["unlinked_users"])

    def sentence(self) -> Text:
        return Text(*self.data["summary"])

    def approval(self) -> Text | None:
        return Text(*self.data["approval"]) if self.data["approval"] else None

    def as_dict(self) -> dict[str, Any]:
        approval = self.approval()
        return {**self.data, "summary": str(self.sentence()), "approval": str(approval or "")}


class _Undo(Exception):
    """Raised to roll the previewed change back."""


def preview(change: Callable[[], Any]) -> list[Consequence]:
    """What ``change`` would remove from DingTalk, per bound provider; nothing is kept.

    ``change`` is a directory service call (with its actor: a refusal propagates, so only
    those who may make a change may preview it).
    """
    result: list[Consequence] = []
    try:
        with transaction.atomic(), _collecting() as changed:
            change()
            result = _consequences(changed)
            raise _Undo
    except _Undo:
        pass
    return result


@contextmanager
def _collecting() -> Iterator[dict[str, set[int]]]:
    changed: dict[str, set[int]] = {}
    token = _collector.set(changed)
    try:
        yield changed
    finally:
        _collector.reset(token)


def _consequences(changed: dict[str, set[int]]) -> list[Consequence]:
    from .engine import plan_partial

    accounts = changed.get(ACCOUNT, set())
    bound = IdentityProvider.objects.filter(step=IdentityProvider.Step.DONE).order_by("name")
    result = []
    for provider in bound:
        plan, _options = plan_partial(provider, accounts)
        result.append(_consequence(provider, plan.user_deletions + plan.dept_deletions))
    return result


def _consequence(provider: IdentityProvider, ops: list[Op]) -> Consequence:
    removing = [op for op in ops if not op.unlink_only]
    users = [_label(op) for op in removing if op.object_type == "user"]
    depts = [_label(op) for op in removing if op.object_type != "user"]
    over = deletions.threshold(provider, len(removing)) if removing else None
    return Consequence(
        provider=provider,
        removed_users=users,
        removed_depts=depts,
        unlinked=len(ops) - len(removing),
        stops=over if over is not None and over.exceeded else None,
        incremental=provider.incremental_enabled,
    )


def _label(op: Op) -> str:
    if op.source_key and op.source_key != op.source_name:
        return f"{op.source_name} ({op.source_key})"
    return op.source_name or op.source_key or str(op.dingtalk_id)


def removes_anything(consequences: list[Consequence]) -> bool:
    return any(c.removes or c.unlinked for c in consequences)
