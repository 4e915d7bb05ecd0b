"""Incremental runs end where a full sync would: regressions found from outside and by the
model-based test, each as a plain example against the sandbox over HTTP."""

import threading

import pytest
from django.db import connection

from dtconsole.access.services import SYSTEM
from dtconsole.directory import services as directory
from dtconsole.providers.services import provider_client
from dtconsole.sync import engine
from dtconsole.sync.models import SyncEvent, SyncJob, UserConflict, UserLink
from dtconsole.sync.services import sync_job_enqueue, sync_link_user, sync_object_enqueue
from tests.factories import make_account, make_org, make_provider
from tests.test_sync_engine import dingtalk, run_full, writes
from tests.test_sync_incremental import edit, run_queued

pytestmark = pytest.mark.django_db


def seed_dept(sandbox, provider, name: str, parent: int = 1) -> int:
    body = sandbox.control(
        "POST", "departments", corp_id=provider.corp_id, name=name, parent_id=parent
    )
    return body["dept_id"]


def seed_user(sandbox, provider, userid: str, mobile: str, depts=(1,), **fields) -> dict:
    return sandbox.control(
        "POST",
        "users",
        corp_id=provider.corp_id,
        userid=userid,
        name=fields.pop("name", userid),
        mobile=mobile,
        dept_id_list=list(depts),
        **fields,
    )


@pytest.fixture
def tree(sandbox):
    company = make_org("Company", code="co")
    a = make_org("A", parent=company, code="a")
    b = make_org("B", parent=company, code="b")
    child = make_org("Child", parent=b, code="child")
    ann = make_account("ann", orgs=[child], title="Engineer")
    outside = make_org("Outside", code="out")
    provider = make_provider(
        sandbox,
        sandbox.app(),
        [(company, 1)],
        incremental_enabled=True,
        deletion_threshold_percent=100,
    )
    assert run_full(provider).status == "succeeded"
    return {"provider": provider, "a": a, "b": b, "child": child, "ann": ann, "out": outside}


def ids_by_name(sandbox, provider) -> dict[str, int]:
    depts, _ = dingtalk(sandbox, provider.corp_id)
    return {d["name"]: d["dept_id"] for d in depts.values()}


def assert_a_full_sync_writes_nothing(sandbox, provider) -> None:
    sandbox.control("POST", "calls/reset")
    job = run_full(provider)
    assert job.status == "succeeded", job.error_text
    assert writes(sandbox.calls()) == 0, SyncEvent.objects.filter(job=job).values("source_key")


def test_moving_an_organisation_reaches_dingtalk_in_the_incremental_run(
    sandbox, tree, django_capture_on_commit_callbacks
):
    provider = tree["provider"]
    edit(django_capture_on_commit_callbacks, directory.organization_move, tree["child"], tree["a"])
    (job,) = run_queued()
    assert job.status == "succeeded", job.error_text
    depts, _ = dingtalk(sandbox, provider.corp_id)
    ids = ids_by_name(sandbox, provider)
    assert depts[ids["Child"]]["parent_id"] == ids["A"]
    assert_a_full_sync_writes_nothing(sandbox, provider)


def test_moving_an_organisation_out_of_scope_removes_its_member_then_its_department(
    sandbox, tree, django_capture_on_commit_callbacks
):
    provider = tree["provider"]
    edit(
        django_capture_on_commit_callbacks, directory.organization_move, tree["child"], tree["out"]
    )
    (job,) = run_queued()
    assert job.status == "succeeded", list(
        SyncEvent.objects.filter(job=job, status="failed").values_list("detail", flat=True)
    )
    depts, users = dingtalk(sandbox, provider.corp_id)
    assert "ann" not in users and "Child" not in {d["name"] for d in depts.values()}
    assert_a_full_sync_writes_nothing(sandbox, provider)


