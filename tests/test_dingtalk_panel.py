"""Each account and organisation page shows its side in every provider's DingTalk: linked,
waiting for a sync, or out of scope by design; the last event; conflicts and their Link."""

import pytest
from django.urls import reverse

from dtconsole.access.services import SYSTEM
from dtconsole.directory import services as directory
from dtconsole.providers.models import IdentityProvider
from dtconsole.sync import queries
from dtconsole.sync.models import DepartmentLink, SyncJob, UserConflict, UserLink
from tests.factories import make_account, make_org, make_provider, make_user
from tests.test_sync_convergence import seed_user
from tests.test_sync_engine import run_full
from tests.test_sync_incremental import edit, run_queued
from tests.test_sync_pages import body, make_event, make_job
from tests.test_sync_pages import make_provider as make_bare_provider

pytestmark = pytest.mark.django_db


def sides_by_provider(sides) -> dict[str, str]:
    return {side.provider.name: side.state for side in sides}


def scoped(org, placement="under", **fields):
    fields.setdefault("step", IdentityProvider.Step.DONE)
    provider = make_bare_provider(fields.pop("name", "Acme"), **fields)
    provider.scopes.create(organization=org, target_dept_id=1, placement=placement)
    return provider


# --- states ----------------------------------------------------------------------------------


def test_an_account_is_linked_waiting_or_out_of_scope_per_provider():
    inside, outside = make_org("Inside"), make_org("Outside")
    acme, other = scoped(inside, name="Acme"), scoped(outside, name="Other")
    ann = make_account("ann", orgs=[inside])
    assert sides_by_provider(queries.account_dingtalk(ann)) == {
        "Acme": "waiting",
        "Other": "outside",
    }
    UserLink.objects.create(provider=acme, account=ann, account_ref=ann.pk, userid="ann")
    UserLink.objects.create(provider=other, account=ann, account_ref=ann.pk, userid="ann2")
    sides = {s.provider.name: s for s in queries.account_dingtalk(ann)}
    assert (sides["Acme"].state, sides["Acme"].dingtalk_id) == ("linked", "ann")
    assert sides["Other"].state == "leaving"  # linked, but no longer in that scope


@pytest.mark.parametrize(
    ("incremental", "when"), [(True, "the incremental sync removes it"), (False, "the next full")]
)
def test_a_linked_account_out_of_scope_says_which_run_removes_it(admin_client, incremental, when):
    inside, outside = make_org("Inside"), make_org("Outside")
    acme = scoped(inside, incremental_enabled=incremental)
    ann = make_account("ann", orgs=[outside])
    UserLink.objects.create(provider=acme, account=ann, account_ref=ann.pk, userid="ann")
    html = body(admin_client.get(reverse("directory:account_detail", args=[ann.pk])))
    assert "out of the provider&#x27;s scope now: " + when in html.replace("'", "&#x27;")


def test_a_disabled_account_is_out_of_every_scope():
    team = make_org("Team")
    scoped(team)
    ann = make_account("ann", orgs=[team])
    directory.account_set_status(SYSTEM, ann, "disabled")
    assert sides_by_provider(queries.account_dingtalk(ann)) == {"Acme": "outside"}


def test_only_the_primary_organisation_counts_unless_multiple_organisations_are_on():
    inside, elsewhere = make_org("Inside"), make_org("Elsewhere")
    ann = make_account("ann", orgs=[elsewhere, inside])  # primary: Elsewhere
    scoped(inside, name="Single")
    scoped(inside, name="Multi", multi_org_enabled=True)
    assert sides_by_provider(queries.account_dingtalk(ann)) == {
        "Multi": "waiting",
        "Single": "outside",
    }


def test_an_organisation_that_merges_into_its_target_stands_for_that_department():
    root = make_org("Root")
    team = make_org("Team", parent=root)
    provider = scoped(root, placement="merge")
    assert [s.target for s in queries.organization_dingtalk(root)] == [1]
    assert sides_by_provider(queries.organization_dingtalk(team)) == {"Acme": "waiting"}
    DepartmentLink.objects.create(
        provider=provider, organization=team, org_ref=team.pk, org_name="Team", dept_id=12
    )
    (side,) = queries.organization_dingtalk(team)
    assert (side.state, side.dingtalk_id) == ("linked", "12")
    assert sides_by_provider(queries.organization_dingtalk(make_org("Other"))) == {
        "Acme": "outside"
    }


# --- the pages -------------------------------------------------------------------------------


def test_the_account_page_shows_the_last_event_with_its_error_and_the_actions(admin_client):
    team = make_org("Team")
    provider = scoped(team)
    ann = make_account("ann", orgs=[team])
    make_event(make_job(provider), source_id=ann.pk, status="success")
    make_event(
        make_job(provider),
        source_id=ann.pk,
        status="failed",
        errcode="60104",
        message="The mobile %(mobile)s is taken.",
        message_args={"mobile": "13800000000"},
        detail="mobile already used",
    )
    html = body(admin_client.get(reverse("directory:account_detail", args=[ann.pk])))
    panel = html.split('id="dingtalk"')[1].split("</section>")[0]
    assert "The mobile 13800000000 is taken." in panel and "mobile already used" in panel
    assert "%(mobile)s" not in panel and "None" not in panel
    assert reverse("sync:object_timeline", args=["user", ann.pk]) in panel
    assert reverse("sync:object_repush", args=["user", ann.pk]) in panel
    assert "Re-push to Acme" in panel


