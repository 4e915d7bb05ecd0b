"""Forms of the directory pages.

They check shapes (required, lengths, JSON) only; the directory's rules live in the models'
validators and run in the services. ``ServiceForm.run`` calls a service and turns its
``ValidationError`` or ``DirectoryError`` into errors shown next to the fields.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from dtconsole.providers.models import IdentityProvider

from . import queries
from .models import Account, Organization
from .services import DirectoryError
from .validators import load_bounded_json

T = TypeVar("T")
PICKER_FIELD_RE = re.compile(r"^[a-z_]{1,40}$")


def model_field(model: type[models.Model], name: str, **kwargs: Any) -> forms.Field:
    """The form field Django derives from a model field (label, help text, max length)."""
    return model._meta.get_field(name).formfield(**kwargs)


def org_choice(**kwargs: Any) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=Organization.objects.only("name", "path"), widget=forms.HiddenInput, **kwargs
    )


@dataclass
class OrgPicker:
    """What the organisation picker template needs: the field, its mode and current choices."""

    field: forms.BoundField
    mode: str  # "radio" (one organisation) or "checkbox" (several)
    selected: list[queries.OrgMatch]
    primary_field: str = ""
    primary_id: int | None = None
    top_level_label: str = ""
    top_level_checked: bool = False


def _ids(value: Any) -> list[int]:
    values = value if isinstance(value, list | tuple) else [value]
    ids = [getattr(v, "pk", v) for v in values if v not in (None, "")]
    return [int(v) for v in ids if str(v).isdigit()]


def picked_orgs(*values: Any) -> list[queries.OrgMatch]:
    """The organisations a picker currently holds (ids or instances), with breadcrumbs."""
    ids = [pk for value in values for pk in _ids(value)]
    found = Organization.objects.only("name", "code", "path").in_bulk(ids) if ids else {}
    return queries.with_ancestors(found[pk] for pk in dict.fromkeys(ids) if pk in found)


class ServiceForm(forms.Form):
    """A form whose data goes to one directory service."""

    def apply_error(self, exc: ValidationError | DirectoryError) -> None:
        """Show a service's refusal on the form: field errors next to their fields."""
        if isinstance(exc, DirectoryError):
            self.add_error(None, str(exc))
            return
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for name, errors in exc.error_dict.items():
            self.add_error(name if name in self.fields else None, errors)

    def run(self, service: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """Call ``service``; on a refusal record it on the form and return None."""
        try:
            return service(*args, **kwargs)
        except (ValidationError, DirectoryError) as exc:
            self.apply_error(exc)
            return None


# --- organisations ---------------------------------------------------------------------------


class OrganizationForm(ServiceForm):
    name = model_field(Organization, "name")
    code = model_field(Organization, "code")
    order = model_field(Organization, "order")


class OrganizationCreateForm(OrganizationForm):
    parent = org_choice(required=False, label=_("Parent organisation"))

    @property
    def parent_picker(self) -> OrgPicker:
        selected = picked_orgs(self["parent"].value())
        return OrgPicker(
            self["parent"],
            "radio",
            selected,
            top_level_label=str(_("Top level (no parent)")),
            top_level_checked=not selected,
        )


class OrganizationMoveForm(ServiceForm):
    parent = org_choice(required=False, label=_("New parent"))

    def clean(self) -> dict[str, Any]:
        if self.is_bound and "parent" not in self.data:
            raise ValidationError(
                _("Choose the new parent, or make it a top-level organisation."), code="required"
            )
        return super().clean()

    @property
    def parent_picker(self) -> OrgPicker:
        value = self["parent"].value() if "parent" in self.data else None
        return OrgPicker(
            self["parent"],
            "radio",
            picked_orgs(value),
            top_level_label=str(_("Make it a top-level organisation")),
            top_level_checked=self.data.get("parent") == "",
        )


# --- accounts --------------------------------------------------------------------------------


class AccountForm(ServiceForm):
    """Every attribute of an account; the username is read-only once the account exists."""

    username = model_field(Account, "username")
    display_name = model_field(Account, "display_name")
    mobile = model_field(Account, "mobile")
    email = model_field(Account, "email")
    job_number = model_field(Account, "job_number")
    title = model_field(Account, "title")
    work_place = model_field(Account, "work_place")
    hired_date = model_field(Account, "hired_date", widget=forms.DateInput(attrs={"type": "date"}))
    status = model_field(Account, "status")
    extra = forms.CharField(
        label=_("Extra attributes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=_(
            'A JSON object that field mappings can read, for example {"cost_center": "A12"}.'
        ),
    )

    def __init__(self, *args: Any, account: Account | None = None, **kwargs: Any) -> None:
        if account is not None:
            kwargs.setdefault("initial", {}).update(
                {name: getattr(account, name) for name in self.base_fields}
            )
        super().__init__(*args, **kwargs)
        if account is not None:
            self.fields["username"].disabled = True
            self.fields["username"].help_text = _("A username never changes once created.")
        if not self.is_bound:
            self.initial["extra"] = _json_text(self.initial.get("extra"))

    def clean_extra(self) -> dict[str, Any]:
        return parse_json_object(self.cleaned_data["extra"])

    def account_fields(self) -> dict[str, Any]:
        """The cleaned values the account services take (the username only when editable)."""
        names = [n for n in AccountForm.base_fields if not self.fields[n].disabled]
        return {name: self.cleaned_data[name] for name in names}


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2) if value else ""


