"""The directory pages: access, CRUD through the services, errors, search, filters, speed."""

import json

import pytest
from django.urls import reverse

from dtconsole.directory.models import Account, Membership, Organization

from .factories import make_account, make_org

pytestmark = pytest.mark.django_db


@pytest.fixture
def sample():
    """A small directory: Head office > Sales > East, and one account in East."""
    head = make_org("Head office", code="HQ")
    sales = make_org("Sales", parent=head, code="SALES")
    east = make_org("East", parent=sales)
    account = make_account("zhang.wei", orgs=[east], display_name="Zhang Wei")
    return {"head": head, "sales": sales, "east": east, "account": account}


def url(name: str, *args) -> str:
    return reverse(f"directory:{name}", args=args)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- access ----------------------------------------------------------------------------------

PAGES = [
    ("org_tree", None),
    ("org_create", None),
    ("org_lookup", None),
    ("org_detail", "org"),
    ("org_children", "org"),
    ("org_edit", "org"),
    ("org_move", "org"),
    ("org_delete", "org"),
    ("account_list", None),
    ("account_create", None),
    ("account_detail", "account"),
    ("account_edit", "account"),
    ("account_disable", "account"),
    ("account_enable", "account"),
    ("account_delete", "account"),
    ("membership_add", "account"),
    ("membership_set_primary", "membership"),
    ("membership_remove", "membership"),
]


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(("name", "arg"), PAGES)
def test_anonymous_users_are_sent_to_the_login_page(client, sample, name, arg, method):
    args = {
        "org": [sample["sales"].pk],
        "account": [sample["account"].pk],
        "membership": [sample["account"].memberships.get().pk],
        None: [],
    }[arg]
    response = getattr(client, method)(url(name, *args))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert Organization.objects.count() == 3 and Account.objects.count() == 1


def test_every_directory_page_shows_the_directory_subnav(admin_client, sample):
    response = admin_client.get(url("account_list"))
    html = response.content.decode()
    assert 'class="subnav"' in html
    assert url("org_tree") in html and url("account_list") in html
    assert url("import") in html


@pytest.mark.parametrize("name", ["account_enable", "membership_add"])
def test_state_changing_pages_refuse_get(admin_client, sample, name):
    assert admin_client.get(url(name, sample["account"].pk)).status_code == 405


# --- the tree --------------------------------------------------------------------------------


def test_the_tree_shows_roots_expanded_with_their_children_and_member_counts(admin_client, sample):
    make_account(orgs=[sample["sales"]])
    response = admin_client.get(url("org_tree"))
    roots = response.context["nodes"]
    assert [n.org.name for n in roots] == ["Head office"]
    head = roots[0]
    assert head.expanded and [c.org.name for c in head.children] == ["Sales"]
    sales = head.children[0]
    assert (head.direct_members, head.subtree_members) == (0, 2)
    assert (sales.direct_members, sales.subtree_members, sales.child_count) == (1, 2, 1)
    html = response.content.decode()
    assert f'hx-get="{url("org_children", sample["sales"].pk)}"' in html
    assert "1 direct · 2 in subtree" in html


def test_the_children_partial_lists_a_nodes_children_with_their_counts(admin_client, sample):
    response = admin_client.get(url("org_children", sample["sales"].pk))
    assert response.status_code == 200
    nodes = response.context["nodes"]
    assert [(n.org.name, n.direct_members, n.subtree_members) for n in nodes] == [("East", 1, 1)]
    assert "<html" not in response.content.decode()


def test_the_children_partial_of_an_unknown_organisation_is_not_found(admin_client):
    assert admin_client.get(url("org_children", 999)).status_code == 404


def build_tree(roots: int, children: int, grandchildren: int) -> None:
    for r in range(roots):
        root = make_org(f"Root {r}")
        for c in range(children):
            child = make_org(f"Child {c}", parent=root)
            for g in range(grandchildren):
                make_account(orgs=[make_org(f"Leaf {g}", parent=child)])


@pytest.mark.parametrize(("roots", "children", "grandchildren"), [(1, 1, 1), (6, 5, 3)])
def test_the_tree_page_needs_the_same_few_queries_however_big_the_tree(
    admin_client, django_assert_max_num_queries, roots, children, grandchildren
):
    build_tree(roots, children, grandchildren)
    with django_assert_max_num_queries(6):
        response = admin_client.get(url("org_tree"))
    assert len(response.context["nodes"]) == roots