def test_the_organisation_page_shows_its_department_and_history(admin_client):
    team = make_org("Team")
    provider = scoped(team)
    DepartmentLink.objects.create(
        provider=provider, organization=team, org_ref=team.pk, org_name="Team", dept_id=77
    )
    html = body(admin_client.get(reverse("directory:org_detail", args=[team.pk])))
    assert "Linked to department <code>77</code>" in html
    assert reverse("sync:object_timeline", args=["department", team.pk]) in html


def test_an_account_out_of_scope_says_so_and_offers_no_re_push(admin_client):
    scoped(make_org("Inside"))
    ann = make_account("ann", orgs=[make_org("Outside")])
    html = body(admin_client.get(reverse("directory:account_detail", args=[ann.pk])))
    assert "not in DingTalk by design" in html
    assert reverse("sync:object_repush", args=["user", ann.pk]) not in html


def test_extra_attributes_are_a_key_value_table(admin_client):
    ann = make_account("ann", extra={"badge": 7, "remote": True, "tags": ["a", "b"]})
    html = body(admin_client.get(reverse("directory:account_detail", args=[ann.pk])))
    table = html.split('id="extra-attributes"')[1].split("</table>")[0]
    assert "<code>badge</code>" in table and "<td>7</td>" in table
    assert "<td>yes</td>" in table and "<td>a, b</td>" in table
    assert "{" not in table and "True" not in table


def conflict(provider, account, **fields) -> UserConflict:
    fields.setdefault("field", "mobile")
    fields.setdefault("value", account.mobile)
    fields.setdefault("holder_userid", "stranger")
    fields.setdefault("holder_name", "陌生人")
    return UserConflict.objects.create(
        provider=provider, account=account, account_ref=account.pk, **fields
    )


@pytest.mark.parametrize(("role", "offered"), [("operator", False), ("administrator", True)])
def test_a_conflict_names_its_holder_and_only_administrators_may_link(client, role, offered):
    team = make_org("Team")
    provider = scoped(team)
    ann = make_account("ann", orgs=[team])
    conflict(provider, ann)
    client.force_login(make_user("someone", role))
    for url in (
        reverse("directory:account_detail", args=[ann.pk]),
        reverse("sync:object_timeline", args=["user", ann.pk]),
    ):
        html = body(client.get(url))
        assert "陌生人" in html and "<code>stranger</code>" in html and ann.mobile in html
        assert (reverse("sync:link_user", args=[ann.pk]) in html) is offered


# --- linking to the holder, against the sandbox -------------------------------------------------


@pytest.fixture
def conflicted(sandbox, django_capture_on_commit_callbacks):
    """kim's mobile is held by another DingTalk user ("stranger"): a conflict."""
    company = make_org("Company", code="co")
    provider = make_provider(sandbox, sandbox.app(), [(company, 1)], incremental_enabled=True)
    provider.match_keys = ["userid"]  # the holder cannot be adopted by mobile
    provider.save()
    assert run_full(provider).status == "succeeded"
    seed_user(sandbox, provider, "stranger", "13950050002", name="陌生人")
    kim = edit(
        django_capture_on_commit_callbacks,
        lambda actor, **kw: make_account("kim", **kw),
        orgs=[company],
        mobile="13950050002",
    )
    run_queued()
    assert UserConflict.objects.get(account_ref=kim.pk).holder_userid == "stranger"
    return provider, kim


def test_linking_a_conflict_links_the_holder_forgets_the_conflict_and_pushes_again(
    admin_client, conflicted
):
    provider, kim = conflicted
    page = reverse("directory:account_detail", args=[kim.pk])
    response = admin_client.post(
        reverse("sync:link_user", args=[kim.pk]),
        {"provider": provider.pk, "userid": "stranger", "next": page},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == page
    assert UserLink.objects.get(account_ref=kim.pk).userid == "stranger"
    assert not UserConflict.objects.exists()
    job = SyncJob.objects.latest("id")
    assert (job.kind, job.scope) == ("single", {"type": "user", "id": kim.pk})
    html = body(response)
    assert f"job #{job.pk} pushes it again" in html and "Linked to userid" in html


def test_linking_to_a_userid_dingtalk_does_not_know_is_refused_with_a_message(
    admin_client, conflicted
):
    provider, kim = conflicted
    response = admin_client.post(
        reverse("sync:link_user", args=[kim.pk]),
        {"provider": provider.pk, "userid": "nobody-here"},
        follow=True,
    )
    assert "DingTalk has no user with the userid nobody-here." in body(response)
    assert UserConflict.objects.filter(account_ref=kim.pk).exists()


def test_a_link_back_to_another_site_is_ignored(admin_client, conflicted):
    provider, kim = conflicted
    response = admin_client.post(
        reverse("sync:link_user", args=[kim.pk]),
        {"provider": provider.pk, "userid": "stranger", "next": "https://evil.example/"},
    )
    assert response.url == reverse("directory:account_detail", args=[kim.pk])
