"""The directory API: authentication, permissions, organisations, accounts, memberships and
bulk upsert, every write through the directory services."""

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from dtconsole.directory.models import Account, Membership, Organization
from dtconsole.sync.models import PendingChange
from tests.api_helpers import V1, make_user, offline_provider, results, token_client
from tests.factories import make_account, make_org

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer():
    return token_client(make_user("viewer"))


# --- authentication and permissions ----------------------------------------------------------


def test_a_request_without_credentials_gets_401_json_not_the_login_redirect(client):
    response = client.get(f"{V1}/organizations/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert "detail" in response.json()


def test_a_bad_token_is_refused_with_401(client):
    response = client.get(f"{V1}/accounts/", HTTP_AUTHORIZATION="Token not-a-real-token")
    assert response.status_code == 401


def test_a_token_authenticates(staff):
    assert staff.get(f"{V1}/organizations/").status_code == 200


def test_a_console_session_authenticates(admin_client):
    assert admin_client.get(f"{V1}/accounts/").status_code == 200


def test_an_inactive_users_token_is_refused():
    user = make_user("gone")
    client = token_client(user)
    user.is_active = False
    user.save()
    assert client.get(f"{V1}/accounts/").status_code == 401


def test_a_viewer_reads_but_cannot_write(viewer):
    org = make_org("Company")
    assert viewer.get(f"{V1}/organizations/{org.pk}/").status_code == 200
    assert viewer.post(f"{V1}/organizations/", {"name": "X"}).status_code == 403
    assert viewer.patch(f"{V1}/organizations/{org.pk}/", {"order": 3}).status_code == 403
    assert viewer.delete(f"{V1}/organizations/{org.pk}/").status_code == 403
    assert viewer.post(f"{V1}/accounts/bulk_upsert/", []).status_code == 403
    assert Organization.objects.count() == 1


def test_a_refused_write_names_the_role_it_needs(viewer):
    response = viewer.post(f"{V1}/organizations/", {"name": "X"})
    assert response.status_code == 403
    assert response.json()["required_role"] == "administrator"
    assert "Administrator role" in response.json()["detail"]


def test_a_user_without_a_role_reads_nothing():
    client = token_client(make_user("nobody", role=None))
    make_org("Company")
    response = client.get(f"{V1}/organizations/")
    assert response.status_code == 403
    assert response.json()["required_role"] == "viewer"
    assert "Company" not in response.content.decode()


def test_api_token_prints_the_same_token_each_time(admin_user, capsys):
    call_command("api_token", "admin")
    first = capsys.readouterr().out.strip()
    call_command("api_token", "admin")
    assert capsys.readouterr().out.strip() == first == Token.objects.get(user=admin_user).key


def test_api_token_refuses_an_unknown_user():
    with pytest.raises(CommandError, match="No user"):
        call_command("api_token", "nobody")


def test_an_unknown_object_answers_404(staff):
    assert staff.get(f"{V1}/organizations/999999/").status_code == 404
    assert staff.post(f"{V1}/accounts/999999/disable/").status_code == 404


# --- organisations ---------------------------------------------------------------------------


def test_an_organisation_is_created_under_a_parent(staff):
    company = make_org("Company", code="co")
    response = staff.post(
        f"{V1}/organizations/", {"name": "R&D", "code": "rd", "parent": company.pk, "order": 2}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["code"], body["parent"], body["order"]) == (
        "R&D",
        "rd",
        company.pk,
        2,
    )
    assert body["path"] == f"/{company.pk}/{body['id']}/"


def test_organisations_are_listed_by_parent_roots_and_search(staff):
    company = make_org("Company", code="co")
    make_org("Sales", parent=company, code="sales")
    make_org("Other")
    names = lambda url: sorted(o["name"] for o in results(staff.get(url)))  # noqa: E731
    assert names(f"{V1}/organizations/?parent={company.pk}") == ["Sales"]
    assert names(f"{V1}/organizations/?roots=true") == ["Company", "Other"]
    assert names(f"{V1}/organizations/?q=SAL") == ["Sales"]


def test_a_bad_filter_value_answers_400(staff):
    response = staff.get(f"{V1}/organizations/?parent=abc")
    assert response.status_code == 400
    assert "parent" in response.json()


def test_an_organisation_is_renamed_with_put_and_patch(staff):
    org = make_org("Company", code="co")
    response = staff.put(f"{V1}/organizations/{org.pk}/", {"name": "Corp", "code": "c", "order": 1})
    assert response.status_code == 200, response.content
    response = staff.patch(f"{V1}/organizations/{org.pk}/", {"order": 7})
    assert response.status_code == 200
    org.refresh_from_db()
    assert (org.name, org.code, org.order) == ("Corp", "c", 7)


def test_a_name_dingtalk_refuses_answers_400_on_the_name(staff):
    response = staff.post(f"{V1}/organizations/", {"name": "R-D"})
    assert response.status_code == 400
    assert "department name" in response.json()["name"][0]


def test_a_sibling_with_the_same_name_answers_400_on_the_name(staff):
    make_org("Company")
    response = staff.post(f"{V1}/organizations/", {"name": "Company"})
    assert response.status_code == 400
    assert "already has this name" in response.json()["name"][0]


def test_an_organisation_moves_under_another(staff):
    a, b = make_org("A"), make_org("B")
    response = staff.post(f"{V1}/organizations/{b.pk}/move/", {"parent": a.pk})
    assert response.status_code == 200, response.content
    assert response.json()["path"] == f"/{a.pk}/{b.pk}/"
    response = staff.post(f"{V1}/organizations/{b.pk}/move/", {"parent": None})
    assert response.json()["parent"] is None


def test_a_move_into_its_own_subtree_answers_400_on_the_parent(staff):
    top = make_org("Top")
    child = make_org("Child", parent=top)
    response = staff.post(f"{V1}/organizations/{top.pk}/move/", {"parent": child.pk})
    assert response.status_code == 400
    assert "inside its own subtree" in response.json()["parent"][0]


def test_a_move_to_an_unknown_parent_answers_400(staff):
    org = make_org("Top")
    response = staff.post(f"{V1}/organizations/{org.pk}/move/", {"parent": 999999})
    assert response.status_code == 400 and "parent" in response.json()


def test_an_organisation_with_children_is_not_deleted(staff):
    top = make_org("Top")
    leaf = make_org("Leaf", parent=top)
    response = staff.delete(f"{V1}/organizations/{top.pk}/")
    assert response.status_code == 400
    assert "sub-organisation" in response.json()["detail"]
    assert staff.delete(f"{V1}/organizations/{leaf.pk}/").status_code == 204
    assert not Organization.objects.filter(pk=leaf.pk).exists()


# --- accounts --------------------------------------------------------------------------------


def test_an_account_is_created_with_its_organisations(staff):
    a, b = make_org("A"), make_org("B")
    body = {
        "username": "ann",
        "display_name": "Ann",
        "mobile": "13800138000",
        "email": "ann@example.com",
        "hired_date": "2024-03-01",
        "extra": {"cost_center": "R&D"},
        "organizations": [a.pk, b.pk],
        "primary": b.pk,
    }
    response = staff.post(f"{V1}/accounts/", body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "active" and data["extra"] == {"cost_center": "R&D"}
    primary = [m["organization"] for m in data["memberships"] if m["primary"]]
    assert primary == [b.pk] and len(data["memberships"]) == 2


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("mobile", "12345", "mainland mobile"),
        ("mobile", "+0-1234", "does not start with a country code in use"),
        ("mobile", "+852-41234567", "not a mobile number in use under country code +852"),
        ("username", "-bad name", "DingTalk userid rules"),
        ("email", "not-an-email", "valid email"),
    ],
)
def test_a_bad_value_answers_400_on_its_field(staff, field, value, words):
    body = {"username": "bob", "display_name": "Bob", field: value}
    response = staff.post(f"{V1}/accounts/", body)
    assert response.status_code == 400
    assert words in response.json()[field][0]


