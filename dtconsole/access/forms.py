"""Forms of the Users page."""

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.utils.translation import gettext_lazy as _

from . import roles
from .services import SYSTEM


def role_choices() -> list[tuple[str, str]]:
    return [("", _("No role (no access)")), *((r.key, r.label) for r in roles.ROLES)]


class RoleForm(forms.Form):
    """One user's role."""

    role = forms.ChoiceField(label=_("Role"), required=False, choices=role_choices)

    def chosen(self) -> roles.Role | None:
        return roles.BY_KEY.get(self.cleaned_data["role"])


class UserCreateForm(RoleForm):
    """A new console user who logs in with a password (or DingTalk QR code logon)."""

    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        help_text=_(
            "For DingTalk QR code logon, use the directory account's username: that is how a "
            "person scanning the code is matched to this console user."
        ),
    )
    password = forms.CharField(
        label=_("Initial password"), widget=forms.PasswordInput(render_value=False), strip=False
    )
    field_order = ["username", "password", "role"]

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        if username.lower() == SYSTEM.username:
            raise forms.ValidationError(
                _(
                    "“%(name)s” names the console's own actions (commands and background "
                    "jobs) in the audit log: choose another username."
                )
                % {"name": username}
            )
        if get_user_model().objects.filter(username=username).exists():
            raise forms.ValidationError(_("A console user with this username exists."))
        return username

    def clean(self):
        data = super().clean()
        if data.get("password"):
            user = get_user_model()(username=data.get("username", ""))
            try:
                password_validation.validate_password(data["password"], user)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return data
