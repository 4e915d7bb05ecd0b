"""Validation rules of the directory, shared by models, forms, the CSV import and the API.

The rules follow what DingTalk accepts for the same values (see dingtalk-api.md §3.1), so an
account that passes here is not refused by DingTalk for its shape.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# DingTalk documents a userid as 1–64 characters, unique in the organisation, immutable. It
# does not list the allowed characters. We choose letters, digits and "_ . @ -" and a first
# character that is a letter or digit: every userid DingTalk generates (digit strings) fits,
# and nothing that needs escaping in a URL or a CSV cell does.
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")

# Mainland numbers: 11 digits starting with 1[3-9]. International, Hong Kong, Macao and Taiwan
# numbers use DingTalk's "+<country code>-<number>" form (for example +852-61234567); a
# mainland number may also be written +86-13800138000.
MAINLAND_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
INTERNATIONAL_MOBILE_RE = re.compile(r"^\+(\d{1,4})-(\d{4,15})$")

# DingTalk refuses department names containing "-", "," or the full-width comma (60001/60009).
FORBIDDEN_ORG_NAME_CHARS = ("-", ",", "，")
ORG_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


def validate_username(value: str) -> None:
    if not USERNAME_RE.match(value or ""):
        raise ValidationError(
            _(
                "Use 1 to 64 characters: letters, digits and _ . @ -, starting with a letter "
                "or a digit (DingTalk userid rules)."
            ),
            code="invalid_username",
        )


def validate_mobile(value: str) -> None:
    if MAINLAND_MOBILE_RE.match(value):
        return
    match = INTERNATIONAL_MOBILE_RE.match(value)
    if match:
        if match.group(1) == "86" and not MAINLAND_MOBILE_RE.match(match.group(2)):
            raise ValidationError(
                _("A +86 number must be a mainland mobile: 11 digits starting with 13 to 19."),
                code="invalid_mobile",
            )
        return
    raise ValidationError(
        _(
            "Enter a mainland mobile (11 digits, for example 13800138000) or an international "
            "one as +country code-number (for example +852-61234567)."
        ),
        code="invalid_mobile",
    )


def validate_org_name(value: str) -> None:
    bad = [c for c in FORBIDDEN_ORG_NAME_CHARS if c in value]
    if bad:
        raise ValidationError(
            _("DingTalk does not accept %(chars)s in a department name.")
            % {"chars": " ".join(f"“{c}”" for c in bad)},
            code="invalid_org_name",
        )


def validate_org_code(value: str) -> None:
    if not ORG_CODE_RE.match(value):
        raise ValidationError(
            _("Use up to 64 letters, digits and _ . : -, starting with a letter or a digit."),
            code="invalid_org_code",
        )