def test_the_children_partial_needs_the_same_few_queries_however_many_children(
    admin_client, django_assert_max_num_queries
):
    build_tree(1, 12, 2)
    root = Organization.objects.get(name="Root 0")
    with django_assert_max_num_queries(6):
        response = admin_client.get(url("org_children", root.pk))
    assert len(response.context["nodes"]) == 12
    assert all(n.subtree_members == 2 and n.child_count == 2 for n in response.context["nodes"])


def test_the_tree_search_finds_organisations_by_name_or_code_with_their_breadcrumb(
    admin_client, sample
):
    by_name = admin_client.get(url("org_tree"), {"q": "eas"}).context["matches"]
    assert [m.breadcrumb for m in by_name] == ["Head office / Sales / East"]
    by_code = admin_client.get(url("org_tree"), {"q": "sales"}).context["matches"]
    assert [m.org.code for m in by_code] == ["SALES"]
    none = admin_client.get(url("org_tree"), {"q": "nothing"})
    assert none.context["matches"] == [] and "No organisation" in none.content.decode()


def test_the_organisation_lookup_returns_picker_options(admin_client, sample):
    response = admin_client.get(url("org_lookup"), {"q": "East", "field": "parent"})
    html = response.content.decode()
    assert f'type="radio" name="parent" value="{sample["east"].pk}"' in html
    assert "Head office / Sales / East" in html


def test_the_organisation_lookup_in_checkbox_mode_offers_a_primary_choice(admin_client, sample):
    params = {"q": "Sales", "field": "organizations", "mode": "checkbox", "primary": "primary"}
    html = admin_client.get(url("org_lookup"), params).content.decode()
    assert f'type="checkbox" name="organizations" value="{sample["sales"].pk}"' in html
    assert f'type="radio" name="primary" value="{sample["sales"].pk}"' in html


def test_the_organisation_lookup_refuses_odd_field_names(admin_client, sample):
    params = {"q": "East", "field": '"><script>'}
    html = admin_client.get(url("org_lookup"), params).content.decode()
    assert "<script>" not in html and 'name="organization"' in html


# --- organisations ---------------------------------------------------------------------------


def test_creating_an_organisation_under_a_parent(admin_client, sample):
    form = admin_client.get(url("org_create"), {"parent": sample["sales"].pk})
    assert f'value="{sample["sales"].pk}" data-org checked' in form.content.decode()
    response = admin_client.post(
        url("org_create"), {"name": "West", "code": "W", "order": 2, "parent": sample["sales"].pk}
    )
    west = Organization.objects.get(name="West")
    assert response.status_code == 302 and response.url == url("org_detail", west.pk)
    assert west.parent_id == sample["sales"].pk and west.path.endswith(f"/{west.pk}/")


def test_creating_a_top_level_organisation(admin_client):
    response = admin_client.post(url("org_create"), {"name": "Branch", "order": 0, "parent": ""})
    assert response.status_code == 302
    assert Organization.objects.get(name="Branch").parent is None


def test_an_invalid_organisation_name_is_shown_next_to_the_field_and_nothing_is_written(
    admin_client, sample
):
    response = admin_client.post(url("org_create"), {"name": "Sales-East", "order": 0})
    assert response.status_code == 400
    assert "DingTalk does not accept" in response.context["form"].errors["name"][0]
    assert "DingTalk does not accept" in response.content.decode()
    assert Organization.objects.count() == 3


