"""The audit log's filters (GET)."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from . import presenters
from .queries import AuditFilters, recorded


class AuditFilterForm(forms.Form):
    """Filters by actor, action and object (its type and id, or part of its name); the
    options are what is on record. An invalid value is ignored."""

    actor = forms.ChoiceField(label=_("Actor"), required=False)
    action = forms.ChoiceField(label=_("Action"), required=False)
    object_type = forms.ChoiceField(label=_("Object type"), required=False)
    object_id = forms.CharField(label=_("Object id"), required=False, max_length=64)
    q = forms.CharField(
        label=_("Object name"),
        required=False,
        max_length=80,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Part of its name when changed")}
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        actions = sorted(
            ((a, presenters.action_label(a)) for a in recorded("action")), key=_by_label
        )
        types = sorted(
            (
                (t, presenters.object_type_label(t))
                for t in {*recorded("object_type"), *presenters.PAGES}
            ),
            key=_by_label,
        )
        self.fields["actor"].choices = [
            ("", _("Anyone")),
            *((a, presenters.actor_label(a)) for a in recorded("actor_name")),
        ]
        self.fields["action"].choices = [("", _("Any action")), *actions]
        self.fields["object_type"].choices = [("", _("Any object type")), *types]

    def filters(self) -> AuditFilters:
        """The filters to apply; a field with an invalid value is left out."""
        self.is_valid()
        return AuditFilters(**{k: v for k, v in self.cleaned_data.items() if v})


def _by_label(choice: tuple[str, str]) -> str:
    return str(choice[1]).lower()
