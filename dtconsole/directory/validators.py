"""Validation rules of the directory, shared by models, forms, the CSV import and the API.

The rules follow what DingTalk accepts for the same values (see dingtalk-api.md §3.1), so an
account that passes here is not refused by DingTalk for its shape.
"""

import json
import re
import unicodedata

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# DingTalk documents a userid as 1–64 characters, unique in the organisation, immutable. It
# does not list the allowed characters. We choose letters, digits and "_ . @ -" and a first
# character that is a letter or digit: every userid DingTalk generates (digit strings) fits,
# and nothing that needs escaping in a URL or a CSV cell does.
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")

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


# --- mobiles ---------------------------------------------------------------------------------
#
# One number has one stored spelling, so that the unique constraint on Account.mobile holds
# for the number and not for the way it was typed ("+86-139…" and "139…" are one DingTalk
# user). ``normalize_mobile`` is the only place that decides; every write reaches it through
# the model field's ``clean`` (``full_clean`` in the services).
#
# Accepted spellings (after NFKC, so full-width ＋, digits, spaces and hyphens count as ASCII):
# - digits with spaces, hyphens, dots or brackets between them, and surrounding whitespace;
# - "+" or "00" before the country code: +86 139 5005 2493, +8613950052493, 0086-13950052493,
#   +852-61234567, +852 6123 4567, 00852 61234567, +1 (415) 555-2671;
# - no prefix: a mainland number, either the 11 digits (13950052493, 139-5005-2493) or 86 and
#   the 11 digits (86-13950052493, 8613950052493). Other regions need "+" or "00": without it,
#   "852-61234567" could be anything.
# Stored normal form: a mainland number as its 11 digits (13950052493, what DingTalk expects
# from a company registered in mainland China); any other region as DingTalk's
# "+<country code>-<national number>" (+852-61234567).
#
# Validity: the country code must exist and the number must be *valid* for it in the
# numbering plan of the phonenumbers library (an allocated range, the right length) and of a
# type that is a mobile (MOBILE, or FIXED_LINE_OR_MOBILE where the plan cannot tell, as in
# North America). "Possible" (only the length) is not enough: DingTalk users are people who
# receive an activation SMS, and a number from an unallocated range (+852-41234567,
# +853-60123456) or a landline is a typo that would otherwise surface only when the person
# cannot log in. The price is a library update when a region opens a new range.

MAINLAND_CODE = 86
MOBILE_TYPES = (
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
)
_SEPARATORS_RE = re.compile(r"[\s.()\-]+")
_MOBILE_INPUT_RE = re.compile(r"^(\+|00)?[0-9]+$")
_MAINLAND_RE = re.compile(r"^1[0-9]{10}$")

MOBILE_ACCEPTED = _(
    "Enter a mainland mobile as 11 digits (13800138000; +86 and spaces are fine) or another "
    "region's as + country code and number (+852-61234567)."
)


def normalize_mobile(value: str) -> str:
    """The stored normal form of a mobile typed in any accepted spelling; "" stays "".

    Raises ValidationError (code ``invalid_mobile``) saying what is accepted instead.
    """
    text = unicodedata.normalize("NFKC", value or "").strip()
    if not text:
        return ""
    compact = _SEPARATORS_RE.sub("", text)
    if not _MOBILE_INPUT_RE.match(compact):
        raise _mobile_error(MOBILE_ACCEPTED)
    if compact.startswith(("+", "00")):
        digits = compact[1:] if compact.startswith("+") else compact[2:]
    elif _MAINLAND_RE.match(compact):
        digits = f"{MAINLAND_CODE}{compact}"
    elif compact.startswith(str(MAINLAND_CODE)) and _MAINLAND_RE.match(compact[2:]):
        digits = compact
    else:
        raise _mobile_error(
            _(
                "“%(value)s” is not a mainland mobile (11 digits, for example 13800138000). "
                "Write another region's mobile with + and its country code: +852-61234567."
            ),
            text,
        )
    return _checked(digits, text)


