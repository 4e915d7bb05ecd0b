"""Stored mobiles against the normal form: the review rule, migration 0005 and check_mobiles."""

import importlib
from io import StringIO

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from dtconsole.access.services import SYSTEM
from dtconsole.directory import services
from dtconsole.directory.mobiles import review_mobiles
from dtconsole.directory.models import Account
from tests.factories import make_account

migration = importlib.import_module("dtconsole.directory.migrations.0005_normalise_mobiles")


def legacy(username: str, mobile: str) -> Account:
    """An account as an older version stored it: written around the services."""
    return Account.objects.create(username=username, display_name=username, mobile=mobile)


def stored() -> dict[str, str]:
    return dict(Account.objects.values_list("username", "mobile"))


# --- the rule --------------------------------------------------------------------------------


def test_a_value_that_normalises_and_collides_with_nothing_is_changed():
    review = review_mobiles([(1, "a", "+86 138 0013 8000"), (2, "b", "+852 6123 4567")])
    assert review.changes == {1: "13800138000", 2: "+852-61234567"}
    assert review.problems == []


def test_a_value_already_in_the_normal_form_is_left_alone():
    review = review_mobiles([(1, "a", "13800138000"), (2, "b", "+852-61234567"), (3, "c", "")])
    assert review.changes == {} and review.problems == []


def test_the_account_already_holding_the_normal_form_keeps_it_and_the_other_is_reported():
    review = review_mobiles([(1, "old", "+86-13950052493"), (2, "new", "13950052493")])
    assert review.changes == {}
    (problem,) = review.problems
    assert (problem.account_id, problem.mobile) == (1, "+86-13950052493")
    assert problem.reason == "The same number as the account “new” (13950052493)."


def test_without_a_holder_the_oldest_account_gets_the_normal_form():
    rows = [(7, "later", "0086 139 5005 2493"), (3, "first", "+86-13950052493")]
    review = review_mobiles(rows)
    assert review.changes == {3: "13950052493"}
    assert [(p.account_id, p.mobile) for p in review.problems] == [(7, "0086 139 5005 2493")]


def test_a_value_that_cannot_be_normalised_is_reported_with_the_reason():
    review = review_mobiles([(1, "a", "+0-1234"), (2, "b", "12800138000")])
    assert review.changes == {}
    reasons = [p.reason for p in review.problems]
    assert reasons[0].startswith("“+0-1234” does not start with a country code in use.")
    assert reasons[1].startswith("“12800138000” is not a mainland mobile number in use")


# --- the migration ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_migration_normalises_and_keeps_every_value_it_cannot_normalise(capsys):
    legacy("dup_plus", "+86-13950052493")
    legacy("holder", "13950052493")
    legacy("spaced", "+86 138 0013 8000")
    legacy("hk_first", "+852 6123 4567")
    legacy("hk_second", "00852-61234567")
    legacy("bad_code", "+0-1234")
    legacy("no_mobile", "")
    legacy("fine", "13900139000")
    migration.normalise_mobiles(apps, None)
    assert stored() == {
        "dup_plus": "+86-13950052493",  # the same number as "holder": kept as stored
        "holder": "13950052493",
        "spaced": "13800138000",
        "hk_first": "+852-61234567",
        "hk_second": "00852-61234567",  # the same number as "hk_first": kept as stored
        "bad_code": "+0-1234",
        "no_mobile": "",
        "fine": "13900139000",
    }
    out = capsys.readouterr().out
    assert "2 mobile(s) normalised; 3 account(s) kept their mobile as stored" in out
    assert "manage.py check_mobiles" in out


@pytest.mark.django_db
def test_the_migration_run_twice_changes_nothing_more_and_is_silent_on_a_clean_directory(capsys):
    legacy("spaced", "+86 138 0013 8000")
    migration.normalise_mobiles(apps, None)
    migration.normalise_mobiles(apps, None)
    assert stored() == {"spaced": "13800138000"}
    assert capsys.readouterr().out == ""


@pytest.mark.django_db
def test_an_account_left_as_stored_cannot_be_saved_until_its_mobile_is_fixed():
    legacy("holder", "13950052493")
    duplicate = legacy("dup_plus", "+86-13950052493")
    migration.normalise_mobiles(apps, None)
    with pytest.raises(ValidationError) as exc:
        services.account_update(SYSTEM, duplicate, title="Engineer")
    assert exc.value.message_dict["mobile"] == ["Another account already uses this mobile."]
    services.account_update(SYSTEM, duplicate, mobile="+86 139 0013 9000")
    assert Account.objects.get(pk=duplicate.pk).mobile == "13900139000"


# --- check_mobiles ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_check_mobiles_lists_each_account_left_as_stored_and_fails():
    legacy("holder", "13950052493")
    legacy("dup_plus", "+86-13950052493")
    legacy("bad_code", "+0-1234")
    legacy("unmigrated", "+86 138 0013 8000")
    out = StringIO()
    with pytest.raises(CommandError, match="3 account"):
        call_command("check_mobiles", stdout=out)
    lines = out.getvalue().splitlines()
    assert [line.split("\t")[:2] for line in lines] == [
        ["bad_code", "+0-1234"],
        ["dup_plus", "+86-13950052493"],
        ["unmigrated", "+86 138 0013 8000"],
    ]
    assert "does not start with a country code in use" in lines[0]
    assert lines[1].endswith("The same number as the account “holder” (13950052493).")
    assert lines[2].endswith("Not in the normal form, which is 13800138000.")


@pytest.mark.django_db
def test_check_mobiles_passes_when_every_mobile_is_normal():
    make_account(mobile="+86 139 5005 2493")
    make_account(mobile="")
    out = StringIO()
    call_command("check_mobiles", stdout=out)
    assert out.getvalue().strip() == "Every mobile is in the normal form."