def test_a_subtree_moved_twice_then_out_of_scope_is_deleted_children_first(
    sandbox, tree, django_capture_on_commit_callbacks
):
    """Found by the model-based test: after a move, a child's link still held its old depth,
    and deleting the moved subtree tried the parent first (60006)."""
    provider, b, child = tree["provider"], tree["b"], tree["child"]
    grandchild = edit(
        django_capture_on_commit_callbacks,
        directory.organization_create,
        name="Grandchild",
        parent=child,
        code="gc",
    )
    run_queued()
    edit(django_capture_on_commit_callbacks, directory.organization_move, b, tree["a"])
    run_queued()  # B moves (its link's depth is updated); Child and Grandchild do not move
    edit(django_capture_on_commit_callbacks, directory.organization_move, b, tree["out"])
    (job,) = run_queued()
    assert job.status == "succeeded", list(
        SyncEvent.objects.filter(job=job, status="failed").values_list("detail", flat=True)
    )
    names = set(ids_by_name(sandbox, provider))
    assert not {"B", "Child", grandchild.name} & names
    assert_a_full_sync_writes_nothing(sandbox, provider)


@pytest.fixture
def targeted(sandbox):
    """A scope targeting a department under the root, and a DingTalk department outside it."""
    company = make_org("Company", code="co")
    team = make_org("Team", parent=company, code="team")
    other = make_org("Other", parent=company, code="other")
    ann = make_account("ann", orgs=[team])
    provider = make_provider(sandbox, sandbox.app(), [], incremental_enabled=True)
    target = seed_dept(sandbox, provider, "Scoped")
    elsewhere = seed_dept(sandbox, provider, "Elsewhere")
    provider.scopes.create(organization=company, target_dept_id=target, placement="merge")
    assert run_full(provider).status == "succeeded"
    team_dept = ids_by_name(sandbox, provider)["Team"]
    with provider_client(provider) as client:  # an admin adds ann to a department we don't manage
        client.user_update("ann", {"dept_id_list": [team_dept, elsewhere]})
    return {"provider": provider, "ann": ann, "other": other, "elsewhere": elsewhere}


def test_an_incremental_edit_keeps_a_department_outside_every_target(
    sandbox, targeted, django_capture_on_commit_callbacks
):
    provider, ann = targeted["provider"], targeted["ann"]
    edit(django_capture_on_commit_callbacks, directory.account_update, ann, title="Lead")
    assert run_queued()[0].status == "succeeded"
    _, users = dingtalk(sandbox, provider.corp_id)
    assert targeted["elsewhere"] in users["ann"]["dept_ids"]
    assert users["ann"]["title"] == "Lead"
    assert_a_full_sync_writes_nothing(sandbox, provider)


def test_an_incremental_membership_change_keeps_a_department_outside_every_target(
    sandbox, targeted, django_capture_on_commit_callbacks
):
    provider, ann = targeted["provider"], targeted["ann"]
    edit(
        django_capture_on_commit_callbacks,
        directory.membership_add,
        ann,
        targeted["other"],
        primary=True,
    )
    assert run_queued()[0].status == "succeeded"
    _, users = dingtalk(sandbox, provider.corp_id)
    other_dept = ids_by_name(sandbox, provider)["Other"]
    assert sorted(users["ann"]["dept_ids"]) == sorted([other_dept, targeted["elsewhere"]])
    assert_a_full_sync_writes_nothing(sandbox, provider)


def test_adopting_through_a_create_conflict_records_what_dingtalk_held(
    sandbox, tree, django_capture_on_commit_callbacks
):
    provider = tree["provider"]
    seed_user(sandbox, provider, "dt_pre_panna", "13950050001", name="潘娜（旧）")
    edit(
        django_capture_on_commit_callbacks,
        make_account_as,
        "panna",
        orgs=[tree["a"]],
        display_name="潘娜",
        mobile="13950050001",
    )
    (job,) = run_queued()
    event = SyncEvent.objects.get(job=job, source_key="panna")
    assert event.action == "match" and event.status == "success"
    assert event.dingtalk_id == "dt_pre_panna"
    assert "userid" not in event.changes
    assert event.changes["name"] == ["潘娜（旧）", "潘娜"]
    assert UserLink.objects.get(userid="dt_pre_panna").origin == "adopted"
    assert_a_full_sync_writes_nothing(sandbox, provider)


