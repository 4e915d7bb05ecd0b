"""Sync pages: job list and detail (polled while running), events, timelines, DingTalk's side."""

import itertools
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dtconsole.providers.models import IdentityProvider, NodeScope
from dtconsole.sync.models import SyncEvent, SyncJob
from tests.factories import make_account, make_org

pytestmark = pytest.mark.django_db

POLL = 'hx-trigger="every 2s"'
_seq = itertools.count(1)


def make_provider(name: str = "Acme", **fields) -> IdentityProvider:
    n = next(_seq)
    fields.setdefault("corp_id", "dingx")
    fields.setdefault("app_key", f"key{n}")
    fields.setdefault("agent_id", "1")
    return IdentityProvider.objects.create(name=name, **fields)


def make_job(provider: IdentityProvider, **fields) -> SyncJob:
    fields.setdefault("kind", SyncJob.Kind.FULL)
    fields.setdefault("trigger", SyncJob.Trigger.MANUAL)
    return SyncJob.objects.create(provider=provider, **fields)


def make_event(job: SyncJob, **fields) -> SyncEvent:
    fields.setdefault("object_type", SyncEvent.ObjectType.USER)
    fields.setdefault("action", SyncEvent.Action.UPDATE)
    fields.setdefault("status", SyncEvent.Status.SUCCESS)
    return SyncEvent.objects.create(job=job, provider_id=job.provider_id, **fields)


def shown_ids(response) -> list[int]:
    return [event.pk for event in response.context["page"]]


def body(response) -> str:
    return response.content.decode()


# --- access ----------------------------------------------------------------------------------

PAGES = [
    ("sync:job_list", []),
    ("sync:job_rows", []),
    ("sync:job_detail", [1]),
    ("sync:job_status", [1]),
    ("sync:event_list", []),
    ("sync:object_timeline", ["user", 1]),
    ("sync:dingtalk_view", [1]),
    ("audit:list", []),
]
ACTIONS = [
    ("sync:job_start", []),
    ("sync:job_approve", [1]),
    ("sync:job_reject", [1]),
    ("sync:job_cancel", [1]),
    ("sync:object_repush", ["user", 1]),
]


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_anonymous_visitors_are_sent_to_login_from_every_page(client, name, args):
    response = client.get(reverse(name, args=args))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize(("name", "args"), ACTIONS)
def test_anonymous_posts_change_nothing_and_go_to_login(client, name, args):
    job = make_job(make_provider(), status=SyncJob.Status.AWAITING_APPROVAL)
    response = client.post(reverse(name, args=args), {"provider": job.provider_id})
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    job.refresh_from_db()
    assert job.status == SyncJob.Status.AWAITING_APPROVAL
    assert SyncJob.objects.count() == 1


# --- job list --------------------------------------------------------------------------------


def test_job_list_shows_each_job_with_its_counter_totals(admin_client, admin_user):
    provider = make_provider("Acme DingTalk")
    counters = {"user_create": 3, "department_create": 1, "user_update": 2, "failed": 1}
    job = make_job(
        provider, status=SyncJob.Status.PARTIAL, counters=counters, requested_by=admin_user
    )
    response = admin_client.get(reverse("sync:job_list"))
    html = body(response)
    assert response.status_code == 200
    assert f'href="{reverse("sync:job_detail", args=[job.pk])}"' in html
    assert "Acme DingTalk" in html and "Partially succeeded" in html
    assert "+4" in html and "~2" in html and "1 failed" in html
    assert "admin" in html


def test_job_list_polls_only_while_a_job_on_the_page_is_queued_or_running(admin_client):
    provider = make_provider()
    job = make_job(provider, status=SyncJob.Status.SUCCEEDED)
    assert POLL not in body(admin_client.get(reverse("sync:job_list")))
    running = make_job(provider, status=SyncJob.Status.RUNNING, progress_done=3, progress_total=10)
    html = body(admin_client.get(reverse("sync:job_list")))
    assert POLL in html and reverse("sync:job_rows") in html
    assert '<progress value="3" max="10">' in html
    rows = admin_client.get(reverse("sync:job_rows"))
    assert POLL in body(rows) and "<html" not in body(rows)
    running.status = SyncJob.Status.SUCCEEDED
    running.save()
    assert POLL not in body(admin_client.get(reverse("sync:job_rows")))
    rows = admin_client.get(reverse("sync:job_rows")).context["rows"]
    assert job.pk in [j.pk for j, _summary, _duration in rows]