def test_a_duplicate_sibling_name_is_shown_next_to_the_name(admin_client, sample):
    response = admin_client.post(
        url("org_create"), {"name": "Sales", "order": 0, "parent": sample["head"].pk}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["name"] == [
        "Another organisation under the same parent already has this name."
    ]


def test_the_organisation_page_shows_breadcrumb_children_and_members(admin_client, sample):
    response = admin_client.get(url("org_detail", sample["sales"].pk))
    assert [a.name for a in response.context["ancestors"]] == ["Head office"]
    assert [c.name for c in response.context["children"]] == ["East"]
    assert (response.context["direct_members"], response.context["subtree_members"]) == (0, 1)
    east = admin_client.get(url("org_detail", sample["east"].pk))
    assert [a.name for a in east.context["ancestors"]] == ["Head office", "Sales"]
    assert "zhang.wei" in east.content.decode()


def test_the_organisation_page_paginates_its_members(admin_client):
    org = make_org("Big")
    for _ in range(55):
        make_account(orgs=[org])
    first = admin_client.get(url("org_detail", org.pk))
    assert len(first.context["members"].object_list) == 50
    second = admin_client.get(url("org_detail", org.pk), {"page": 2})
    assert len(second.context["members"].object_list) == 5


def test_editing_an_organisation(admin_client, sample):
    response = admin_client.post(
        url("org_edit", sample["sales"].pk), {"name": "Sales and marketing", "code": "", "order": 4}
    )
    assert response.status_code == 302
    sales = Organization.objects.get(pk=sample["sales"].pk)
    assert (sales.name, sales.code, sales.order) == ("Sales and marketing", None, 4)


def test_editing_an_organisation_with_an_invalid_code_writes_nothing(admin_client, sample):
    response = admin_client.post(
        url("org_edit", sample["sales"].pk), {"name": "Renamed", "code": "bad code", "order": 0}
    )
    assert response.status_code == 400
    assert "code" in response.context["form"].errors
    assert "Edit “Sales”" in response.content.decode()
    assert Organization.objects.get(pk=sample["sales"].pk).name == "Sales"


def test_moving_an_organisation_under_another_parent(admin_client, sample):
    other = make_org("Branch")
    response = admin_client.post(url("org_move", sample["sales"].pk), {"parent": other.pk})
    assert response.status_code == 302
    east = Organization.objects.get(pk=sample["east"].pk)
    assert east.path == f"/{other.pk}/{sample['sales'].pk}/{east.pk}/"


def test_moving_an_organisation_to_the_top_level(admin_client, sample):
    response = admin_client.post(url("org_move", sample["sales"].pk), {"parent": ""})
    assert response.status_code == 302
    assert Organization.objects.get(pk=sample["sales"].pk).parent is None


def test_moving_an_organisation_into_its_own_subtree_shows_the_refusal(admin_client, sample):
    response = admin_client.post(url("org_move", sample["head"].pk), {"parent": sample["east"].pk})
    assert response.status_code == 400
    assert "inside its own subtree" in response.context["form"].non_field_errors()[0]
    assert "inside its own subtree" in response.content.decode()
    assert Organization.objects.get(pk=sample["head"].pk).parent is None


def test_moving_without_choosing_a_destination_asks_for_one(admin_client, sample):
    response = admin_client.post(url("org_move", sample["sales"].pk), {})
    assert response.status_code == 400
    assert "Choose the new parent" in response.content.decode()


def test_the_delete_page_says_how_many_members_lose_the_membership(admin_client, sample):
    make_account(orgs=[sample["east"]])
    response = admin_client.get(url("org_delete", sample["east"].pk))
    assert "2 members lose this membership." in response.content.decode()


def test_deleting_an_organisation_keeps_its_accounts(admin_client, sample):
    response = admin_client.post(url("org_delete", sample["east"].pk), follow=True)
    assert not Organization.objects.filter(pk=sample["east"].pk).exists()
    assert Account.objects.filter(pk=sample["account"].pk).exists()
    assert "1 member(s) lost this membership" in messages_of(response)[0]
    assert response.redirect_chain[-1][0] == url("org_detail", sample["sales"].pk)


def test_deleting_an_organisation_with_children_shows_the_refusal(admin_client, sample):
    response = admin_client.post(url("org_delete", sample["sales"].pk), follow=True)
    assert Organization.objects.filter(pk=sample["sales"].pk).exists()
    assert "still has 1 sub-organisation" in messages_of(response)[0]


# --- accounts --------------------------------------------------------------------------------


def test_the_account_list_shows_accounts_with_their_primary_organisation(admin_client, sample):
    make_account(orgs=[sample["sales"], sample["east"]], display_name="Li Na")
    response = admin_client.get(url("account_list"))
    html = response.content.decode()
    rows = {
        a.display_name: a.primary_memberships[0].organization.name for a in response.context["page"]
    }
    assert rows == {"Zhang Wei": "East", "Li Na": "Sales"}
    assert "Zhang Wei" in html and 'class="badge active"' in html


@pytest.mark.parametrize("query", ["zhang w", "ZHANG.WEI", "13800999000", "zw@corp.example"])
def test_the_account_search_looks_in_name_username_mobile_and_email(admin_client, query):
    make_account(
        "zhang.wei", display_name="Zhang Wei", mobile="13800999000", email="zw@corp.example"
    )
    make_account("li.na", display_name="Li Na")
    page = admin_client.get(url("account_list"), {"q": query}).context["page"]
    assert [a.username for a in page] == ["zhang.wei"]


def test_search_results_come_in_the_same_order_as_the_unfiltered_list(admin_client):
    for username in ("Bo", "al", "Zed", "ann", "x", "9n"):  # mixed case: collation matters
        make_account(username, display_name=f"Team {username}")
    make_account("outsider", display_name="Someone")
    plain = [a.username for a in admin_client.get(url("account_list")).context["page"]]
    found = [
        a.username for a in admin_client.get(url("account_list"), {"q": "team"}).context["page"]
    ]
    assert found == [name for name in plain if name != "outsider"]
    assert len(found) == 6


def test_the_account_list_filters_by_organisation_with_or_without_sub_organisations(
    admin_client, sample
):
    make_account("in.sales", orgs=[sample["sales"]])
    make_account("elsewhere", orgs=[make_org("Other")])
    direct = admin_client.get(url("account_list"), {"org": sample["sales"].pk}).context["page"]
    assert [a.username for a in direct] == ["in.sales"]
    params = {"org": sample["sales"].pk, "include_sub": "on"}
    subtree = admin_client.get(url("account_list"), params).context["page"]
    assert [a.username for a in subtree] == ["in.sales", "zhang.wei"]


def test_an_account_in_two_organisations_of_a_subtree_is_listed_once(admin_client, sample):
    make_account("twice", orgs=[sample["sales"], sample["east"]])
    params = {"org": sample["head"].pk, "include_sub": "on"}
    page = admin_client.get(url("account_list"), params).context["page"]
    assert [a.username for a in page] == ["twice", "zhang.wei"]


def test_the_account_list_filters_by_status(admin_client, sample):
    off = make_account("off", status=Account.Status.DISABLED)
    page = admin_client.get(url("account_list"), {"status": "disabled"}).context["page"]
    assert [a.pk for a in page] == [off.pk]


def test_the_account_list_shows_50_accounts_a_page(admin_client):
    for n in range(120):
        make_account(f"user{n:03d}")
    first = admin_client.get(url("account_list")).context["page"]
    assert len(first) == 50 and first.paginator.num_pages == 3
    third = admin_client.get(url("account_list"), {"page": 3}).context["page"]
    assert [a.username for a in third][:2] == ["user100", "user101"] and len(third) == 20


def test_the_pagination_links_keep_the_filters(admin_client):
    for n in range(60):
        make_account(f"user{n:03d}", status=Account.Status.DISABLED)
    html = admin_client.get(url("account_list"), {"status": "disabled"}).content.decode()
    assert "?status=disabled&amp;page=2" in html


def test_the_account_list_needs_the_same_few_queries_for_a_full_page(
    admin_client, django_assert_max_num_queries
):
    orgs = [make_org() for _ in range(5)]
    for n in range(60):
        make_account(orgs=[orgs[n % 5]])
    with django_assert_max_num_queries(7):
        admin_client.get(url("account_list"))


def account_data(**overrides) -> dict:
    data = {
        "username": "li.na",
        "display_name": "Li Na",
        "mobile": "13912345678",
        "email": "li.na@example.com",
        "job_number": "E007",
        "title": "Engineer",
        "work_place": "Hangzhou",
        "hired_date": "2024-03-01",
        "status": "active",
        "extra": '{"cost_center": "A12"}',
    }
    return {**data, **overrides}


def test_creating_an_account_with_organisations_and_a_primary_one(admin_client, sample):
    data = account_data(organizations=[sample["sales"].pk, sample["east"].pk])
    data["primary"] = sample["east"].pk
    response = admin_client.post(url("account_create"), data)
    account = Account.objects.get(username="li.na")
    assert response.status_code == 302 and response.url == url("account_detail", account.pk)
    assert account.extra == {"cost_center": "A12"} and str(account.hired_date) == "2024-03-01"
    memberships = {m.organization_id: m.is_primary for m in account.memberships.all()}
    assert memberships == {sample["sales"].pk: False, sample["east"].pk: True}


def test_creating_an_account_without_organisations(admin_client):
    response = admin_client.post(url("account_create"), account_data(extra=""))
    assert response.status_code == 302
    assert Account.objects.get(username="li.na").extra == {}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('{"a": 1', "This is not valid JSON"),
        ("[1, 2]", "Enter a JSON object in braces"),
        ('{"a": ' + "[" * 5000 + "]" * 5000 + "}", "nests deeper than 20 levels"),
        ('{"a": ' + "[" * 25 + "]" * 25 + "}", "nests deeper than 20 levels"),
        ('{"a": "' + "x" * 70_000 + '"}', "at most 65536 bytes"),
    ],
)
def test_extra_attributes_must_be_a_json_object(admin_client, extra, message):
    response = admin_client.post(url("account_create"), account_data(extra=extra))
    assert response.status_code == 400
    assert message in response.context["form"].errors["extra"][0]
    assert not Account.objects.exists()


