"""Forms of the Bind DingTalk wizard and the provider pages."""

import re
from collections.abc import Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from dtconsole.directory.models import Organization
from dtconsole.sync.texts import translated
from mappings.defaults import DEFAULT_MATCH_KEYS
from mappings.engine import ATTRIBUTES, Rule, validate_rules
from mappings.models import FieldMapping

from .models import DINGTALK_CN, IdentityProvider, NodeScope
from .services import APPLICATION_FIELDS, SETTINGS_FIELDS

# Formats as DingTalk issues them: CorpIds are "ding" followed by letters and digits; AppKeys
# (Client IDs) are letters and digits; AgentIds are numbers.
CORP_ID_RE = re.compile(r"^ding[0-9A-Za-z]{4,60}$")
APP_KEY_RE = re.compile(r"^[0-9A-Za-z]{6,64}$")
AGENT_ID_RE = re.compile(r"^\d{1,20}$")


def default_bases() -> dict[str, str]:
    """Base URLs for a new provider: the configured sandbox, else DingTalk's own hosts."""
    base = settings.DINGTALK_BASE_URL.rstrip("/")
    return {k: base for k in DINGTALK_CN} if base else dict(DINGTALK_CN)


class ApplicationForm(forms.ModelForm):
    """Step 1: the DingTalk app's identity and credentials."""

    oapi_base = forms.URLField(label=_("Old-style API base URL"), assume_scheme="https")
    api_base = forms.URLField(label=_("New-style API base URL"), assume_scheme="https")
    login_base = forms.URLField(label=_("Login base URL"), assume_scheme="https")

    app_secret = forms.CharField(
        label=_("AppSecret"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Client Secret, from Credentials and basic information. Stored encrypted."),
        error_messages={"required": _("Enter the AppSecret shown in DingTalk.")},
    )

    class Meta:
        model = IdentityProvider
        fields = list(APPLICATION_FIELDS)
        help_texts = {
            "name": _("Shown to admins and, with QR code logon, to people logging in."),
            "corp_id": _("From the DingTalk Open Platform home page, e.g. ding1a2b3c4d5e6f."),
            "app_key": _("Client ID, from your app's Credentials and basic information."),
            "agent_id": _("From your app's basic information, digits only."),
        }

    def __init__(self, *args, creating: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.creating = creating
        if creating:
            self.fields["app_secret"].required = True
            for name, value in default_bases().items():
                self.fields[name].initial = value
        else:
            self.fields["app_secret"].help_text = _(
                "A secret is stored. Leave empty to keep it; type a new one to replace it. "
                "Changing an API endpoint needs the AppSecret again."
            )

    def clean_corp_id(self) -> str:
        return _match(self.cleaned_data["corp_id"], CORP_ID_RE, _("A CorpId starts with “ding”."))

    def clean_app_key(self) -> str:
        return _match(
            self.cleaned_data["app_key"], APP_KEY_RE, _("Use 6 to 64 letters and digits.")
        )

    def clean_agent_id(self) -> str:
        return _match(self.cleaned_data["agent_id"], AGENT_ID_RE, _("An AgentId is a number."))

    def clean_app_secret(self) -> str:
        secret = self.cleaned_data["app_secret"]
        if secret and (len(secret) < 16 or len(secret) > 128 or re.search(r"\s", secret)):
            raise ValidationError(_("An AppSecret is 16 to 128 characters without spaces."))
        return secret


def _match(value: str, pattern: re.Pattern, message: str) -> str:
    value = value.strip()
    if not pattern.match(value):
        raise ValidationError(message)
    return value


class OrganizationRefField(forms.CharField):
    """An organisation typed as its code, its exact name, or “#id” (suggestions come from
    the directory lookup); resolves to the Organization."""

    def to_python(self, value):
        text = (super().to_python(value) or "").strip()
        if not text:
            return None
        if text.startswith("#") and text[1:].isdigit():
            org = Organization.objects.filter(pk=int(text[1:])).first()
        else:
            org = Organization.objects.filter(code=text).first()
            if org is None:
                named = list(Organization.objects.filter(name=text)[:2])
                if len(named) > 1:
                    raise ValidationError(
                        _("Several organisations are named “%(n)s”: type its code.") % {"n": text}
                    )
                org = named[0] if named else None
        if org is None:
            raise ValidationError(_("No organisation has the code or name “%(t)s”.") % {"t": text})
        return org

    def prepare_value(self, value):
        if isinstance(value, Organization):
            return value.code or f"#{value.pk}"
        return value


class ScopeForm(forms.Form):
    """One row of step 3: a directory subtree, the DingTalk department it goes to, and how
    (its own department under the target, or merged into the target)."""

    organization = OrganizationRefField(
        label=_("Source organisation"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "data-org-field": ""}),
    )
    target_dept_id = forms.IntegerField(
        label=_("Target DingTalk department id"),
        min_value=1,
        initial=1,
        required=False,
    )
    placement = forms.ChoiceField(
        label=_("Placement"),
        choices=NodeScope.Placement.choices,
        initial=NodeScope.Placement.UNDER,
        required=False,
        widget=forms.RadioSelect,
    )

    def clean(self):
        data = super().clean()
        if data.get("organization") and not data.get("target_dept_id"):
            data["target_dept_id"] = 1
        if not data.get("placement"):
            data["placement"] = NodeScope.Placement.UNDER
        return data


ScopeFormSet = forms.formset_factory(ScopeForm, extra=1, max_num=50, can_delete=True)


class ScenarioForm(forms.ModelForm):
    """Step 3 switches."""

    class Meta:
        model = IdentityProvider
        fields = ["incremental_enabled", "qr_logon_enabled", "multi_org_enabled"]
        help_texts = {
            "incremental_enabled": _(
                "Push every directory change to DingTalk within seconds. Needs one successful "
                "full synchronisation first."
            ),
            "qr_logon_enabled": _("Offer “Log in with DingTalk” on the console's login page."),
            "multi_org_enabled": _(
                "Put a person in every in-scope organisation they belong to; otherwise only in "
                "their primary one."
            ),
        }


SETTINGS_HELP = {
    "delete_policy": _(
        "What the console does in DingTalk with a user or department that left the scope "
        "(a leaver, a disabled account, a deleted organisation)."
    ),
    "deletion_threshold_count": _(
        "A run that would delete more than this many DingTalk users and departments stops and "
        "waits for an operator's approval. Default 50."
    ),
    "deletion_threshold_percent": _(
        "A run also stops when its deletions pass this share of everything the provider "
        "manages. Default 10."
    ),
    "deletion_window_hours": _(
        "Deletions are counted over this rolling window across every job of the provider, so "
        "many small runs cannot pass the threshold one by one. Default 24."
    ),
    "protect_adopted": _(
        "Off by default. When on, a DingTalk user the console matched rather than created is "
        "unlinked instead of deleted, and leavers among them then stay in DingTalk. "
        "Offboarding normally must remove leavers whoever created them: turn this on only if "
        "people who were in DingTalk before the console must never be removed by it."
    ),
    "full_sync_interval_hours": _(
        "0: off. Otherwise a full synchronisation starts every this many hours. A worker "
        "(manage.py qcluster) must be running for the schedule to run."
    ),
    "qps": _(
        "Calls per second per DingTalk API: 20 on DingTalk's standard edition, 60 with the "
        "paid add-on pack. Above what your edition allows, DingTalk throttles the sync."
    ),
}


class SyncSettingsForm(forms.ModelForm):
    """The provider's sync settings (Modify > Sync settings)."""

    class Meta:
        model = IdentityProvider
        fields = list(SETTINGS_FIELDS)
        help_texts = SETTINGS_HELP
        widgets = {"delete_policy": forms.RadioSelect}


MATCH_KEY_CHOICES = [(k, k) for k in DEFAULT_MATCH_KEYS]


class MatchKeysField(forms.CharField):
    """The mapping identity: matching keys in precedence order, e.g. “userid, mobile”."""

    def to_python(self, value):
        keys = [k.strip() for k in (super().to_python(value) or "").split(",") if k.strip()]
        unknown = [k for k in keys if k not in DEFAULT_MATCH_KEYS]
        if unknown:
            raise ValidationError(
                _("Unknown matching key(s): %(bad)s. Use %(ok)s.")
                % {"bad": ", ".join(unknown), "ok": ", ".join(DEFAULT_MATCH_KEYS)}
            )
        if len(set(keys)) != len(keys):
            raise ValidationError(_("Each matching key may appear once."))
        return keys

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list | tuple) else value