def _checked(digits: str, text: str) -> str:
    """The normal form of "<country code><number>" digits, if that is a mobile in use."""
    try:
        number = phonenumbers.parse(f"+{digits}")
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            raise _unknown_country_code(text) from None
        raise _not_a_mobile(text, _country_code(digits)) from None
    if not phonenumbers.is_valid_number(number) or (
        phonenumbers.number_type(number) not in MOBILE_TYPES
    ):
        raise _not_a_mobile(text, number.country_code)
    national = phonenumbers.national_significant_number(number)
    if number.country_code == MAINLAND_CODE:
        return national
    return f"+{number.country_code}-{national}"


def _country_code(digits: str) -> int | None:
    # Country codes are prefix-free (ITU E.164): at most one of the first 1 to 3 digits is one.
    for length in (1, 2, 3):
        code = int(digits[:length] or 0)
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return code
    return None


def _not_a_mobile(text: str, code: int | None) -> ValidationError:
    if code is None:
        return _unknown_country_code(text)
    if code == MAINLAND_CODE:
        return _mobile_error(
            _(
                "“%(value)s” is not a mainland mobile number in use: 11 digits from a mobile "
                "range, for example 13800138000."
            ),
            text,
        )
    region = phonenumbers.region_code_for_country_code(code)
    if region in ("ZZ", "001"):  # unknown, or a non-geographic code such as +800
        return _mobile_error(
            _(
                "“%(value)s” is not a mobile number in use under country code +%(code)s: "
                "check the digits (landlines and service numbers are not accepted)."
            ),
            text,
            code=code,
        )
    return _mobile_error(
        _(
            "“%(value)s” is not a mobile number in use under country code +%(code)s "
            "(%(region)s): check the digits (landlines are not accepted)."
        ),
        text,
        code=code,
        region=region,
    )


def _unknown_country_code(text: str) -> ValidationError:
    return _mobile_error(
        _(
            "“%(value)s” does not start with a country code in use. Write + and the country "
            "code, then the number, for example +852-61234567."
        ),
        text,
    )


def _mobile_error(message, value: str = "", **params) -> ValidationError:
    return ValidationError(message, code="invalid_mobile", params={"value": value, **params})


def validate_mobile(value: str) -> None:
    """Refuse a mobile that ``normalize_mobile`` cannot turn into the normal form.

    Kept as a validator for migration 0001, which names it.
    """
    normalize_mobile(value)


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


# --- JSON attributes -------------------------------------------------------------------------
#
# Account.extra is free-form, so it is bounded: a deeply nested value makes every recursive
# reader (json, the renderers, the mapping engine) raise RecursionError, and a huge one makes
# every page and every sync that carries it slow. The bounds are far above any real use.

JSON_MAX_DEPTH = 20
JSON_MAX_BYTES = 64 * 1024


def json_depth(value: object) -> int:
    """How deeply ``value`` nests (a scalar is 0, ``{}`` is 1), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            deepest = max(deepest, depth)
            continue
        deepest = max(deepest, depth + 1)
        if depth + 1 > JSON_MAX_DEPTH:
            return depth + 1  # deep enough to refuse: stop walking
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _too_deep() -> ValidationError:
    return ValidationError(
        _("The JSON nests deeper than %(limit)d levels; flatten it."),
        code="json_too_deep",
        params={"limit": JSON_MAX_DEPTH},
    )


def _too_large(size: int) -> ValidationError:
    return ValidationError(
        _("The JSON is %(size)d bytes; at most %(limit)d bytes (64 KiB) are kept."),
        code="json_too_large",
        params={"size": size, "limit": JSON_MAX_BYTES},
    )


def validate_json_bounds(value: object) -> None:
    """Refuse a JSON value nested deeper than JSON_MAX_DEPTH or larger than JSON_MAX_BYTES."""
    if json_depth(value) > JSON_MAX_DEPTH:
        raise _too_deep()
    text = json.dumps(value, ensure_ascii=False, default=str)
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > JSON_MAX_BYTES:
        raise _too_large(size)


def load_bounded_json(text: str) -> object:
    """``json.loads`` of ``text`` within the bounds: ValueError when it is not JSON,
    ValidationError when it is too large or too deep (never RecursionError)."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > JSON_MAX_BYTES:
        raise _too_large(size)
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise _too_deep() from exc
    validate_json_bounds(value)
    return value
