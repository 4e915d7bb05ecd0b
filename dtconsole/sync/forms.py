"""Forms of the sync pages: list filters (GET) and the "Start full sync" form (POST)."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from dtconsole.providers.models import IdentityProvider

from .models import SyncEvent, SyncJob
from .queries import EventFilters


def provider_field(**kwargs: Any) -> forms.ModelChoiceField:
    kwargs.setdefault("required", False)
    kwargs.setdefault("empty_label", _("Any provider"))
    return forms.ModelChoiceField(
        queryset=IdentityProvider.objects.only("name").order_by("name"),
        label=_("Provider"),
        **kwargs,
    )


def any_of(label: Any, choices: list[tuple[str, Any]], empty: Any) -> forms.ChoiceField:
    return forms.ChoiceField(label=label, required=False, choices=[("", empty), *choices])


class DateTimeInput(forms.DateTimeInput):
    """The browser's date-time picker (``2025-01-31T09:30``)."""

    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M")


class JobFilterForm(forms.Form):
    """Filters of the job list; an invalid value is ignored."""

    provider = provider_field()
    status = any_of(_("Status"), SyncJob.Status.choices, _("Any status"))
    kind = any_of(_("Kind"), SyncJob.Kind.choices, _("Any kind"))

    def filters(self) -> dict[str, Any]:
        self.is_valid()
        return {
            "provider": self.cleaned_data.get("provider"),
            "status": self.cleaned_data.get("status", ""),
            "kind": self.cleaned_data.get("kind", ""),
        }


class StartSyncForm(forms.Form):
    """Start a full synchronisation of one provider, possibly as a dry run."""

    provider = provider_field(required=True, empty_label=None)
    dry_run = forms.BooleanField(
        label=_("Dry run"),
        required=False,
        help_text=_("Only plan: record what would change, change nothing in DingTalk."),
    )


class JobEventFilterForm(forms.Form):
    """The status filter of one job's events."""

    status = any_of(_("Status"), SyncEvent.Status.choices, _("Any status"))

    def status_filter(self) -> str:
        self.is_valid()
        return self.cleaned_data.get("status", "")


class EventFilterForm(forms.Form):
    """Search and filters of the event list (GET)."""

    q = forms.CharField(
        label=_("Person or organisation"),
        required=False,
        max_length=80,
        help_text=_("Start of a name, username, organisation code, DingTalk userid or mobile."),
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    provider = provider_field()
    job = forms.IntegerField(label=_("Job #"), required=False, min_value=1)
    object_type = any_of(_("Object type"), SyncEvent.ObjectType.choices, _("Any type"))
    action = any_of(_("Action"), SyncEvent.Action.choices, _("Any action"))
    status = any_of(_("Status"), SyncEvent.Status.choices, _("Any status"))
    since = forms.DateTimeField(label=_("From"), required=False, widget=DateTimeInput())
    until = forms.DateTimeField(label=_("To"), required=False, widget=DateTimeInput())
    failing = forms.BooleanField(
        label=_("Only objects failing now"),
        required=False,
        help_text=_("The latest attempt at each account or organisation, when it failed."),
    )

    def filters(self) -> EventFilters:
        """The filters to apply; a field with an invalid value is left out (and shown)."""
        self.is_valid()
        data = {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
        return EventFilters(**data)


class RepushForm(forms.Form):
    """Which provider to push one object to again."""

    provider = provider_field(required=True, empty_label=None)


class LinkUserForm(forms.Form):
    """Which DingTalk user of which provider an account is to be linked to."""

    provider = provider_field(required=True, empty_label=None)
    userid = forms.CharField(label=_("DingTalk userid"), max_length=64)
    next = forms.CharField(required=False, widget=forms.HiddenInput)