def test_model_validation_errors_are_shown_next_to_their_fields_and_nothing_is_written(
    admin_client, sample
):
    data = account_data(username="-bad", mobile="12345", organizations=[sample["east"].pk])
    response = admin_client.post(url("account_create"), data)
    errors = response.context["form"].errors
    assert response.status_code == 400
    assert "DingTalk userid rules" in errors["username"][0]
    assert "“12345” is not a mainland mobile" in errors["mobile"][0]
    assert Account.objects.count() == 1 and Membership.objects.count() == 1
    html = response.content.decode()
    assert "is not a mainland mobile" in html
    assert f'value="{sample["east"].pk}" data-org checked' in html


def test_a_mobile_another_account_uses_is_refused_on_the_mobile_field(admin_client, sample):
    sample["account"].mobile  # noqa: B018
    data = account_data(mobile=sample["account"].mobile)
    response = admin_client.post(url("account_create"), data)
    assert response.context["form"].errors["mobile"] == [
        "Another account already uses this mobile."
    ]


def test_a_mobile_typed_in_another_spelling_is_saved_and_shown_in_the_normal_form(admin_client):
    response = admin_client.post(url("account_create"), account_data(mobile="+86 139 1234 5678"))
    account = Account.objects.get(username="li.na")
    assert response.status_code == 302 and account.mobile == "13912345678"
    assert "13912345678" in admin_client.get(url("account_detail", account.pk)).content.decode()
    form = admin_client.get(url("account_edit", account.pk)).context["form"]
    assert form["mobile"].value() == "13912345678"