def make_account_as(actor, username, **fields):
    """``make_account`` in the shape ``edit`` calls a service: actor first."""
    return make_account(username, **fields)


def test_a_mobile_another_dingtalk_user_holds_is_a_conflict_that_names_them(
    sandbox, tree, django_capture_on_commit_callbacks
):
    provider, ann = tree["provider"], tree["ann"]
    seed_user(sandbox, provider, "stranger", "13950050002", name="陌生人")
    edit(django_capture_on_commit_callbacks, directory.account_update, ann, mobile="13950050002")
    (job,) = run_queued()
    failed = SyncEvent.objects.get(job=job, source_key="ann")
    assert failed.status == "failed" and failed.errcode == "60104"
    assert "陌生人" in failed.text and "stranger" in failed.text
    assert "link the account to that DingTalk user" in failed.text
    assert failed.hint_text  # DingTalk's fix hint, in the reader's language
    conflict = UserConflict.objects.get(account_ref=ann.pk)
    assert (conflict.field, conflict.holder_userid) == ("mobile", "stranger")

    # The mobile is not sent again while it conflicts; everything else still goes out.
    sandbox.control("POST", "calls/reset")
    edit(django_capture_on_commit_callbacks, directory.account_update, ann, title="Lead")
    (job,) = run_queued()
    assert job.status == "succeeded", job.error_text
    _, users = dingtalk(sandbox, provider.corp_id)
    assert users["ann"]["title"] == "Lead" and users["ann"]["mobile"] != "13950050002"
    note = SyncEvent.objects.get(job=job, source_key="ann")
    assert "already has the mobile" in note.text and "mobile" not in note.changes

    # A new value ends the conflict.
    edit(django_capture_on_commit_callbacks, directory.account_update, ann, mobile="13950050003")
    (job,) = run_queued()
    assert job.status == "succeeded"
    assert dingtalk(sandbox, provider.corp_id)[1]["ann"]["mobile"] == "13950050003"
    assert not UserConflict.objects.exists()


def test_a_conflicting_account_can_be_linked_to_the_dingtalk_user_holding_its_mobile(
    sandbox, tree, admin_user, django_capture_on_commit_callbacks
):
    provider = tree["provider"]
    provider.match_keys = ["userid"]  # the holder cannot be adopted by mobile
    provider.save()
    seed_user(sandbox, provider, "stranger", "13950050002", name="陌生人")
    kim = edit(
        django_capture_on_commit_callbacks,
        make_account_as,
        "kim",
        orgs=[tree["a"]],
        mobile="13950050002",
        title="Accountant",
    )
    (job,) = run_queued()
    assert SyncEvent.objects.get(job=job, source_key="kim").status == "failed"
    assert UserConflict.objects.get(account_ref=kim.pk).holder_userid == "stranger"
    job = sync_link_user(admin_user, provider, kim, "stranger")
    engine.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_text
    link = UserLink.objects.get(account_ref=kim.pk)
    assert link.userid == "stranger" and link.origin == "adopted"
    assert not UserConflict.objects.exists()
    assert dingtalk(sandbox, provider.corp_id)[1]["stranger"]["title"] == "Accountant"
    assert_a_full_sync_writes_nothing(sandbox, provider)


