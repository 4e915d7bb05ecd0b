"""The directory services: tree paths, the one-primary rule and every validation rule."""

import pytest
from django.core.exceptions import ValidationError

from dtconsole.access.services import SYSTEM
from dtconsole.audit.models import AuditEntry
from dtconsole.directory import services
from dtconsole.directory.models import Account, Membership, Organization
from dtconsole.directory.services import DirectoryError

from .factories import make_account, make_org

pytestmark = pytest.mark.django_db


def field_errors(exc_info: pytest.ExceptionInfo) -> dict[str, list[str]]:
    return exc_info.value.message_dict


def reload(org: Organization) -> Organization:
    return Organization.objects.get(pk=org.pk)


# --- organisations ---------------------------------------------------------------------------


def test_a_root_organisation_gets_its_own_id_as_path_and_depth_zero():
    org = make_org("Head office")
    assert org.path == f"/{org.pk}/"
    assert org.depth == 0


def test_a_child_organisation_extends_its_parents_path():
    root = make_org("Head office")
    child = make_org("Sales", parent=root)
    grandchild = make_org("East", parent=child)
    assert grandchild.path == f"/{root.pk}/{child.pk}/{grandchild.pk}/"
    assert grandchild.depth == 2
    assert grandchild.ancestor_ids() == [root.pk, child.pk]


def test_renaming_an_organisation_keeps_its_path():
    org = make_org("Sales")
    services.organization_update(SYSTEM, org, name="Sales and marketing", code="S1", order=3)
    org = reload(org)
    assert (org.name, org.code, org.order, org.path) == (
        "Sales and marketing",
        "S1",
        3,
        f"/{org.pk}/",
    )


def test_moving_an_organisation_rewrites_the_paths_and_depths_of_its_subtree():
    a, b = make_org("A"), make_org("B")
    child = make_org("Child", parent=a)
    leaf = make_org("Leaf", parent=child)
    services.organization_move(SYSTEM, child, b)
    child, leaf = reload(child), reload(leaf)
    assert child.parent_id == b.pk
    assert child.path == f"/{b.pk}/{child.pk}/" and child.depth == 1
    assert leaf.path == f"/{b.pk}/{child.pk}/{leaf.pk}/" and leaf.depth == 2


def test_moving_an_organisation_deeper_increases_the_depth_of_its_subtree():
    a = make_org("A")
    b = make_org("B", parent=make_org("B parent", parent=a))
    child = make_org("Child", parent=a)
    leaf = make_org("Leaf", parent=child)
    services.organization_move(SYSTEM, child, b)
    assert reload(child).depth == 3
    assert reload(leaf).depth == 4
    assert reload(leaf).path == f"{reload(b).path}{child.pk}/{leaf.pk}/"


def test_moving_an_organisation_to_the_top_level_makes_it_a_root():
    a = make_org("A")
    child = make_org("Child", parent=a)
    leaf = make_org("Leaf", parent=child)
    services.organization_move(SYSTEM, child, None)
    child, leaf = reload(child), reload(leaf)
    assert child.parent_id is None and child.path == f"/{child.pk}/" and child.depth == 0
    assert leaf.path == f"/{child.pk}/{leaf.pk}/" and leaf.depth == 1


def test_moving_an_organisation_into_itself_is_refused():
    org = make_org("A")
    with pytest.raises(DirectoryError, match="inside its own subtree"):
        services.organization_move(SYSTEM, org, org)


def test_moving_an_organisation_under_its_child_is_refused():
    org = make_org("A")
    child = make_org("Child", parent=org)
    with pytest.raises(DirectoryError, match="inside its own subtree"):
        services.organization_move(SYSTEM, org, child)
    assert reload(org).parent_id is None


def test_moving_an_organisation_under_a_deep_descendant_is_refused_and_changes_nothing():
    org = make_org("A")
    deep = make_org("D", parent=make_org("C", parent=make_org("B", parent=org)))
    with pytest.raises(DirectoryError):
        services.organization_move(SYSTEM, org, deep)
    assert reload(org).path == f"/{org.pk}/"
    assert reload(deep).depth == 3


def test_moving_next_to_a_sibling_with_the_same_name_is_refused_on_the_name():
    a, b = make_org("A"), make_org("B")
    make_org("Sales", parent=b)
    sales = make_org("Sales", parent=a)
    with pytest.raises(ValidationError) as exc:
        services.organization_move(SYSTEM, sales, b)
    assert "name" in field_errors(exc)
    assert reload(sales).parent_id == a.pk