def test_editing_a_mobile_into_another_spelling_stores_the_normal_form(admin_client, sample):
    data = account_data(mobile="00852 6123 4567", extra="{}")
    response = admin_client.post(url("account_edit", sample["account"].pk), data)
    assert response.status_code == 302
    assert Account.objects.get(pk=sample["account"].pk).mobile == "+852-61234567"


def test_another_accounts_number_in_another_spelling_is_refused_on_the_mobile_field(
    admin_client, sample
):
    data = account_data(mobile=f"+86-{sample['account'].mobile}")
    response = admin_client.post(url("account_create"), data)
    assert response.status_code == 400
    assert response.context["form"].errors["mobile"] == [
        "Another account already uses this mobile."
    ]
    assert not Account.objects.filter(username="li.na").exists()


def test_an_unknown_country_code_is_refused_on_the_mobile_field(admin_client):
    response = admin_client.post(url("account_create"), account_data(mobile="+0-1234"))
    (message,) = response.context["form"].errors["mobile"]
    assert message.startswith("“+0-1234” does not start with a country code in use.")
    assert response.context["form"]["mobile"].value() == "+0-1234"  # kept to be corrected


@pytest.mark.parametrize("query", ["+86-13800999000", "+86 138 0099 9000", "8613800999000"])
def test_the_account_search_finds_a_mobile_typed_in_another_spelling(admin_client, query):
    make_account("zhang.wei", mobile="13800999000")
    make_account("li.na", mobile="13800999001")
    page = admin_client.get(url("account_list"), {"q": query}).context["page"]
    assert [a.username for a in page] == ["zhang.wei"]