class MatchKeysForm(forms.Form):
    match_keys = MatchKeysField(
        label=_("Mapping identity (matching keys, in order)"),
        required=False,
        help_text=_(
            "An account not yet linked is matched to an existing DingTalk user by these keys, "
            "first to last (for example “userid, mobile, email”). Empty: never match, always "
            "create."
        ),
    )


def attribute_choices(extra_keys: Sequence[str]) -> list[tuple[str, Any]]:
    """The attribute picker's options: the account's attributes, then the extra attributes
    seen in the directory (``extra.<key>``)."""
    groups: list[tuple[str, Any]] = [
        ("", "—"),
        (_("Account attributes"), [(a, a) for a in ATTRIBUTES]),
    ]
    if extra_keys:
        extras = [(f"extra.{key}", f"extra.{key}") for key in extra_keys]
        groups.append((_("Extra attributes seen in the directory"), extras))
    return groups


class FieldMappingForm(forms.ModelForm):
    """One row of the field mapping. ``attribute`` picks the source of an "Account
    attribute" row; ``source`` holds an expression or a constant (or, when posted without a
    pick, the attribute's name: what the API and older forms send)."""

    attribute = forms.ChoiceField(label=_("Account attribute"), required=False)

    class Meta:
        model = FieldMapping
        fields = [
            "display_name",
            "target",
            "is_extension",
            "source_kind",
            "attribute",
            "source",
            "apply",
            "default",
        ]
        widgets = {
            "source": forms.TextInput(attrs={"class": "mapping-source", "spellcheck": "false"}),
        }

    def __init__(self, *args: Any, attributes: Sequence[tuple[str, Any]] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        choices = list(attributes) or attribute_choices([])
        current = self.instance.source if self.instance.source_kind == "attribute" else ""
        if current and current not in _values(choices):
            choices.append((current, current))  # a saved pick the sample no longer lists
        self.fields["attribute"].choices = choices
        self.fields["attribute"].initial = current
        self.fields["attribute"].widget.attrs["class"] = "mapping-attribute"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("source_kind") == "attribute" and data.get("attribute"):
            data["source"] = data["attribute"]
        return data


def _values(choices: Sequence[tuple[str, Any]]) -> set[str]:
    found = set()
    for value, label in choices:
        if isinstance(label, list | tuple):
            found |= {v for v, _label in label}
        else:
            found.add(value)
    return found


class BaseFieldMappingFormSet(forms.BaseInlineFormSet):
    """The rows of the field mapping; the mapping engine's errors land on the row they name."""

    def clean(self) -> None:
        super().clean()
        if any(form.errors for form in self.forms):
            return
        rows = live_rows(self.forms)
        by_target: dict[str, Any] = {}
        for form in rows:  # a duplicate is the later row's problem
            by_target[form.cleaned_data["target"].strip()] = form
        for error in validate_rules(rules_of(rows)):
            form, message = by_target.get(error.target), translated(error.text)
            if form is None:  # a required field no row maps
                raise ValidationError(message)
            form.add_error(None, message)


def live_rows(forms_: Sequence[forms.Form]) -> list[forms.Form]:
    """The mapping rows that count: cleaned, not removed, with a target."""
    return [
        f
        for f in forms_
        if f.cleaned_data and not f.cleaned_data.get("DELETE") and f.cleaned_data.get("target")
    ]


def rules_of(forms_: Sequence[forms.Form]) -> list[Rule]:
    """The engine rules of cleaned mapping rows, in order."""
    return [
        Rule(
            target=f.cleaned_data["target"].strip(),
            source_kind=f.cleaned_data["source_kind"],
            source=f.cleaned_data.get("source", ""),
            apply=f.cleaned_data["apply"],
            default=f.cleaned_data.get("default", ""),
            is_extension=bool(f.cleaned_data.get("is_extension")),
            display_name=f.cleaned_data.get("display_name", ""),
        )
        for f in forms_
    ]


FieldMappingFormSet = forms.inlineformset_factory(
    IdentityProvider,
    FieldMapping,
    form=FieldMappingForm,
    formset=BaseFieldMappingFormSet,
    extra=0,
    can_delete=True,
    max_num=60,
)