def test_deleting_an_organisation_with_children_is_refused():
    org = make_org("A")
    make_org("Child", parent=org)
    with pytest.raises(DirectoryError, match="sub-organisation"):
        services.organization_delete(SYSTEM, org)
    assert Organization.objects.filter(pk=org.pk).exists()


def test_deleting_an_organisation_returns_its_member_count_and_keeps_the_accounts():
    org = make_org("A")
    accounts = [make_account(orgs=[org]) for _ in range(2)]
    assert services.organization_delete(SYSTEM, org) == 2
    assert Account.objects.filter(pk__in=[a.pk for a in accounts]).count() == 2


def test_deleting_an_accounts_primary_organisation_promotes_its_next_membership():
    first, second = make_org("First"), make_org("Second")
    account = make_account(orgs=[first, second])
    services.organization_delete(SYSTEM, first)
    membership = Membership.objects.get(account=account)
    assert membership.organization_id == second.pk and membership.is_primary


def test_sibling_organisations_need_different_names():
    parent = make_org("Parent")
    make_org("Sales", parent=parent)
    with pytest.raises(ValidationError) as exc:
        make_org("Sales", parent=parent)
    assert field_errors(exc)["name"] == [
        "Another organisation under the same parent already has this name."
    ]


def test_the_same_name_is_allowed_under_different_parents():
    make_org("Sales", parent=make_org("A"))
    make_org("Sales", parent=make_org("B"))
    assert Organization.objects.filter(name="Sales").count() == 2


def test_top_level_organisations_need_different_names():
    make_org("Head office")
    with pytest.raises(ValidationError) as exc:
        make_org("Head office")
    assert field_errors(exc)["name"] == ["Another top-level organisation already has this name."]


def test_renaming_to_a_siblings_name_is_refused():
    parent = make_org("Parent")
    make_org("Sales", parent=parent)
    other = make_org("Support", parent=parent)
    with pytest.raises(ValidationError) as exc:
        services.organization_update(SYSTEM, other, name="Sales", code=None, order=0)
    assert "name" in field_errors(exc)


@pytest.mark.parametrize("name", ["Sales-East", "Sales,East", "Sales，East"])
def test_organisation_names_with_characters_dingtalk_refuses_are_invalid(name):
    with pytest.raises(ValidationError) as exc:
        make_org(name)
    assert "DingTalk does not accept" in field_errors(exc)["name"][0]


def test_an_organisation_name_with_spaces_and_chinese_is_valid():
    assert make_org("华东 销售部").name == "华东 销售部"


@pytest.mark.parametrize("code", ["D-001", "east.sales", "a:b_c", "9"])
def test_valid_organisation_codes_are_accepted(code):
    assert make_org(code=code).code == code


@pytest.mark.parametrize("code", ["-D001", "has space", "x/y", "a" * 65])
def test_invalid_organisation_codes_are_refused(code):
    with pytest.raises(ValidationError) as exc:
        make_org(code=code)
    assert "code" in field_errors(exc)


def test_organisation_codes_are_unique():
    make_org(code="D1")
    with pytest.raises(ValidationError) as exc:
        make_org(code="D1")
    assert "code" in field_errors(exc)


def test_an_empty_code_is_stored_as_none_so_many_organisations_can_have_none():
    assert make_org(code="").code is None
    assert make_org(code="").code is None


# --- memberships -----------------------------------------------------------------------------


def test_the_first_membership_of_an_account_is_primary():
    account = make_account()
    membership = services.membership_add(SYSTEM, account, make_org())
    assert membership.is_primary


def test_an_account_created_in_several_organisations_has_the_first_as_primary():
    a, b = make_org(), make_org()
    account = make_account(orgs=[a, b])
    assert primary_org_id(account) == a.pk
    assert account.memberships.count() == 2


def test_an_account_created_with_a_primary_outside_its_list_joins_it_as_primary():
    a, b = make_org(), make_org()
    account = services.account_create(
        SYSTEM, username="zhang.wei", display_name="Zhang Wei", organizations=[a], primary=b
    )
    assert primary_org_id(account) == b.pk
    assert account.memberships.count() == 2


def test_adding_a_second_membership_keeps_the_first_primary():
    a, b = make_org(), make_org()
    account = make_account(orgs=[a])
    assert not services.membership_add(SYSTEM, account, b).is_primary
    assert primary_org_id(account) == a.pk