def test_job_list_filters_by_provider_and_status(admin_client):
    acme, other = make_provider("Acme"), make_provider("Other")
    wanted = make_job(acme, status=SyncJob.Status.FAILED)
    make_job(acme, status=SyncJob.Status.SUCCEEDED)
    make_job(other, status=SyncJob.Status.FAILED)
    response = admin_client.get(reverse("sync:job_list"), {"provider": acme.pk, "status": "failed"})
    assert [job.pk for job, _s, _d in response.context["rows"]] == [wanted.pk]


def test_job_list_is_paginated_fifty_at_a_time(admin_client):
    provider = make_provider()
    jobs = [make_job(provider, status=SyncJob.Status.SUCCEEDED) for _ in range(55)]
    first = admin_client.get(reverse("sync:job_list")).context["page"]
    assert len(first) == 50 and first.older is not None
    second = admin_client.get(reverse("sync:job_list"), {"before": first.older}).context["page"]
    assert [j.pk for j in second] == [j.pk for j in jobs[:5]][::-1]


def test_start_full_sync_queues_a_manual_job_and_opens_it(admin_client):
    provider = make_provider()
    response = admin_client.post(
        reverse("sync:job_start"), {"provider": provider.pk, "dry_run": "on"}
    )
    job = SyncJob.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("sync:job_detail", args=[job.pk])
    assert (job.kind, job.trigger, job.dry_run) == ("full", "manual", True)


def test_start_full_sync_without_a_provider_is_refused_with_a_message(admin_client):
    response = admin_client.post(reverse("sync:job_start"), {}, follow=True)
    assert "Choose a provider" in body(response)
    assert not SyncJob.objects.exists()


# --- job detail ------------------------------------------------------------------------------


def test_job_detail_shows_status_counters_error_and_the_plan_of_a_dry_run(admin_client):
    job = make_job(
        make_provider(),
        dry_run=True,
        status=SyncJob.Status.SUCCEEDED,
        counters={"planned": 2},
        error="Something to read",
    )
    make_event(
        job,
        status="planned",
        action="update",
        source_name="Zhang San",
        changes={"title": ["Engineer", "Lead"]},
    )
    make_event(job, status="planned", action="create", source_name="Li Si", changes={})
    html = body(admin_client.get(reverse("sync:job_detail", args=[job.pk])))
    assert "Plan" in html and "2 planned" in html and "Something to read" in html
    assert "Zhang San" in html and "Engineer" in html and "Lead" in html and "→" in html
    assert "Li Si" in html and "Planned" in html
    assert POLL not in html


def test_job_detail_lists_the_job_events_only_filtered_by_status(admin_client):
    job = make_job(make_provider(), status=SyncJob.Status.PARTIAL)
    failed = make_event(job, status="failed", errcode="60104", message="mobile taken")
    make_event(job, status="success")
    make_event(make_job(job.provider), status="failed")
    response = admin_client.get(reverse("sync:job_detail", args=[job.pk]), {"status": "failed"})
    assert shown_ids(response) == [failed.pk]
    assert "60104" in body(response)


def test_status_partial_polls_while_running_and_stops_once_finished(admin_client):
    job = make_job(make_provider(), status=SyncJob.Status.RUNNING)
    url = reverse("sync:job_status", args=[job.pk])
    assert POLL in body(admin_client.get(reverse("sync:job_detail", args=[job.pk])))
    running = admin_client.get(url, {"poll": "1"})
    assert POLL in body(running) and "<html" not in body(running)
    assert "HX-Refresh" not in running.headers
    job.status = SyncJob.Status.SUCCEEDED
    job.save()
    finished = admin_client.get(url, {"poll": "1"})
    assert POLL not in body(finished) and "Succeeded" in body(finished)
    assert finished.headers["HX-Refresh"] == "true"  # reload once: the events are complete
    assert POLL not in body(admin_client.get(reverse("sync:job_detail", args=[job.pk])))