def test_a_mobile_is_stored_and_answered_in_the_normal_form(staff):
    body = {"username": "bob", "display_name": "Bob", "mobile": "+86 139 5005 2493"}
    response = staff.post(f"{V1}/accounts/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["mobile"] == "13950052493"
    pk = response.json()["id"]
    response = staff.patch(f"{V1}/accounts/{pk}/", {"mobile": "00852 6123 4567"}, format="json")
    assert response.json()["mobile"] == "+852-61234567"


@pytest.mark.parametrize("typed", ["+86-13950052493", "8613950052493"])
def test_another_accounts_number_in_another_spelling_answers_400_on_the_mobile(staff, typed):
    make_account("ann", mobile="13950052493")
    body = {"username": "bob", "display_name": "Bob", "mobile": typed}
    response = staff.post(f"{V1}/accounts/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"mobile": ["Another account already uses this mobile."]}
    bob = make_account("bob")
    response = staff.patch(f"{V1}/accounts/{bob.pk}/", {"mobile": typed}, format="json")
    assert response.json() == {"mobile": ["Another account already uses this mobile."]}


def test_a_duplicate_email_answers_400_on_the_email(staff):
    make_account("ann", email="same@example.com")
    body = {"username": "bob", "display_name": "Bob", "email": "same@example.com"}
    response = staff.post(f"{V1}/accounts/", body)
    assert response.status_code == 400
    assert response.json() == {"email": ["Another account already uses this email."]}


def test_accounts_are_listed_paginated_and_filtered(staff):
    org = make_org("Team")
    for n in range(3):
        make_account(f"member{n}", orgs=[org])
    loner = make_account("loner", display_name="Lonely Person")
    staff.post(f"{V1}/accounts/{loner.pk}/disable/")
    page = staff.get(f"{V1}/accounts/?page_size=2").json()
    assert page["count"] == 4 and len(page["results"]) == 2 and page["next"]
    usernames = lambda url: [a["username"] for a in results(staff.get(url))]  # noqa: E731
    assert usernames(f"{V1}/accounts/?organization={org.pk}") == ["member0", "member1", "member2"]
    assert usernames(f"{V1}/accounts/?status=disabled") == ["loner"]
    assert usernames(f"{V1}/accounts/?q=lonely") == ["loner"]
    assert usernames(f"{V1}/accounts/?organization=999999") == []


def test_an_account_is_updated_with_patch_and_put(staff):
    ann = make_account("ann", title="Engineer")
    response = staff.patch(f"{V1}/accounts/{ann.pk}/", {"title": "Lead"})
    assert response.status_code == 200, response.content
    assert response.json()["title"] == "Lead"
    response = staff.put(f"{V1}/accounts/{ann.pk}/", {"display_name": "Ann B", "work_place": "HZ"})
    assert response.status_code == 200
    ann.refresh_from_db()
    assert (ann.display_name, ann.title, ann.work_place) == ("Ann B", "Lead", "HZ")


def test_a_username_cannot_change(staff):
    ann = make_account("ann")
    response = staff.patch(f"{V1}/accounts/{ann.pk}/", {"username": "anna"})
    assert response.status_code == 400
    assert "cannot change" in response.json()["detail"]


def test_an_account_is_disabled_enabled_and_deleted(staff):
    ann = make_account("ann")
    assert staff.post(f"{V1}/accounts/{ann.pk}/disable/").json()["status"] == "disabled"
    assert staff.post(f"{V1}/accounts/{ann.pk}/enable/").json()["status"] == "active"
    assert staff.delete(f"{V1}/accounts/{ann.pk}/").status_code == 204
    assert not Account.objects.filter(pk=ann.pk).exists()


def test_an_account_update_through_the_api_queues_an_incremental_sync(staff):
    team = make_org("Team")
    ann = make_account("ann", orgs=[team])
    provider = offline_provider([(team, 1)], incremental_enabled=True)
    PendingChange.objects.all().delete()
    response = staff.patch(f"{V1}/accounts/{ann.pk}/", {"title": "Lead"})
    assert response.status_code == 200
    change = PendingChange.objects.get()
    assert (change.provider_id, change.object_type, change.object_id) == (
        provider.pk,
        "account",
        ann.pk,
    )


# --- memberships -----------------------------------------------------------------------------


def test_memberships_are_added_listed_made_primary_and_removed(staff):
    a, b = make_org("A"), make_org("B")
    ann = make_account("ann", orgs=[a])
    response = staff.post(
        f"{V1}/memberships/", {"account": ann.pk, "organization": b.pk, "order": 1}
    )
    assert response.status_code == 201, response.content
    added = response.json()
    assert added["primary"] is False and added["organization_code"] is None
    listed = results(staff.get(f"{V1}/memberships/?account={ann.pk}"))
    assert [m["organization"] for m in listed] == [a.pk, b.pk]
    assert results(staff.get(f"{V1}/memberships/?organization={b.pk}"))[0]["id"] == added["id"]
    assert staff.post(f"{V1}/memberships/{added['id']}/make_primary/").json()["primary"] is True
    assert staff.delete(f"{V1}/memberships/{added['id']}/").status_code == 204
    assert Membership.objects.get(account=ann).is_primary  # A became primary again


def test_a_second_membership_in_the_same_organisation_answers_400(staff):
    a = make_org("A")
    ann = make_account("ann", orgs=[a])
    response = staff.post(f"{V1}/memberships/", {"account": ann.pk, "organization": a.pk})
    assert response.status_code == 400
    assert "already a member" in response.json()["detail"]


# --- bulk upsert -----------------------------------------------------------------------------


def test_accounts_bulk_upsert_creates_updates_and_skips_unchanged(staff):
    make_org("A", code="a")
    make_org("B", code="b")
    make_account("ann", title="Engineer")
    make_account("carl", display_name="Carl")
    items = [
        {"username": "ann", "title": "Lead", "organizations": ["b", "a"]},
        {"username": "bob", "display_name": "Bob", "mobile": "13900139000", "organizations": ["a"]},
        {"username": "carl", "display_name": "Carl"},
    ]
    response = staff.post(f"{V1}/accounts/bulk_upsert/", items, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["updated"], body["unchanged"]) == (1, 1, 1)
    assert [i["action"] for i in body["items"]] == ["updated", "created", "unchanged"]
    ann = Account.objects.get(username="ann")
    assert ann.title == "Lead"
    primary = ann.memberships.get(is_primary=True).organization.code
    assert primary == "b" and ann.memberships.count() == 2


def test_accounts_bulk_upsert_is_all_or_nothing_with_errors_by_index_and_field(staff):
    make_account("taken", email="taken@example.com")
    items = [
        {"username": "new1", "display_name": "New 1"},
        {"username": "new2", "display_name": "New 2", "mobile": "123"},
        {"username": "new3", "display_name": "New 3", "email": "taken@example.com"},
    ]
    response = staff.post(f"{V1}/accounts/bulk_upsert/", items, format="json")
    assert response.status_code == 400
    body = response.json()
    assert "nothing was written" in body["detail"]
    assert [(e["index"], e["field"]) for e in body["errors"]] == [(1, "mobile"), (2, "email")]
    assert not Account.objects.filter(username__startswith="new").exists()


def test_accounts_bulk_upsert_stores_mobiles_in_the_normal_form(staff):
    make_account("ann", mobile="13950052493")
    items = [
        {"username": "ann", "mobile": "+86-13950052493"},  # the same number: unchanged
        {"username": "bob", "display_name": "Bob", "mobile": "+852 6123 4567"},
    ]
    response = staff.post(f"{V1}/accounts/bulk_upsert/", items, format="json")
    assert response.status_code == 200, response.content
    assert [i["action"] for i in response.json()["items"]] == ["unchanged", "created"]
    assert Account.objects.get(username="bob").mobile == "+852-61234567"


def test_accounts_bulk_upsert_refuses_one_number_twice_in_any_spelling(staff):
    make_account("ann", mobile="13950052493")
    items = [
        {"username": "bob", "display_name": "Bob", "mobile": "13800138000"},
        {"username": "carl", "display_name": "Carl", "mobile": "+86 138 0013 8000"},
        {"username": "dan", "display_name": "Dan", "mobile": "+86-13950052493"},
        {"username": "eve", "display_name": "Eve", "mobile": "+0-1234"},
    ]
    response = staff.post(f"{V1}/accounts/bulk_upsert/", items, format="json")
    assert response.status_code == 400
    errors = [(e["index"], e["field"], e["message"]) for e in response.json()["errors"]]
    assert errors[:2] == [
        (
            1,
            "mobile",
            "“+86 138 0013 8000” is the same number as “13800138000” on index 0 (13800138000).",
        ),
        (
            2,
            "mobile",
            "“+86-13950052493” is the number of the existing account “ann” (13950052493).",
        ),
    ]
    assert errors[2][:2] == (3, "mobile")
    assert errors[2][2].startswith("“+0-1234” does not start with a country code in use.")
    assert len(errors) == 3
    assert not Account.objects.exclude(username="ann").exists()


def test_accounts_bulk_upsert_refuses_shapes_duplicates_and_unknown_codes(staff):
    items = [
        {"username": "x", "display_name": "X", "organizations": ["nope"]},
        {"username": "x", "display_name": "X again"},
        {"display_name": "No username"},
    ]
    response = staff.post(f"{V1}/accounts/bulk_upsert/", items, format="json")
    assert response.status_code == 400
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(2, "username")]
    response = staff.post(f"{V1}/accounts/bulk_upsert/", items[:2], format="json")
    errors = [(e["index"], e["field"]) for e in response.json()["errors"]]
    assert errors == [(0, "organizations"), (1, "username")]
    response = staff.post(f"{V1}/accounts/bulk_upsert/", {"username": "x"}, format="json")
    assert response.status_code == 400
    assert staff.post(f"{V1}/accounts/bulk_upsert/", [], format="json").status_code == 400


def test_organizations_bulk_upsert_writes_parents_first_and_moves(staff):
    old = make_org("Old", code="old")
    items = [
        {"code": "team", "name": "Team", "parent": "co"},
        {"code": "co", "name": "Company", "order": 1},
        {"code": "old", "parent": "co"},
    ]
    response = staff.post(f"{V1}/organizations/bulk_upsert/", items, format="json")
    assert response.status_code == 200, response.content
    assert [i["action"] for i in response.json()["items"]] == ["created", "created", "updated"]
    company = Organization.objects.get(code="co")
    assert Organization.objects.get(code="team").parent_id == company.pk
    old.refresh_from_db()
    assert old.parent_id == company.pk and old.path == f"/{company.pk}/{old.pk}/"


def test_organizations_bulk_upsert_reports_cycles_and_unknown_parents_and_writes_nothing(staff):
    items = [
        {"code": "a", "name": "A", "parent": "b"},
        {"code": "b", "name": "B", "parent": "a"},
        {"code": "c", "name": "C", "parent": "missing"},
        {"code": "d", "name": "D"},
    ]
    response = staff.post(f"{V1}/organizations/bulk_upsert/", items, format="json")
    assert response.status_code == 400
    errors = [(e["index"], e["field"]) for e in response.json()["errors"]]
    assert errors == [(0, "parent"), (1, "parent"), (2, "parent")]
    assert not Organization.objects.exists()


def test_organizations_bulk_upsert_rolls_back_when_a_service_refuses_an_item(staff):
    top = make_org("Top", code="top")
    make_org("Child", parent=top, code="child")
    items = [
        {"code": "fresh", "name": "Fresh"},
        {"code": "top", "parent": "child"},
        {"code": "nameless"},
    ]
    response = staff.post(f"{V1}/organizations/bulk_upsert/", items, format="json")
    assert response.status_code == 400
    errors = [(e["index"], e["field"]) for e in response.json()["errors"]]
    assert errors == [(1, "parent"), (2, "name")]
    assert not Organization.objects.filter(code="fresh").exists()


def test_extra_attributes_that_cannot_be_stored_or_sent_answer_400(staff):
    for extra in ('{"k": "\\ud800"}', '{"\\udfff": 1}', '{"k": "a\\u0000b"}', '{"k": 1e400}'):
        body = '{"username": "ann", "display_name": "Ann", "extra": ' + extra + "}"
        response = staff.post(f"{V1}/accounts/", body, content_type="application/json")
        assert response.status_code == 400, extra
        assert "extra" in response.json()
    assert not Account.objects.exists()


def test_deeply_nested_extra_attributes_answer_400_naming_the_field(staff):
    for depth in (25, 450):
        body = '{"username": "ann", "display_name": "Ann", "extra": {"a": '
        body += "[" * depth + "]" * depth + "}}"
        response = staff.post(f"{V1}/accounts/", body, content_type="application/json")
        assert response.status_code == 400, depth
        assert "nests deeper than 20 levels" in response.json()["extra"][0]
    assert not Account.objects.exists()


def test_a_body_nested_too_deeply_to_parse_answers_400_not_500(staff):
    body = "[" * 100_000 + "]" * 100_000
    response = staff.post(f"{V1}/accounts/bulk_upsert/", body, content_type="application/json")
    assert response.status_code == 400
    assert "nests too deeply" in response.json()["detail"]


def test_extra_attributes_over_64_kib_answer_400(staff):
    big = {"username": "ann", "display_name": "Ann", "extra": {"notes": "x" * 70_000}}
    response = staff.post(f"{V1}/accounts/", big, format="json")
    assert response.status_code == 400
    assert "at most 65536 bytes" in response.json()["extra"][0]
    response = staff.post(f"{V1}/accounts/bulk_upsert/", [big], format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "extra"
    assert not Account.objects.exists()


def test_bulk_items_that_are_not_objects_are_reported_by_index(staff):
    response = staff.post(f"{V1}/accounts/bulk_upsert/", [1, "x"], format="json")
    assert response.status_code == 400
    assert [e["index"] for e in response.json()["errors"]] == [0, 1]