def test_adding_a_membership_as_primary_moves_the_primary_flag():
    a, b = make_org(), make_org()
    account = make_account(orgs=[a])
    services.membership_add(SYSTEM, account, b, primary=True)
    assert primary_org_id(account) == b.pk
    assert account.memberships.filter(is_primary=True).count() == 1


def test_adding_the_same_organisation_twice_is_refused():
    org = make_org()
    account = make_account(orgs=[org])
    with pytest.raises(DirectoryError, match="already a member"):
        services.membership_add(SYSTEM, account, org)


def test_removing_the_primary_membership_promotes_the_next_one():
    a, b, c = make_org(), make_org(), make_org()
    account = make_account(orgs=[a])
    services.membership_add(SYSTEM, account, b, order=2)
    services.membership_add(SYSTEM, account, c, order=1)
    services.membership_remove(SYSTEM, account.memberships.get(organization=a))
    assert primary_org_id(account) == c.pk


def test_removing_a_secondary_membership_keeps_the_primary():
    a, b = make_org(), make_org()
    account = make_account(orgs=[a, b])
    services.membership_remove(SYSTEM, account.memberships.get(organization=b))
    assert primary_org_id(account) == a.pk


def test_removing_the_last_membership_leaves_no_primary():
    account = make_account(orgs=[make_org()])
    services.membership_remove(SYSTEM, account.memberships.get())
    assert not account.memberships.exists()


def test_set_primary_makes_exactly_one_membership_primary():
    a, b = make_org(), make_org()
    account = make_account(orgs=[a, b])
    services.membership_set_primary(SYSTEM, account.memberships.get(organization=b))
    assert list(
        account.memberships.filter(is_primary=True).values_list("organization", flat=True)
    ) == [b.pk]


def primary_org_id(account: Account) -> int:
    return Membership.objects.get(account=account, is_primary=True).organization_id


# --- accounts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "username", ["a", "x" * 64, "zhang.wei", "user_1@corp", "0123456789", "Li-Na"]
)
def test_valid_usernames_are_accepted(username):
    assert make_account(username).username == username


@pytest.mark.parametrize(
    "username",
    ["", "x" * 65, "zhang wei", "张伟", "a/b", "a#b", ".hidden", "_x", "@x", "-x"],
)
def test_invalid_usernames_are_refused(username):
    with pytest.raises(ValidationError) as exc:
        services.account_create(SYSTEM, username=username, display_name="Someone")
    assert "username" in field_errors(exc)
    assert not Account.objects.exists()


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("13800138000", "13800138000"),
        ("+86-13800138000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("86-13800138000", "13800138000"),
        ("+852-61234567", "+852-61234567"),
        ("+852 6123 4567", "+852-61234567"),
        ("+1-4155550100", "+1-4155550100"),
    ],
)
def test_an_account_stores_its_mobile_in_the_normal_form(typed, stored):
    account = make_account(mobile=typed)
    assert account.mobile == stored
    assert Account.objects.get(pk=account.pk).mobile == stored


@pytest.mark.parametrize(
    "mobile", ["12800138000", "1380013800", "138001380001", "852-61234567", "abc", "+0-1234"]
)
def test_invalid_mobiles_are_refused_with_an_error_on_the_mobile_field(mobile):
    with pytest.raises(ValidationError) as exc:
        make_account(mobile=mobile)
    (message,) = field_errors(exc)["mobile"]
    assert "13800138000" in message or "+852-61234567" in message
    assert not Account.objects.exists()


def test_a_plus_86_number_must_be_a_mainland_mobile():
    with pytest.raises(ValidationError) as exc:
        make_account(mobile="+86-61234567")
    assert field_errors(exc)["mobile"] == [
        "“+86-61234567” is not a mainland mobile number in use: 11 digits from a mobile range, "
        "for example 13800138000."
    ]


def test_an_unknown_country_code_is_refused():
    with pytest.raises(ValidationError) as exc:
        make_account(mobile="+0-1234")
    assert "does not start with a country code in use" in field_errors(exc)["mobile"][0]


@pytest.mark.parametrize("other", ["+86-13950052493", "+86 139 5005 2493", "8613950052493"])
def test_the_same_number_in_another_spelling_is_taken(other):
    make_account(mobile="13950052493")
    with pytest.raises(ValidationError) as exc:
        make_account(mobile=other)
    assert field_errors(exc)["mobile"] == ["Another account already uses this mobile."]
    assert Account.objects.filter(mobile__contains="13950052493").count() == 1


