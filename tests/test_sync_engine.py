"""Full synchronisation against the DingTalk sandbox over HTTP."""

import pytest

from dtconsole.access.services import SYSTEM
from dtconsole.directory import services as directory
from dtconsole.providers.services import provider_client
from dtconsole.sync import engine
from dtconsole.sync.models import SyncEvent, SyncJob, UserLink
from dtconsole.sync.services import sync_job_approve, sync_job_enqueue
from tests.factories import make_account, make_org, make_provider

pytestmark = pytest.mark.django_db

WRITE_PATHS = ("create", "update", "delete")


def run_full(provider, **kw) -> SyncJob:
    job = sync_job_enqueue(SYSTEM, provider, kind="full", trigger="manual", **kw)
    engine.run_job(job.pk)
    job.refresh_from_db()
    return job


def writes(calls: dict) -> int:
    return sum(
        n
        for per_app in calls.values()
        for path, n in per_app.items()
        if path.rsplit("/", 1)[-1] in WRITE_PATHS
    )


def dingtalk(sandbox, corp_id):
    """(departments by id, users by userid) of the sandbox corp, from its state dump."""
    corp = next(c for c in sandbox.control("GET", "state")["corps"] if c["corp_id"] == corp_id)
    depts = {int(d["dept_id"]): d for d in corp["departments"]}
    return depts, {u["userid"]: u for u in corp["users"]}


@pytest.fixture
def tree():
    """company / (rd / (platform, mobile), sales) with people at each level."""
    company = make_org("Company", code="co")
    rd = make_org("研发中心", parent=company, code="rd")
    platform = make_org("Platform", parent=rd, code="pf")
    mobile = make_org("Mobile", parent=rd, code="mb")
    sales = make_org("Sales", parent=company, code="sa", order=5)
    people = {
        "ceo": make_account("ceo", orgs=[company], display_name="王芳"),
        "ann": make_account("ann", orgs=[platform], title="Engineer"),
        "bob": make_account("bob", orgs=[mobile, sales]),
        "cai": make_account("cai", orgs=[sales]),
    }
    return {
        "company": company,
        "rd": rd,
        "platform": platform,
        "mobile": mobile,
        "sales": sales,
        **people,
    }


@pytest.fixture
def provider(sandbox, tree):
    app = sandbox.app()
    return make_provider(sandbox, app, [(tree["company"], 1)])


def test_an_initial_sync_creates_the_tree_and_the_people(sandbox, provider, tree):
    job = run_full(provider)
    assert job.status == "succeeded", job.error
    depts, users = dingtalk(sandbox, provider.corp_id)
    names = {d["name"]: d for d in depts.values()}
    assert {"研发中心", "Platform", "Mobile", "Sales"} <= set(names)
    assert names["Platform"]["parent_id"] == names["研发中心"]["dept_id"]
    assert names["研发中心"]["parent_id"] == 1
    assert set(users) == {"ceo", "ann", "bob", "cai"}
    assert users["ann"]["dept_ids"] == [names["Platform"]["dept_id"]]
    assert users["ceo"]["dept_ids"] == [1]
    assert users["ann"]["title"] == "Engineer"
    assert job.counters["department_create"] == 4 and job.counters["user_create"] == 4


def test_a_second_run_makes_no_write_call(sandbox, provider):
    run_full(provider)
    sandbox.control("POST", "calls/reset")
    job = run_full(provider)
    assert job.status == "succeeded"
    assert writes(sandbox.calls()) == 0
    assert job.counters["unchanged"] == 8


def test_renames_moves_and_membership_changes_keep_ids(sandbox, provider, tree):
    run_full(provider)
    depts, _ = dingtalk(sandbox, provider.corp_id)
    ids = {d["name"]: d["dept_id"] for d in depts.values()}
    directory.organization_update(
        SYSTEM, tree["platform"], name="Platform Engineering", code="pf", order=0
    )
    directory.organization_move(SYSTEM, tree["mobile"], tree["sales"])
    directory.membership_add(SYSTEM, tree["cai"], tree["platform"], primary=True)
    job = run_full(provider)
    assert job.status == "succeeded", job.error
    depts, users = dingtalk(sandbox, provider.corp_id)
    assert depts[ids["Platform"]]["name"] == "Platform Engineering"
    assert depts[ids["Mobile"]]["parent_id"] == ids["Sales"]
    assert users["cai"]["dept_ids"] == [ids["Platform"]]