def test_the_account_page_lists_memberships_with_the_primary_badge(admin_client, sample):
    make_org("West", parent=sample["sales"])
    response = admin_client.get(url("account_detail", sample["account"].pk))
    rows = response.context["memberships"]
    assert [(r.place.breadcrumb, r.membership.is_primary) for r in rows] == [
        ("Head office / Sales / East", True)
    ]
    assert 'class="badge primary"' in response.content.decode()


def test_editing_an_account_keeps_its_username(admin_client, sample):
    account = sample["account"]
    form = admin_client.get(url("account_edit", account.pk))
    assert 'name="username"' in form.content.decode() and "disabled" in form.content.decode()
    data = account_data(username="someone.else", display_name="Zhang Wei Jr", extra="{}")
    response = admin_client.post(url("account_edit", account.pk), data)
    assert response.status_code == 302
    account = Account.objects.get(pk=account.pk)
    assert (account.username, account.display_name) == ("zhang.wei", "Zhang Wei Jr")


def test_editing_an_account_with_an_invalid_email_writes_nothing(admin_client, sample):
    data = account_data(email="nope", display_name="Changed")
    response = admin_client.post(url("account_edit", sample["account"].pk), data)
    assert response.status_code == 400 and "email" in response.context["form"].errors
    assert Account.objects.get(pk=sample["account"].pk).display_name == "Zhang Wei"


def test_disabling_and_enabling_an_account(admin_client, sample):
    pk = sample["account"].pk
    response = admin_client.post(url("account_disable", pk), follow=True)
    assert Account.objects.get(pk=pk).status == "disabled"
    assert messages_of(response) == ["Account “zhang.wei” disabled."]
    admin_client.post(url("account_enable", pk))
    assert Account.objects.get(pk=pk).status == "active"


def test_deleting_an_account_after_confirmation(admin_client, sample):
    pk = sample["account"].pk
    confirm = admin_client.get(url("account_delete", pk))
    assert "Its 1 membership goes with it." in confirm.content.decode()
    assert Account.objects.filter(pk=pk).exists()
    response = admin_client.post(url("account_delete", pk))
    assert response.url == url("account_list")
    assert not Account.objects.filter(pk=pk).exists()


# --- memberships -----------------------------------------------------------------------------


def test_adding_a_membership_then_making_it_primary_then_removing_it(admin_client, sample):
    account = sample["account"]
    response = admin_client.post(
        url("membership_add", account.pk),
        {"organization": sample["sales"].pk, "order": 1},
        follow=True,
    )
    assert messages_of(response) == ["Added to “Sales”."]
    added = account.memberships.get(organization=sample["sales"])
    assert not added.is_primary and added.order == 1
    admin_client.post(url("membership_set_primary", added.pk))
    assert account.memberships.get(is_primary=True).organization_id == sample["sales"].pk
    admin_client.post(url("membership_remove", added.pk))
    assert account.memberships.get(is_primary=True).organization_id == sample["east"].pk


def test_adding_a_membership_as_primary(admin_client, sample):
    account = sample["account"]
    data = {"organization": sample["sales"].pk, "primary": "on", "order": ""}
    admin_client.post(url("membership_add", account.pk), data)
    assert account.memberships.get(is_primary=True).organization_id == sample["sales"].pk


def test_adding_a_membership_twice_shows_the_refusal(admin_client, sample):
    account = sample["account"]
    response = admin_client.post(
        url("membership_add", account.pk), {"organization": sample["east"].pk}
    )
    assert response.status_code == 400
    assert "already a member" in response.content.decode()
    assert account.memberships.count() == 1


def test_adding_a_membership_without_an_organisation_asks_for_one(admin_client, sample):
    response = admin_client.post(url("membership_add", sample["account"].pk), {"order": 0})
    assert response.status_code == 400
    assert "organization" in response.context["form"].errors


def test_membership_actions_on_an_unknown_membership_are_not_found(admin_client):
    assert admin_client.post(url("membership_remove", 999)).status_code == 404


def test_the_account_create_form_keeps_the_chosen_organisations_after_an_error(
    admin_client, sample
):
    data = account_data(
        extra="oops", organizations=[sample["sales"].pk], primary=sample["sales"].pk
    )
    html = admin_client.post(url("account_create"), data).content.decode()
    assert f'name="organizations" value="{sample["sales"].pk}" data-org checked' in html
    assert f'name="primary" value="{sample["sales"].pk}" checked' in html
    assert json.dumps("oops")[1:-1] in html