def test_a_number_stored_from_a_plus_86_spelling_takes_the_plain_spelling_too():
    make_account(mobile="+86-13950052493")
    with pytest.raises(ValidationError) as exc:
        make_account(mobile="13950052493")
    assert field_errors(exc)["mobile"] == ["Another account already uses this mobile."]


def test_an_international_number_is_unique_across_spellings():
    make_account(mobile="+852 6123 4567")
    with pytest.raises(ValidationError) as exc:
        make_account(mobile="00852-61234567")
    assert "mobile" in field_errors(exc)


def test_updating_to_another_accounts_number_in_another_spelling_is_refused():
    make_account(mobile="13950052493")
    account = make_account(mobile="13900139000")
    with pytest.raises(ValidationError) as exc:
        services.account_update(SYSTEM, account, mobile="+86-139-5005-2493")
    assert field_errors(exc)["mobile"] == ["Another account already uses this mobile."]
    assert Account.objects.get(pk=account.pk).mobile == "13900139000"


def test_an_account_may_retype_its_own_number_in_another_spelling():
    account = make_account(mobile="13950052493")
    updated = services.account_update(SYSTEM, account, mobile="+86 139 5005 2493")
    assert updated.mobile == "13950052493"


def test_the_audit_entry_records_the_normal_form():
    account = make_account(mobile="13900139000")
    services.account_update(SYSTEM, account, mobile="+86 139 5005 2493")
    entry = AuditEntry.objects.filter(action="account.update").latest("id")
    assert entry.after["mobile"] == "13950052493"


def test_an_empty_mobile_and_email_are_allowed_for_several_accounts():
    make_account(mobile="", email="")
    make_account(mobile="", email="")
    assert Account.objects.filter(mobile="", email="").count() == 2


@pytest.mark.parametrize("email", ["not-an-email", "a@", "@example.com"])
def test_invalid_emails_are_refused(email):
    with pytest.raises(ValidationError) as exc:
        make_account(email=email)
    assert "email" in field_errors(exc)


def test_two_accounts_cannot_share_a_mobile():
    make_account(mobile="13800138000")
    with pytest.raises(ValidationError) as exc:
        make_account(mobile="13800138000")
    assert field_errors(exc)["mobile"] == ["Another account already uses this mobile."]


def test_two_accounts_cannot_share_an_email():
    make_account(email="a@example.com")
    with pytest.raises(ValidationError) as exc:
        make_account(email="a@example.com")
    assert field_errors(exc)["email"] == ["Another account already uses this email."]


def test_two_accounts_cannot_share_a_username():
    make_account("zhang.wei")
    with pytest.raises(ValidationError) as exc:
        make_account("zhang.wei")
    assert "username" in field_errors(exc)


def test_an_account_keeps_its_own_mobile_and_email_when_updated():
    account = make_account(mobile="13800138000", email="a@example.com")
    services.account_update(SYSTEM, account, display_name="New name")
    assert Account.objects.get(pk=account.pk).display_name == "New name"


def test_updating_an_account_to_another_accounts_mobile_is_refused():
    make_account(mobile="13800138000")
    account = make_account(mobile="13900139000")
    with pytest.raises(ValidationError) as exc:
        services.account_update(SYSTEM, account, mobile="13800138000")
    assert "mobile" in field_errors(exc)
    assert Account.objects.get(pk=account.pk).mobile == "13900139000"


def test_a_username_cannot_change():
    account = make_account("zhang.wei")
    with pytest.raises(DirectoryError, match="cannot change"):
        services.account_update(SYSTEM, account, username="wei.zhang")
    assert Account.objects.get(pk=account.pk).username == "zhang.wei"


def test_an_account_with_an_invalid_attribute_creates_no_membership():
    org = make_org()
    with pytest.raises(ValidationError):
        make_account(orgs=[org], mobile="bad")
    assert not Membership.objects.exists()


def test_disabling_and_enabling_an_account_changes_its_status():
    account = make_account()
    services.account_set_status(SYSTEM, account, Account.Status.DISABLED)
    assert Account.objects.get(pk=account.pk).status == "disabled"
    services.account_set_status(SYSTEM, account, Account.Status.ACTIVE)
    assert Account.objects.get(pk=account.pk).is_active


def test_an_unknown_status_is_refused():
    with pytest.raises(DirectoryError):
        services.account_set_status(SYSTEM, make_account(), "gone")


def test_deleting_an_account_deletes_its_memberships_but_not_its_organisations():
    org = make_org()
    account = make_account(orgs=[org])
    services.account_delete(SYSTEM, account)
    assert not Membership.objects.exists()
    assert Organization.objects.filter(pk=org.pk).exists()