def test_multi_organisation_puts_people_in_every_in_scope_organisation(sandbox, provider, tree):
    run_full(provider)
    provider.multi_org_enabled = True
    provider.save()
    run_full(provider)
    depts, users = dingtalk(sandbox, provider.corp_id)
    ids = {d["name"]: d["dept_id"] for d in depts.values()}
    assert sorted(users["bob"]["dept_ids"]) == sorted([ids["Mobile"], ids["Sales"]])
    provider.multi_org_enabled = False
    provider.save()
    run_full(provider)
    _, users = dingtalk(sandbox, provider.corp_id)
    assert users["bob"]["dept_ids"] == [ids["Mobile"]]


def test_a_disabled_account_and_a_deleted_organisation_leave_dingtalk(sandbox, provider, tree):
    provider.deletion_threshold_percent = 100
    provider.save()
    run_full(provider)
    directory.account_set_status(SYSTEM, tree["ann"], "disabled")
    directory.account_delete(SYSTEM, tree["cai"])
    directory.membership_remove(SYSTEM, tree["bob"].memberships.get(organization=tree["sales"]))
    directory.organization_delete(SYSTEM, tree["sales"])
    job = run_full(provider)
    assert job.status == "succeeded", (
        job.error,
        list(SyncEvent.objects.filter(status="failed").values("message")),
    )
    depts, users = dingtalk(sandbox, provider.corp_id)
    assert "ann" not in users and "cai" not in users
    assert "Sales" not in {d["name"] for d in depts.values()}


@pytest.mark.parametrize("key", ["userid", "mobile", "email", "job_number"])
def test_an_existing_dingtalk_user_is_adopted_by_each_matching_key(sandbox, provider, tree, key):
    ann = tree["ann"]
    directory.account_update(SYSTEM, ann, job_number="E100")
    existing = {
        "userid": "dt-ann",
        "name": "Ann (DingTalk)",
        "mobile": "13911112222",
        "email": "old@example.com",
        "job_number": "E999",
        "dept_id_list": [1],
    }
    existing[
        {"userid": "userid", "mobile": "mobile", "email": "email", "job_number": "job_number"}[key]
    ] = {"userid": ann.username, "mobile": ann.mobile, "email": ann.email, "job_number": "E100"}[
        key
    ]
    sandbox.control("POST", "users", corp_id=provider.corp_id, **existing)
    provider.match_keys = [key]
    provider.save()
    job = run_full(provider)
    assert job.status == "succeeded", job.error
    link = UserLink.objects.get(account_ref=ann.pk)
    assert link.userid == existing["userid"]
    _, users = dingtalk(sandbox, provider.corp_id)
    assert users[existing["userid"]]["name"] == ann.display_name
    assert SyncEvent.objects.filter(source_id=ann.pk, action="match", status="success").exists()


def test_a_user_deleted_by_hand_in_dingtalk_is_recreated(sandbox, provider, tree):
    run_full(provider)
    with provider_client(provider) as client:  # as an admin would, in DingTalk's backend
        client.user_delete("ann")
    assert "ann" not in dingtalk(sandbox, provider.corp_id)[1]
    job = run_full(provider)
    assert job.status == "succeeded", job.error
    assert "ann" in dingtalk(sandbox, provider.corp_id)[1]
    assert SyncEvent.objects.filter(job=job, source_key="ann", status="success").exists()


def test_one_bad_account_fails_with_a_clear_event_while_the_others_succeed(sandbox, provider, tree):
    sandbox.control(
        "POST",
        "users",
        corp_id=provider.corp_id,
        userid="stranger",
        name="Stranger",
        mobile="13700001111",
        dept_id_list=[1],
    )
    directory.account_update(SYSTEM, tree["cai"], mobile="13700001111")
    provider.match_keys = ["userid"]
    provider.save()
    job = run_full(provider)
    assert job.status == "partial"
    failed = SyncEvent.objects.get(status="failed")
    assert failed.source_key == "cai" and "mobile" in failed.text
    _, users = dingtalk(sandbox, provider.corp_id)
    assert {"ceo", "ann", "bob"} <= set(users) and "cai" not in users


