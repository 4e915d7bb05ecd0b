"""The notification settings form (provider > Modify > Notifications)."""

import re

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .models import NotificationSettings
from .services import SETTINGS_FIELDS

SEPARATORS = re.compile(r"[\s,;，；、]+")


class ListField(forms.CharField):
    """Values separated by commas, spaces or new lines (Chinese commas too), as a list."""

    widget = forms.Textarea(attrs={"rows": 2})

    def to_python(self, value) -> list[str]:
        text = super().to_python(value) or ""
        return list(dict.fromkeys(v for v in SEPARATORS.split(text) if v))

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list | tuple) else value


class NotificationSettingsForm(forms.ModelForm):
    """On/off, recipients, the freshness window, the interval and the message language.
    The service checks the recipients against the provider's linked DingTalk users."""

    dingtalk_userids = ListField(
        label=_("DingTalk recipients (userids)"),
        required=False,
        help_text=_(
            "DingTalk userids of accounts this provider synchronises; find people below. "
            "They must be inside the app's visible range to receive work notifications."
        ),
    )
    emails = ListField(
        label=_("Email recipients"),
        required=False,
        help_text=_("Email addresses, separated by commas or new lines."),
    )
    language = forms.ChoiceField(label=_("Message language"), required=False)

    class Meta:
        model = NotificationSettings
        fields = list(SETTINGS_FIELDS)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [("", _("Console default")), *settings.LANGUAGES]
        self.fields["language"].help_text = NotificationSettings._meta.get_field(
            "language"
        ).help_text
