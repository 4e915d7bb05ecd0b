"""The directory's validation rules; here the mobile normaliser, case by case."""

import pytest
from django.core.exceptions import ValidationError

from dtconsole.directory.validators import (
    json_depth,
    load_bounded_json,
    normalize_mobile,
    validate_json_bounds,
    validate_mobile,
)

ACCEPTED = [
    # (typed, stored normal form)
    ("13950052493", "13950052493"),
    ("+86-13950052493", "13950052493"),
    ("+86 139 5005 2493", "13950052493"),
    ("+8613950052493", "13950052493"),
    ("86-13950052493", "13950052493"),
    ("86 139 5005 2493", "13950052493"),
    ("8613950052493", "13950052493"),
    ("0086 139 5005 2493", "13950052493"),
    ("(+86) 139-5005-2493", "13950052493"),
    ("139 5005 2493", "13950052493"),
    ("139-5005-2493", "13950052493"),
    ("139.5005.2493", "13950052493"),
    ("  13950052493\t", "13950052493"),
    ("＋８６　１３９５００５２４９３", "13950052493"),  # full-width, as Chinese IMEs type it
    ("19912345678", "19912345678"),
    ("+852-61234567", "+852-61234567"),
    ("+852 6123 4567", "+852-61234567"),
    ("+85261234567", "+852-61234567"),
    ("00852 61234567", "+852-61234567"),
    ("+852-51234567", "+852-51234567"),
    ("+853-66123456", "+853-66123456"),
    ("+886-912345678", "+886-912345678"),
    ("+886 0912 345 678", "+886-912345678"),  # the trunk 0 is not part of the number
    ("+65 8123 4567", "+65-81234567"),
    ("+1 (415) 555-2671", "+1-4155552671"),
    ("+1-4155550100", "+1-4155550100"),
    ("+44 (0)7911 123456", "+44-7911123456"),
    ("+39 312 345 6789", "+39-3123456789"),
    ("", ""),
]

NOT_A_MOBILE_SHAPE = "Enter a mainland mobile as 11 digits (13800138000; +86 and spaces are fine)"
NEEDS_A_COUNTRY_CODE = "is not a mainland mobile (11 digits, for example 13800138000). Write"
UNKNOWN_COUNTRY_CODE = "does not start with a country code in use."
NOT_A_MAINLAND_MOBILE = "is not a mainland mobile number in use: 11 digits from a mobile range"

REFUSED = [
    # (typed, the start of the one message)
    ("+0-1234", f"“+0-1234” {UNKNOWN_COUNTRY_CODE}"),
    ("+999-12345678", f"“+999-12345678” {UNKNOWN_COUNTRY_CODE}"),
    ("+0086-13950052493", f"“+0086-13950052493” {UNKNOWN_COUNTRY_CODE}"),
    ("852-61234567", f"“852-61234567” {NEEDS_A_COUNTRY_CODE}"),
    ("61234567", f"“61234567” {NEEDS_A_COUNTRY_CODE}"),
    ("1380013800", f"“1380013800” {NEEDS_A_COUNTRY_CODE}"),
    ("138001380001", f"“138001380001” {NEEDS_A_COUNTRY_CODE}"),
    ("12800138000", f"“12800138000” {NOT_A_MAINLAND_MOBILE}"),
    ("14012345678", f"“14012345678” {NOT_A_MAINLAND_MOBILE}"),  # IoT range, not a person's
    ("+86-61234567", f"“+86-61234567” {NOT_A_MAINLAND_MOBILE}"),
    ("+86-1380013800", f"“+86-1380013800” {NOT_A_MAINLAND_MOBILE}"),
    ("+86-1088888888", f"“+86-1088888888” {NOT_A_MAINLAND_MOBILE}"),  # a Beijing landline
    (
        "+852-41234567",
        "“+852-41234567” is not a mobile number in use under country code +852 (HK): "
        "check the digits (landlines are not accepted).",
    ),
    ("+852-21234567", "“+852-21234567” is not a mobile number in use under country code +852"),
    ("+852-6123", "“+852-6123” is not a mobile number in use under country code +852 (HK)"),
    ("+853-60123456", "“+853-60123456” is not a mobile number in use under country code +853"),
    ("+39 06 1234 5678", "“+39 06 1234 5678” is not a mobile number in use under country code +39"),
    (
        "+800-12345678",
        "“+800-12345678” is not a mobile number in use under country code +800: check the digits",
    ),
    ("abc", NOT_A_MOBILE_SHAPE),
    ("13800138000 ext 5", NOT_A_MOBILE_SHAPE),
    ("+86+13950052493", NOT_A_MOBILE_SHAPE),
    ("1395005249３x", NOT_A_MOBILE_SHAPE),
    ("+", NOT_A_MOBILE_SHAPE),
    ("--", NOT_A_MOBILE_SHAPE),
]


@pytest.mark.parametrize(("typed", "normal"), ACCEPTED)
def test_every_accepted_spelling_becomes_the_one_normal_form(typed, normal):
    assert normalize_mobile(typed) == normal


@pytest.mark.parametrize(("typed", "normal"), ACCEPTED)
def test_the_normal_form_is_its_own_normal_form(typed, normal):
    assert normalize_mobile(normal) == normal


@pytest.mark.parametrize(("typed", "message"), REFUSED)
def test_a_refused_mobile_gets_one_message_that_says_what_is_accepted(typed, message):
    with pytest.raises(ValidationError) as exc:
        normalize_mobile(typed)
    assert exc.value.code == "invalid_mobile"
    assert len(exc.value.messages) == 1
    assert exc.value.messages[0].startswith(message), exc.value.messages[0]


def test_each_kind_of_refusal_names_an_example_of_what_to_type():
    for typed, _message in REFUSED:
        with pytest.raises(ValidationError) as exc:
            normalize_mobile(typed)
        text = exc.value.messages[0]
        assert "13800138000" in text or "+852-61234567" in text or "check the digits" in text


def test_the_validator_kept_for_old_migrations_refuses_what_the_normaliser_refuses():
    validate_mobile("+86 139 5005 2493")
    with pytest.raises(ValidationError):
        validate_mobile("+0-1234")


def test_json_depth_counts_nesting_without_recursion():
    assert json_depth(1) == 0 and json_depth({}) == 1 and json_depth({"a": [1]}) == 2
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert json_depth(deep) > 20  # no RecursionError


def test_json_within_twenty_levels_and_64_kib_passes():
    value: dict = {}
    for _ in range(19):
        value = {"a": value}
    validate_json_bounds(value)
    validate_json_bounds({"notes": "x" * 60_000})


@pytest.mark.parametrize("text", ["[" * 21 + "]" * 21, "[" * 5000 + "]" * 5000])
def test_loading_json_nested_too_deeply_is_a_validation_error(text):
    with pytest.raises(ValidationError, match="nests deeper than 20 levels"):
        load_bounded_json(text)


def test_loading_json_over_64_kib_is_refused_before_parsing():
    with pytest.raises(ValidationError, match="at most 65536 bytes"):
        load_bounded_json('"' + "x" * 70_000 + '"')
