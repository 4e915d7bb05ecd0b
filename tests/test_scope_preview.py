"""Step 3's live help: the DingTalk tree the scope rows would make (read from the directory,
the target's name from the sandbox, nothing written) and the organisation search."""

import pytest
from django.urls import reverse

from tests.factories import make_account, make_org, make_provider, make_user

pytestmark = pytest.mark.django_db

WRITE_PATHS = ("create", "update", "delete")


@pytest.fixture
def provider(sandbox):
    return make_provider(sandbox, sandbox.app(corp_name="全公司"), [])


@pytest.fixture
def finance():
    finance = make_org("财务中心", code="fin")
    make_account("ann", orgs=[finance])
    accounting = make_org("会计部", parent=finance, code="acc")
    make_account("bob", orgs=[accounting])
    make_org("Audit", parent=finance)
    make_org("Ledgers", parent=accounting)  # second level: not in the preview
    return finance


def rows(*entries) -> dict:
    data = {"scope-TOTAL_FORMS": str(len(entries)), "scope-INITIAL_FORMS": "0"}
    for i, (org, dept_id, placement) in enumerate(entries):
        data.update(
            {
                f"scope-{i}-organization": org,
                f"scope-{i}-target_dept_id": str(dept_id),
                f"scope-{i}-placement": placement,
            }
        )
    return data


def preview(client, provider, data) -> str:
    response = client.get(reverse("providers:scope_preview", args=[provider.pk]), data)
    assert response.status_code == 200
    return response.content.decode()


def test_under_shows_the_organisation_as_a_new_department_with_its_first_level_children(
    admin_client, provider, finance
):
    body = preview(admin_client, provider, rows(("fin", 1, "under")))
    assert "财务中心 becomes a new department under DingTalk department 1 全公司" in body
    tree = body[body.index('class="tree tree-preview"') :]
    assert tree.index("1 全公司") < tree.index("财务中心") < tree.index("会计部")
    assert "Audit" in tree and "Ledgers" not in tree
    assert '<li data-placement="under">' in tree and "2 people" in tree


def test_merge_shows_the_children_directly_under_the_target_and_the_members_joining_it(
    admin_client, provider, finance
):
    body = preview(admin_client, provider, rows(("fin", 1, "merge")))
    assert "The contents of 财务中心 merge into DingTalk department 1 全公司" in body
    tree = body[body.index('class="tree tree-preview"') :]
    assert "From 财务中心: 1 direct member joins this department" in tree
    assert tree.index("1 全公司") < tree.index("会计部")
    assert '<li data-placement="under">' not in tree


def test_rows_with_the_same_target_share_it_and_bad_rows_are_named(admin_client, provider, finance):
    sales = make_org("Sales", code="sales")
    data = rows(("fin", 1, "under"), ("sales", 1, "merge"), ("nope", 1, "under"))
    body = preview(admin_client, provider, data)
    assert body.count("1 全公司</strong>") == 1
    assert sales.name in body
    assert "Row 3: No organisation has the code or name “nope”." in body


def test_an_unknown_target_department_is_reported_in_the_preview(admin_client, provider, finance):
    body = preview(admin_client, provider, rows(("fin", 4242, "under")))
    assert "DingTalk has no department with id 4242" in body and "财务中心" in body


def test_the_preview_writes_nothing_to_dingtalk(admin_client, provider, finance, sandbox):
    sandbox.control("POST", "calls/reset")
    preview(admin_client, provider, rows(("fin", 1, "under"), ("fin", 1, "merge")))
    calls = sandbox.calls()[provider.app_key]
    assert calls and not [p for p in calls if p.rsplit("/", 1)[-1] in WRITE_PATHS]


def test_an_empty_form_asks_for_an_organisation(admin_client, provider):
    body = preview(admin_client, provider, rows(("", 1, "under")))
    assert "Enter an organisation to see the DingTalk tree it makes." in body


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_only_administrators_may_preview_since_it_reads_dingtalk_with_the_secret(
    client, provider, finance, role
):
    client.force_login(make_user(role, role))
    url = reverse("providers:scope_preview", args=[provider.pk])
    assert client.get(url, rows(("fin", 1, "under"))).status_code == 403


def test_the_search_lists_matches_as_buttons_that_carry_the_value_to_fill(admin_client):
    make_org("Engineering", code="eng")
    make_org("Engine room")
    response = admin_client.get(reverse("providers:org_search"), {"q": "engin"})
    body = response.content.decode()
    assert 'data-fill-org="eng"' in body and "Engineering" in body
    assert 'data-fill-org="#' in body and "Engine room" in body
    assert (
        "No organisation matches"
        in admin_client.get(reverse("providers:org_search"), {"q": "zzz"}).content.decode()
    )