def parse_json_object(text: str) -> dict[str, Any]:
    """Parse the extra-attributes text: empty means {}, anything else must be a JSON object."""
    if not text.strip():
        return {}
    try:
        value = load_bounded_json(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            _("This is not valid JSON (line %(line)d, column %(col)d: %(msg)s)."),
            code="invalid_json",
            params={"line": exc.lineno, "col": exc.colno, "msg": exc.msg},
        ) from exc
    if not isinstance(value, dict):
        raise ValidationError(
            _('Enter a JSON object in braces, for example {"cost_center": "A12"}.'),
            code="not_an_object",
        )
    return value


class AccountCreateForm(AccountForm):
    organizations = forms.ModelMultipleChoiceField(
        queryset=Organization.objects.only("name", "path"),
        required=False,
        widget=forms.MultipleHiddenInput,
        label=_("Organisations"),
    )
    primary = org_choice(required=False, label=_("Primary organisation"))

    @property
    def org_picker(self) -> OrgPicker:
        primary = _ids(self["primary"].value())
        return OrgPicker(
            self["organizations"],
            "checkbox",
            picked_orgs(self["organizations"].value(), primary),
            primary_field="primary",
            primary_id=primary[0] if primary else None,
        )

    def create_kwargs(self) -> dict[str, Any]:
        return {
            **self.account_fields(),
            "organizations": list(self.cleaned_data["organizations"]),
            "primary": self.cleaned_data["primary"],
        }


class MembershipAddForm(ServiceForm):
    organization = org_choice(label=_("Organisation"))
    primary = forms.BooleanField(label=_("Make it the primary organisation"), required=False)
    order = forms.IntegerField(label=_("Order in organisation"), initial=0, required=False)

    def clean_order(self) -> int:
        return self.cleaned_data["order"] or 0

    @property
    def org_picker(self) -> OrgPicker:
        return OrgPicker(self["organization"], "radio", picked_orgs(self["organization"].value()))


class AccountFilterForm(forms.Form):
    """Search and filters of the account list (GET)."""

    q = forms.CharField(label=_("Search"), required=False)
    org = forms.ModelChoiceField(
        queryset=Organization.objects.only("name", "path"),
        required=False,
        label=_("Organisation"),
        widget=forms.HiddenInput,
    )
    include_sub = forms.BooleanField(label=_("Include sub-organisations"), required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *Account.Status.choices],
    )
    conflict = forms.ModelChoiceField(
        queryset=IdentityProvider.objects.only("name").order_by("name"),
        required=False,
        label=_("In conflict with DingTalk"),
        empty_label=_("Any account"),
        help_text=_("Accounts another DingTalk user's mobile, email or userid blocks."),
    )

    @property
    def org_picker(self) -> OrgPicker:
        selected = picked_orgs(self["org"].value())
        return OrgPicker(
            self["org"],
            "radio",
            selected,
            top_level_label=str(_("Any organisation")),
            top_level_checked=not selected,
        )

    def filters(self) -> dict[str, Any]:
        """Keyword arguments of ``queries.account_list``; an invalid filter is ignored."""
        self.is_valid()
        data = self.cleaned_data
        return {
            "query": data.get("q", ""),
            "org": data.get("org"),
            "include_sub": data.get("include_sub", False),
            "status": data.get("status", ""),
            "conflict": data.get("conflict"),
        }