def test_a_job_awaiting_approval_shows_its_pending_deletions_and_can_be_approved(admin_client):
    planned = [
        {
            "object_type": "user",
            "source_id": n,
            "dingtalk_id": f"u{n}",
            "name": f"张{n}",
            "key": f"z{n}",
        }
        for n in range(7)
    ]
    job = make_job(
        make_provider(),
        status=SyncJob.Status.AWAITING_APPROVAL,
        counters={"pending_deletions": 7},
        planned_deletions=planned,
        error="Approve or reject the deletions listed on this page; nothing was changed.",
    )
    html = body(admin_client.get(reverse("sync:job_detail", args=[job.pk])))
    assert "would pass the provider's deletion threshold" in html
    assert "张6" in html and "<code>z6</code>" in html and "Delete these 7 objects" in html
    assert reverse("sync:job_approve", args=[job.pk]) in html
    assert reverse("sync:job_reject", args=[job.pk]) in html
    response = admin_client.post(reverse("sync:job_approve", args=[job.pk]))
    assert response.url == reverse("sync:job_detail", args=[job.pk])
    job.refresh_from_db()
    assert job.status == SyncJob.Status.QUEUED and job.deletions_approved
    html = body(admin_client.get(reverse("sync:job_detail", args=[job.pk])))
    assert "7 deletions approved · admin" in html
    assert "Approve or reject" not in html and "would pass the provider" not in html


def test_a_waiting_job_shows_no_duration_that_grows_while_it_waits(admin_client):
    started = timezone.now() - timedelta(hours=5)
    job = make_job(make_provider(), status=SyncJob.Status.AWAITING_APPROVAL, started_at=started)
    for url in (reverse("sync:job_detail", args=[job.pk]), reverse("sync:job_list")):
        html = body(admin_client.get(url))
        assert "18000" not in html.replace(",", "") and "1800" not in html