def test_a_re_push_compares_with_what_dingtalk_holds(sandbox, tree, admin_user):
    provider, ann = tree["provider"], tree["ann"]
    job = sync_object_enqueue(admin_user, provider, "user", ann.pk)
    engine.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded"
    assert SyncEvent.objects.get(job=job).status == "skipped"  # nothing to send
    with provider_client(provider) as client:
        client.user_update("ann", {"title": "Changed in DingTalk"})
    job = sync_object_enqueue(admin_user, provider, "user", ann.pk)
    engine.run_job(job.pk)
    event = SyncEvent.objects.get(job=job, source_key="ann")
    assert event.changes == {"title": ["Changed in DingTalk", "Engineer"]}


def test_every_job_of_a_provider_shares_one_access_token(
    sandbox, tree, django_capture_on_commit_callbacks
):
    provider = tree["provider"]
    for title in ("One", "Two", "Three"):
        edit(django_capture_on_commit_callbacks, directory.account_update, tree["ann"], title=title)
        run_queued()
    run_full(provider)
    calls = sandbox.calls()[provider.app_key]
    fetched = calls.get("/v1.0/oauth2/accessToken", 0) + calls.get("/gettoken", 0)
    assert fetched == 1


def test_with_multi_organisation_off_a_primary_outside_the_scope_keeps_the_account_out(
    sandbox, tree, django_capture_on_commit_callbacks
):
    provider = tree["provider"]
    dan = edit(
        django_capture_on_commit_callbacks,
        make_account_as,
        "dan",
        orgs=[tree["out"], tree["a"]],  # primary: Outside
    )
    run_queued()
    assert "dan" not in dingtalk(sandbox, provider.corp_id)[1]
    assert run_full(provider).counters.get("user_create", 0) == 0
    edit(
        django_capture_on_commit_callbacks,
        directory.membership_set_primary,
        dan.memberships.get(organization=tree["a"]),
    )
    run_queued()
    _, users = dingtalk(sandbox, provider.corp_id)
    assert users["dan"]["dept_ids"] == [ids_by_name(sandbox, provider)["A"]]
    assert_a_full_sync_writes_nothing(sandbox, provider)


def test_an_under_scope_makes_the_organisation_a_department_under_the_target(sandbox):
    finance = make_org("财务中心", code="fin")
    make_org("会计部", parent=finance, code="acc")
    make_account("lin", orgs=[finance])
    provider = make_provider(sandbox, sandbox.app(), [(finance, 1)], placement="under")
    assert run_full(provider).status == "succeeded"
    depts, users = dingtalk(sandbox, provider.corp_id)
    ids = {d["name"]: d for d in depts.values()}
    assert ids["财务中心"]["parent_id"] == 1
    assert ids["会计部"]["parent_id"] == ids["财务中心"]["dept_id"]
    assert users["lin"]["dept_ids"] == [ids["财务中心"]["dept_id"]]
    assert_a_full_sync_writes_nothing(sandbox, provider)


def test_a_job_handed_over_twice_is_claimed_once():
    company = make_org("Company")
    from tests.api_helpers import FAKE_APP, NO_SANDBOX

    provider = make_provider(NO_SANDBOX, FAKE_APP, [(company, 1)])
    job = sync_job_enqueue(SYSTEM, provider, kind="full", trigger="manual")
    first = engine._claim(job.pk)
    assert first is not None and first.status == "running"
    assert engine._claim(job.pk) is None


@pytest.mark.django_db(transaction=True)
def test_two_workers_given_the_same_job_at_once_run_it_once(sandbox):
    company = make_org("Company", code="co")
    for n in range(5):
        make_account(f"m{n}", orgs=[company])
    provider = make_provider(sandbox, sandbox.app(), [(company, 1)])
    job = sync_job_enqueue(SYSTEM, provider, kind="full", trigger="manual")
    start = threading.Barrier(2)

    def worker():
        start.wait()
        try:
            engine.run_job(job.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_text
    assert SyncEvent.objects.filter(job=job).count() == 5
    assert job.counters["user_create"] == 5
    assert sandbox.calls()[provider.app_key]["/topapi/v2/user/create"] == 5
    assert SyncJob.objects.get(pk=job.pk).started_at is not None