def test_a_mapping_error_fails_that_account_only(sandbox, provider, tree):
    directory.account_update(SYSTEM, tree["bob"], title="x" * 200)
    provider.field_mappings.filter(target="title").update(
        source_kind="expression", source="title + title"
    )
    job = run_full(provider)
    assert job.status == "partial"
    failed = SyncEvent.objects.get(status="failed")
    assert failed.source_key == "bob" and "title" in failed.text


def test_injected_faults_and_rate_limits_are_survived(sandbox, provider):
    sandbox.control("POST", "faults", path="/topapi/v2/user/create", count=2, kind="errcode_-1")
    sandbox.control(
        "POST", "faults", path="/topapi/v2/department/create", count=1, kind="errcode_90002"
    )
    sandbox.control("POST", "faults", path="/topapi/v2/user/list", count=1, kind="html_502")
    job = run_full(provider)
    assert job.status == "succeeded", job.error
    _, users = dingtalk(sandbox, provider.corp_id)
    assert len(users) == 4


def test_the_deletion_threshold_stops_a_run_until_approved(sandbox, provider, tree, admin_user):
    run_full(provider)
    provider.deletion_threshold_count = 1
    provider.deletion_threshold_percent = 100
    provider.save()
    directory.account_delete(SYSTEM, tree["ann"])
    directory.account_delete(SYSTEM, tree["cai"])
    job = run_full(provider)
    assert job.status == "awaiting_approval" and job.counters["pending_deletions"] == 2
    _, users = dingtalk(sandbox, provider.corp_id)
    assert "ann" in users
    sync_job_approve(admin_user, job)
    engine.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    _, users = dingtalk(sandbox, provider.corp_id)
    assert "ann" not in users and "cai" not in users


def test_a_dry_run_records_the_plan_and_writes_nothing(sandbox, provider):
    sandbox.control("POST", "calls/reset")
    job = run_full(provider, dry_run=True)
    assert job.status == "succeeded"
    assert writes(sandbox.calls()) == 0
    planned = SyncEvent.objects.filter(job=job, status="planned")
    assert planned.count() == 8
    assert planned.filter(object_type="user", action="create", source_key="ann").get().changes[
        "title"
    ] == [None, "Engineer"]


def test_a_wrong_secret_fails_the_run_with_advice(sandbox, provider):
    provider.set_app_secret("wrong-secret-0123456789")
    provider.save()
    job = run_full(provider)
    assert job.status == "failed" and "AppKey" in job.error_text + job.hint_text


@pytest.mark.django_db(transaction=True)
def test_users_applied_on_several_threads_all_arrive_once(sandbox, settings):
    settings.SYNC_THREADS = 4
    company = make_org("Company", code="co")
    teams = [make_org(f"T{i}", parent=company, code=f"t{i}") for i in range(3)]
    accounts = [make_account(f"m{i:02d}", orgs=[teams[i % 3]]) for i in range(40)]
    provider = make_provider(sandbox, sandbox.app(), [(company, 1)])
    job = run_full(provider)
    assert job.status == "succeeded", job.error
    _, users = dingtalk(sandbox, provider.corp_id)
    assert sorted(users) == sorted(a.username for a in accounts)
    assert job.counters["user_create"] == 40 and job.progress_done == 43
    assert SyncEvent.objects.filter(job=job, status="success").count() == 43


def test_an_out_of_scope_primary_organisation_gives_its_full_path_to_expressions(
    sandbox, provider, tree
):
    outside = make_org("Outside", code="out")
    sub = make_org("Sub", parent=outside, code="sub")
    person = make_account("dan", orgs=[sub, tree["sales"]])  # primary: Sub, outside the scope
    provider.multi_org_enabled = True  # with it off, an out-of-scope primary keeps dan out
    provider.save()
    provider.field_mappings.filter(target="title").update(
        source_kind="expression", source="primary_org.path"
    )
    job = run_full(provider)
    assert job.status == "succeeded", job.error
    assert dingtalk(sandbox, provider.corp_id)[1][person.username]["title"] == "Outside/Sub"