def test_rejecting_the_deletions_sends_the_job_on_without_them(admin_client):
    job = make_job(make_provider(), status=SyncJob.Status.AWAITING_APPROVAL)
    admin_client.post(reverse("sync:job_reject", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == SyncJob.Status.QUEUED and job.decision == SyncJob.Decision.REJECT
    assert not job.deletions_approved


def test_a_queued_job_can_be_cancelled(admin_client):
    job = make_job(make_provider(), status=SyncJob.Status.QUEUED)
    assert reverse("sync:job_cancel", args=[job.pk]) in body(
        admin_client.get(reverse("sync:job_detail", args=[job.pk]))
    )
    admin_client.post(reverse("sync:job_cancel", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == SyncJob.Status.CANCELLED


def test_approving_a_job_not_awaiting_approval_shows_why_and_changes_nothing(admin_client):
    job = make_job(make_provider(), status=SyncJob.Status.RUNNING)
    html = body(admin_client.get(reverse("sync:job_detail", args=[job.pk])))
    assert reverse("sync:job_approve", args=[job.pk]) not in html
    response = admin_client.post(reverse("sync:job_approve", args=[job.pk]), follow=True)
    assert "Only a job awaiting approval can be approved." in body(response)
    job.refresh_from_db()
    assert job.status == SyncJob.Status.RUNNING


def test_cancelling_a_finished_job_is_refused_with_a_message(admin_client):
    job = make_job(make_provider(), status=SyncJob.Status.SUCCEEDED)
    response = admin_client.post(reverse("sync:job_cancel", args=[job.pk]), follow=True)
    assert "can be cancelled" in body(response)
    job.refresh_from_db()
    assert job.status == SyncJob.Status.SUCCEEDED


# --- events ----------------------------------------------------------------------------------


@pytest.fixture
def events():
    """One event per distinguishing value; the test picks the filter that isolates it."""
    acme, other = make_provider("Acme"), make_provider("Other")
    job_a, job_b = make_job(acme), make_job(other)
    old = timezone.now() - timedelta(days=10)
    built = {
        "plain": make_event(job_a, source_name="Plain", source_key="plain"),
        "other": make_event(job_b, source_name="Elsewhere", source_key="elsewhere"),
        "department": make_event(job_a, object_type="department", source_name="Sales"),
        "created": make_event(job_a, action="create", source_name="New One"),
        "failed": make_event(job_a, status="failed", errcode="60121", source_name="Bad"),
        "old": make_event(job_a, source_name="Ancient"),
    }
    SyncEvent.objects.filter(pk=built["old"].pk).update(created_at=old)
    return {"acme": acme, "other": other, "job_b": job_b, "old_time": old, **built}


def _filter(events, name):
    since = (events["old_time"] + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    until = (events["old_time"] + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    return {
        "other": {"provider": events["other"].provider_id},
        "job": {"job": events["job_b"].pk},
        "department": {"object_type": "department"},
        "created": {"action": "create"},
        "failed": {"status": "failed"},
        "old": {"until": until},
        "since": {"since": since, "provider": events["acme"].pk},
    }[name]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("other", ["other"]),
        ("job", ["other"]),
        ("department", ["department"]),
        ("created", ["created"]),
        ("failed", ["failed"]),
        ("old", ["old"]),
        ("since", ["failed", "created", "department", "plain"]),
    ],
)
def test_each_event_filter_narrows_the_rows(admin_client, events, name, expected):
    all_rows = shown_ids(admin_client.get(reverse("sync:event_list")))
    assert len(all_rows) == 6
    response = admin_client.get(reverse("sync:event_list"), _filter(events, name))
    assert response.status_code == 200
    assert shown_ids(response) == [events[key].pk for key in expected]


@pytest.mark.parametrize(
    "query",
    ["Zhang", "Zhang San", "zhangsan", "zhang", "ding-uid-42", "ding-uid", "13800138000", "138001"],
)
def test_events_are_found_by_name_username_userid_or_mobile(admin_client, query):
    job = make_job(make_provider())
    wanted = make_event(
        job,
        source_name="Zhang San",
        source_key="zhangsan",
        dingtalk_id="ding-uid-42",
        mobile="13800138000",
    )
    make_event(job, source_name="Li Si", source_key="lisi", dingtalk_id="x1", mobile="13900000000")
    response = admin_client.get(reverse("sync:event_list"), {"q": query})
    assert shown_ids(response) == [wanted.pk]


def test_the_search_matches_prefixes_not_the_middle_of_a_value(admin_client):
    """Prefix matches keep the search on the indexes at a million events."""
    make_event(make_job(make_provider()), source_name="Zhang San", source_key="zhangsan")
    response = admin_client.get(reverse("sync:event_list"), {"q": "San"})
    assert shown_ids(response) == []
    assert "No sync event matches" in body(response)


def test_the_event_list_shows_the_error_hint_and_links(admin_client):
    job = make_job(make_provider("Acme"))
    event = make_event(
        job,
        source_id=41,
        source_name="Zhang San",
        status="failed",
        errcode="60104",
        message="mobile already used",
        hint="Free the mobile in DingTalk.",
        changes={"mobile": ["", "13800138000"], "name": ["", "Zhang San"]},
    )
    html = body(admin_client.get(reverse("sync:event_list")))
    assert reverse("sync:job_detail", args=[job.pk]) in html
    assert reverse("sync:object_timeline", args=["user", 41]) in html
    assert "60104" in html and "mobile already used" in html
    assert (
        "Free the mobile in DingTalk." in html and "<code>mobile</code>, <code>name</code>" in html
    )
    assert event.get_status_display() in html


def test_keyset_pages_walk_every_event_once_in_both_directions(admin_client):
    job = make_job(make_provider())
    ids = [make_event(job, source_name=f"P{i}").pk for i in range(120)]
    newest_first = ids[::-1]
    url = reverse("sync:event_list")
    pages, params = [], {}
    while True:
        page = admin_client.get(url, params).context["page"]
        pages.append([e.pk for e in page])
        if page.older is None:
            break
        params = {"before": page.older}
    assert [len(p) for p in pages] == [50, 50, 20]
    assert sum(pages, []) == newest_first  # no duplicate, no gap
    back = admin_client.get(url, {"after": pages[2][0]}).context["page"]
    assert [e.pk for e in back] == pages[1]
    assert back.newer is not None and back.older is not None
    first = admin_client.get(url, {"after": back.newer}).context["page"]
    assert [e.pk for e in first] == pages[0] and first.newer is None


def test_keyset_pages_keep_the_filters(admin_client):
    job = make_job(make_provider())
    failed = [make_event(job, status="failed").pk for _ in range(60)]
    make_event(job, status="success")
    url = reverse("sync:event_list")
    first = admin_client.get(url, {"status": "failed"})
    assert f"status=failed&amp;before={first.context['page'].older}" in body(first)
    second = admin_client.get(url, {"status": "failed", "before": first.context["page"].older})
    assert shown_ids(first) + shown_ids(second) == failed[::-1]


def test_malformed_cursors_and_filters_are_ignored(admin_client):
    make_event(make_job(make_provider()))
    response = admin_client.get(
        reverse("sync:event_list"), {"before": "abc", "job": "x", "since": "yesterday"}
    )
    assert response.status_code == 200 and len(shown_ids(response)) == 1


def test_the_event_list_costs_a_fixed_number_of_queries(
    admin_client, django_assert_max_num_queries
):
    for n in range(3):
        job = make_job(make_provider(f"P{n}"))
        for _ in range(30):
            make_event(job, changes={"name": ["a", "b"]})
    with django_assert_max_num_queries(6):
        response = admin_client.get(reverse("sync:event_list"))
    assert len(shown_ids(response)) == 50
    before = response.context["page"].older
    with django_assert_max_num_queries(7):
        admin_client.get(reverse("sync:event_list"), {"before": before, "q": "a"})


def test_job_pages_cost_a_fixed_number_of_queries(
    admin_client, admin_user, django_assert_max_num_queries
):
    for n in range(30):
        job = make_job(make_provider(f"P{n}"), requested_by=admin_user, counters={"failed": 1})
        make_event(job)
    with django_assert_max_num_queries(8):  # 7, and the worker banner's heartbeat
        admin_client.get(reverse("sync:job_list"))
    for _ in range(60):
        make_event(job)
    with django_assert_max_num_queries(6):
        admin_client.get(reverse("sync:job_detail", args=[job.pk]))


# --- one object's timeline -------------------------------------------------------------------


def test_the_timeline_shows_every_attempt_with_old_and_new_values_and_the_fix(admin_client):
    account = make_account("zhangsan", display_name="Zhang San")
    acme, other = make_provider("Acme"), make_provider("Other")
    first = make_event(
        make_job(acme),
        source_id=account.pk,
        source_name="Zhang San",
        action="create",
        status="failed",
        errcode="88",
        sub_code="60104",
        message="mobile already used",
        hint="Free the mobile in DingTalk or change it here.",
        changes={"mobile": [None, "13800138000"]},
    )
    second = make_event(
        make_job(other),
        source_id=account.pk,
        source_name="Zhang San",
        changes={"title": ["Engineer", "Lead"]},
    )
    make_event(make_job(acme), source_id=account.pk + 1000, source_name="Somebody else")
    make_event(make_job(acme), object_type="department", source_id=account.pk)
    response = admin_client.get(reverse("sync:object_timeline", args=["user", account.pk]))
    html = body(response)
    assert shown_ids(response) == [second.pk, first.pk]
    assert "Engineer" in html and "Lead" in html and "13800138000" in html
    assert "88/60104" in html and "mobile already used" in html
    assert "Free the mobile in DingTalk or change it here." in html
    assert reverse("directory:account_detail", args=[account.pk]) in html
    assert "Re-push to Acme" in html and "Re-push to Other" in html


def test_the_timeline_of_an_organisation_links_to_it(admin_client):
    org = make_org("Sales")
    make_event(make_job(make_provider()), object_type="department", source_id=org.pk)
    html = body(admin_client.get(reverse("sync:object_timeline", args=["department", org.pk])))
    assert reverse("directory:org_detail", args=[org.pk]) in html and "Sales" in html


def test_the_timeline_of_a_deleted_object_keeps_its_copied_name(admin_client):
    make_event(make_job(make_provider()), source_id=999999, source_name="Gone Person")
    html = body(admin_client.get(reverse("sync:object_timeline", args=["user", 999999])))
    assert "Gone Person" in html and "No longer in the directory." in html


def test_an_unknown_object_type_is_not_found(admin_client):
    assert admin_client.get(reverse("sync:object_timeline", args=["group", 1])).status_code == 404


def test_repush_queues_a_single_object_job_and_opens_it(admin_client):
    provider = make_provider()
    make_event(make_job(provider), source_id=41)
    response = admin_client.post(
        reverse("sync:object_repush", args=["user", 41]), {"provider": provider.pk}
    )
    job = SyncJob.objects.latest("id")
    assert response.url == reverse("sync:job_detail", args=[job.pk])
    assert job.kind == SyncJob.Kind.SINGLE and job.scope == {"type": "user", "id": 41}


def test_the_timeline_costs_a_fixed_number_of_queries(admin_client, django_assert_max_num_queries):
    for n in range(5):
        for _ in range(12):
            make_event(make_job(make_provider(f"P{n}")), source_id=7, changes={"a": [1, 2]})
    with django_assert_max_num_queries(9):  # with the account's conflicts and the banner
        response = admin_client.get(reverse("sync:object_timeline", args=["user", 7]))
    assert len(shown_ids(response)) == 50


# --- DingTalk's side -------------------------------------------------------------------------


def sandbox_provider(sandbox, app, secret: str | None = None) -> IdentityProvider:
    provider = make_provider(
        "Sandbox",
        corp_id=app["corp_id"],
        app_key=app["app_key"],
        agent_id=app["agent_id"],
        oapi_base=sandbox.url,
        api_base=sandbox.url,
        login_base=sandbox.url,
    )
    provider.set_app_secret(secret or app["app_secret"])
    provider.save()
    NodeScope.objects.create(provider=provider, organization=make_org("Root"), target_dept_id=1)
    return provider


def test_the_dingtalk_view_shows_the_department_tree_with_members(admin_client, sandbox):
    app = sandbox.app()
    corp = app["corp_id"]
    eng = sandbox.control("POST", "departments", corp_id=corp, name="Engineering", parent_id=1)
    sub = sandbox.control(
        "POST", "departments", corp_id=corp, name="Platform", parent_id=eng["dept_id"]
    )
    sandbox.control(
        "POST",
        "users",
        corp_id=corp,
        userid="zhangsan",
        name="Zhang San",
        mobile="13800138000",
        dept_id_list=[sub["dept_id"]],
    )
    provider = sandbox_provider(sandbox, app)
    response = admin_client.get(reverse("sync:dingtalk_view", args=[provider.pk]))
    html = body(response)
    assert response.status_code == 200
    assert "Engineering" in html and "Platform" in html
    assert "Zhang San" in html and "zhangsan" in html and "13800138000" in html
    assert html.index("Engineering") < html.index("Platform") < html.index("Zhang San")


def test_the_dingtalk_view_shows_a_wrong_secret_with_its_fix(admin_client, sandbox):
    app = sandbox.app()
    provider = sandbox_provider(sandbox, app, secret="not-the-secret")
    response = admin_client.get(reverse("sync:dingtalk_view", args=[provider.pk]))
    html = body(response)
    assert response.status_code == 200
    assert "DingTalk could not be read." in html and "Suggested fix:" in html
    assert "not-the-secret" not in html


@pytest.mark.parametrize("query", ["Zhang", "zhangsan", "ding-uid", "138001"])
def test_a_broad_search_finds_the_same_events_walking_newest_first(
    admin_client, monkeypatch, query
):
    job = make_job(make_provider())
    wanted = [
        make_event(
            job,
            source_name=f"Zhang San {n}",
            source_key=f"zhangsan{n}",
            dingtalk_id=f"ding-uid-{n}",
            mobile=f"1380013800{n}",
        ).pk
        for n in range(3)
    ]
    make_event(job, source_name="Li Si", source_key="lisi", dingtalk_id="x", mobile="139")
    monkeypatch.setattr("dtconsole.sync.queries.BROAD_MATCHES", 2)
    response = admin_client.get(reverse("sync:event_list"), {"q": query})
    assert shown_ids(response) == wanted[::-1]


@pytest.mark.parametrize("broad", [False, True])
def test_a_time_period_keeps_exactly_the_events_created_in_it(admin_client, monkeypatch, broad):
    job = make_job(make_provider())
    start = timezone.now().replace(microsecond=0) - timedelta(days=3)
    events = [make_event(job, source_name=f"E{n}") for n in range(6)]
    for n, event in enumerate(events):  # one a day, oldest first, like ids
        when = start + timedelta(hours=12 * n)
        SyncEvent.objects.filter(pk=event.pk).update(created_at=when)
    if broad:
        monkeypatch.setattr("dtconsole.sync.queries.BROAD_MATCHES", 1)
    fmt = "%Y-%m-%dT%H:%M"
    period = {
        "since": timezone.localtime(start + timedelta(hours=12)).strftime(fmt),
        "until": timezone.localtime(start + timedelta(hours=48)).strftime(fmt),
    }
    response = admin_client.get(reverse("sync:event_list"), period)
    assert shown_ids(response) == [events[3].pk, events[2].pk, events[1].pk]
    only_since = admin_client.get(reverse("sync:event_list"), {"since": period["since"]})
    assert shown_ids(only_since) == [e.pk for e in events[1:]][::-1]


# --- no Python reprs, no placeholders ------------------------------------------------------------

REPRS = ("[None]", ">None<", " None ", "None,", "{'", "['", "%(", "msgid")


def test_no_job_or_event_page_shows_a_python_repr_or_an_unfilled_placeholder(admin_client, sandbox):
    from dtconsole.access.services import SYSTEM
    from dtconsole.sync import engine
    from dtconsole.sync.services import sync_object_enqueue
    from tests.factories import make_provider as bound_provider
    from tests.test_sync_engine import run_full

    company = make_org("Company", code="co")
    ann = make_account("ann", orgs=[company], mobile="13950050002")
    make_account("bob", orgs=[company])
    provider = bound_provider(sandbox, sandbox.app(), [(company, 1)], match_keys=["userid"])
    sandbox.control(
        "POST",
        "users",
        corp_id=provider.corp_id,
        userid="stranger",
        name="陌生人",
        mobile="13950050002",
        dept_id_list=[1],
    )
    jobs = [run_full(provider, dry_run=True), run_full(provider)]
    assert jobs[1].status == "partial"
    repush = sync_object_enqueue(SYSTEM, provider, "user", ann.pk)
    engine.run_job(repush.pk)
    jobs.append(repush)
    make_event(
        jobs[1],
        source_id=ann.pk,
        changes={
            "dept_id_list": [[None], [1, 2]],
            "extension": [{"badge": None}, {"badge": "A1"}],
            "active": [None, True],
        },
    )
    urls = [reverse("home"), reverse("sync:job_list"), reverse("sync:event_list")]
    urls += [reverse("sync:job_detail", args=[job.pk]) for job in jobs]
    urls += [reverse("sync:object_timeline", args=["user", ann.pk])]
    urls += [reverse("directory:account_detail", args=[ann.pk])]
    for url in urls:
        main = body(admin_client.get(url)).split("<main", 1)[1]
        found = [r for r in REPRS if r in main]
        assert found == [], f"{url}: {found}"
        assert "(user #" not in main and "(department #" not in main
