"""The dashboard at /: each provider's health with links to the lists behind each figure, the
workers' heartbeat, the directory's size; the banner every page shows when no worker runs."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dtconsole.sync import queries
from dtconsole.sync.models import PendingChange, SyncEvent, UserConflict, WorkerHeartbeat
from tests.factories import make_account, make_org, make_user
from tests.test_sync_pages import POLL, body, make_event, make_job, make_provider, shown_ids

pytestmark = pytest.mark.django_db

FAILED, SUCCESS, PLANNED = "failed", "success", "planned"


def beat(seconds_ago: float, host: str = "worker-1") -> WorkerHeartbeat:
    seen = timezone.now() - timedelta(seconds=seconds_ago)
    return WorkerHeartbeat.objects.create(host=host, pid=42, seen_at=seen)


def full_sync(provider, status: str = "succeeded", **fields):
    return make_job(provider, status=status, finished_at=timezone.now(), **fields)


def attempt(job, source_id: int, status: str, object_type: str = "user") -> SyncEvent:
    return make_event(job, source_id=source_id, status=status, object_type=object_type)


# --- what fails now --------------------------------------------------------------------------


def test_an_object_fails_now_when_its_latest_attempt_failed():
    provider = make_provider()
    job = full_sync(provider)
    attempt(job, 1, FAILED)
    attempt(job, 2, FAILED)
    attempt(job, 2, SUCCESS)  # mended
    attempt(job, 3, SUCCESS)
    attempt(job, 3, FAILED)  # broken again
    attempt(job, 4, FAILED, object_type="department")
    assert queries.failing_objects(provider).objects == 3


def test_a_dry_run_plan_or_a_skipped_event_does_not_mend_a_failure():
    provider = make_provider()
    job = full_sync(provider, status="partial")
    attempt(job, 1, FAILED)
    attempt(make_job(provider, dry_run=True, status="succeeded"), 1, PLANNED)
    attempt(make_job(provider, kind="incremental"), 1, "skipped")
    assert queries.failing_objects(provider).objects == 1


def test_each_failing_object_counts_once_however_often_it_failed():
    provider = make_provider()
    job = full_sync(provider, status="partial")
    for _ in range(3):
        attempt(job, 7, FAILED)
    failing = SyncEvent.objects.filter(queries.failing_now([provider]))
    assert failing.count() == 1 and queries.failing_objects(provider).objects == 1


def test_failures_before_the_last_completed_full_sync_are_not_failing_now():
    provider = make_provider()
    old = full_sync(provider, status="partial")
    attempt(old, 1, FAILED)  # since deleted or fixed in DingTalk: the next full sync found
    latest = full_sync(provider)  # nothing to do for it
    attempt(latest, 2, SUCCESS)
    assert queries.failure_window_start(provider) is not None
    assert queries.failing_objects(provider).objects == 0


def test_a_full_sync_that_changed_nothing_starts_the_window_after_it():
    provider = make_provider()
    attempt(full_sync(provider, status="partial"), 1, FAILED)
    full_sync(provider)  # no event at all: nothing failed then
    attempt(make_job(provider, kind="incremental", status="partial"), 5, FAILED)
    assert queries.failing_objects(provider).objects == 1


def test_without_a_completed_full_sync_every_event_counts_and_other_providers_never_do():
    provider, other = make_provider("A"), make_provider("B")
    attempt(make_job(provider, kind="single", status="failed"), 1, FAILED)
    attempt(make_job(other, status="failed"), 2, FAILED)
    assert queries.failure_window_start(provider) is None
    assert queries.failing_objects(provider).objects == 1


def test_an_open_conflict_counts_as_failing_once_even_with_a_failed_attempt():
    provider = make_provider()
    ann, bob = make_account("ann"), make_account("bob")
    attempt(full_sync(provider, status="partial"), ann.pk, FAILED)
    for account in (ann, bob):
        UserConflict.objects.create(
            provider=provider, account=account, account_ref=account.pk, field="mobile", value="1"
        )
    failing = queries.failing_objects(provider)
    assert (failing.objects, failing.conflicts) == (2, 2)


def test_the_count_stops_at_its_limit_and_says_so():
    provider = make_provider()
    job = full_sync(provider, status="partial")
    for n in range(5):
        attempt(job, n, FAILED)
    failing = queries.failing_objects(provider, limit=3)
    assert (failing.objects, failing.capped) == (3, True)


# --- the page --------------------------------------------------------------------------------


def test_the_dashboard_shows_each_providers_figures_with_links_to_the_lists_behind_them(
    admin_client,
):
    provider = make_provider("Acme")
    success = full_sync(provider)
    attempt(success, 1, FAILED)
    waiting = make_job(provider, status="awaiting_approval")
    PendingChange.objects.create(provider=provider, object_type="account", object_id=3)
    html = body(admin_client.get(reverse("home")))
    pk = provider.pk
    assert f'href="{reverse("sync:job_detail", args=[success.pk])}"' in html
    failing = f"{reverse('sync:event_list')}?provider={pk}&amp;status=failed&amp;failing=on"
    assert f'href="{failing}"' in html
    assert f'href="{reverse("sync:pending_list", args=[pk])}"' in html
    awaiting = f"{reverse('sync:job_list')}?provider={pk}&amp;status=awaiting_approval"
    assert f'href="{awaiting}"' in html
    assert f'href="{reverse("sync:job_detail", args=[waiting.pk])}"' in html  # the last job
    assert "Objects failing now" in html and "Jobs awaiting approval" in html


def test_the_dashboard_says_when_a_provider_never_completed_a_full_sync(admin_client):
    make_provider("Fresh")
    health = admin_client.get(reverse("home")).context["health"]
    assert health[0].last_success is None and health[0].last_job is None
    assert "never" in body(admin_client.get(reverse("home")))


def test_the_dashboard_lists_the_workers_and_the_directory_size(admin_client):
    beat(5, "alive-host")
    beat(3600, "dead-host")
    company = make_org("Company")
    make_account("ann", orgs=[company])
    response = admin_client.get(reverse("home"))
    workers = {w.host: w.alive for w in response.context["workers"]}
    assert workers == {"alive-host": True, "dead-host": False}
    size = response.context["directory"]
    assert (size.organizations, size.accounts, size.active, size.disabled) == (1, 1, 1, 0)
    assert f'href="{reverse("directory:account_list")}?status=active"' in body(response)


def test_the_dashboard_polls_only_while_a_job_is_queued_or_running(admin_client):
    provider = make_provider()
    make_job(provider, status="awaiting_approval")
    assert POLL not in body(admin_client.get(reverse("home")))
    running = make_job(provider, status="running")
    assert POLL in body(admin_client.get(reverse("home")))
    assert POLL in body(admin_client.get(reverse("home_providers")))
    running.status = "succeeded"
    running.save()
    partial = body(admin_client.get(reverse("home_providers")))
    assert POLL not in partial and "Succeeded" in partial


def test_the_dashboard_costs_a_fixed_number_of_queries_per_provider(
    admin_client, django_assert_max_num_queries
):
    for name in ("A", "B", "C"):
        provider = make_provider(name)
        job = full_sync(provider, status="partial")
        for n in range(20):
            attempt(job, n, FAILED)
    # Eight indexed reads a provider, seven for the page (session, user, providers, workers,
    # the banner's heartbeat, the directory's two counts), however many events there are.
    with django_assert_max_num_queries(3 * 8 + 7):
        admin_client.get(reverse("home"))


# --- the lists the figures open --------------------------------------------------------------


def test_the_event_list_can_show_only_the_objects_failing_now(admin_client):
    provider = make_provider()
    job = full_sync(provider, status="partial")
    attempt(job, 1, FAILED)
    latest = attempt(job, 1, FAILED)
    attempt(job, 2, FAILED)
    attempt(job, 2, SUCCESS)
    params = {"provider": provider.pk, "status": "failed", "failing": "on"}
    assert shown_ids(admin_client.get(reverse("sync:event_list"), params)) == [latest.pk]
    assert len(shown_ids(admin_client.get(reverse("sync:event_list"), {"failing": "on"}))) == 1


def test_the_job_list_filters_by_kind(admin_client):
    provider = make_provider()
    full = make_job(provider)
    make_job(provider, kind="incremental")
    response = admin_client.get(reverse("sync:job_list"), {"kind": "full"})
    assert [job.pk for job, _summary, _duration in response.context["rows"]] == [full.pk]


def test_the_account_list_filters_the_accounts_in_conflict_with_a_provider(admin_client):
    provider = make_provider()
    ann = make_account("ann")
    make_account("bob")
    UserConflict.objects.create(
        provider=provider, account=ann, account_ref=ann.pk, field="email", value="a@x.com"
    )
    page = admin_client.get(reverse("directory:account_list"), {"conflict": provider.pk})
    assert [a.username for a in page.context["page"]] == ["ann"]


def test_the_pending_list_names_each_changed_object_and_links_to_it(admin_client):
    provider = make_provider()
    ann, org = make_account("ann", display_name="Ann"), make_org("Sales")
    for object_type, object_id in (("account", ann.pk), ("organization", org.pk), ("account", 0)):
        PendingChange.objects.create(
            provider=provider, object_type=object_type, object_id=object_id
        )
    html = body(admin_client.get(reverse("sync:pending_list", args=[provider.pk])))
    assert reverse("directory:account_detail", args=[ann.pk]) in html and "Ann" in html
    assert reverse("directory:org_detail", args=[org.pk]) in html
    assert "Deleted from the directory" in html


# --- the banner ------------------------------------------------------------------------------


def test_every_page_says_how_to_start_a_worker_when_none_was_seen_for_a_minute(admin_client):
    beat(600)
    for name in ("home", "directory:org_tree", "sync:job_list", "audit:list"):
        html = body(admin_client.get(reverse(name)))
        assert 'id="worker-banner"' in html, name
        assert "make run" in html and "manage.py qcluster" in html


def test_no_banner_while_a_worker_beats(admin_client):
    beat(10)
    assert 'id="worker-banner"' not in body(admin_client.get(reverse("home")))


def test_no_banner_on_the_login_page_or_for_a_user_without_a_role(client):
    assert 'id="worker-banner"' not in body(client.get(reverse("login")))
    client.force_login(make_user("nobody"))
    assert 'id="worker-banner"' not in body(client.get(reverse("home"), follow=True))
