"""The sync API: jobs (filtered; approve, reject, cancel) and events (filtered, searched by
prefix, cursor-paginated newest first)."""

import base64
from datetime import timedelta

import pytest
from django.utils import timezone

from dtconsole.audit.models import AuditEntry
from dtconsole.sync.models import SyncEvent, SyncJob
from tests.api_helpers import V1, make_user, offline_provider, token_client
from tests.factories import make_org

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider():
    return offline_provider([(make_org("Company"), 1)])


def make_job(provider, status: str = "queued", kind: str = "full") -> SyncJob:
    return SyncJob.objects.create(provider=provider, kind=kind, trigger="manual", status=status)


def make_event(job, **fields) -> SyncEvent:
    fields.setdefault("object_type", "user")
    fields.setdefault("action", "create")
    fields.setdefault("status", "success")
    return SyncEvent.objects.create(job=job, provider=job.provider, **fields)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


# --- jobs ------------------------------------------------------------------------------------


def test_jobs_are_listed_newest_first_and_filtered(staff, provider):
    other = offline_provider(app_key="otherappkey0001", name="Other")
    full = make_job(provider, "succeeded")
    incremental = make_job(provider, "failed", kind="incremental")
    elsewhere = make_job(other, "queued")
    assert ids(staff.get(f"{V1}/jobs/")) == [elsewhere.pk, incremental.pk, full.pk]
    assert ids(staff.get(f"{V1}/jobs/?provider={provider.pk}")) == [incremental.pk, full.pk]
    assert ids(staff.get(f"{V1}/jobs/?status=succeeded")) == [full.pk]
    assert ids(staff.get(f"{V1}/jobs/?kind=incremental")) == [incremental.pk]
    assert staff.get(f"{V1}/jobs/?status=bogus").status_code == 400


def test_a_job_is_shown_with_its_provider_and_requester(staff, provider, admin_user):
    job = SyncJob.objects.create(
        provider=provider, kind="full", trigger="api", requested_by=admin_user
    )
    body = staff.get(f"{V1}/jobs/{job.pk}/").json()
    assert (body["provider_name"], body["requested_by"], body["trigger"]) == (
        "Sandbox",
        "admin",
        "api",
    )


def test_a_queued_job_is_cancelled(staff, provider):
    job = make_job(provider)
    response = staff.post(f"{V1}/jobs/{job.pk}/cancel/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    assert AuditEntry.objects.filter(action="sync.cancel").exists()


def test_a_finished_job_cannot_be_cancelled_409(staff, provider):
    job = make_job(provider, "succeeded")
    response = staff.post(f"{V1}/jobs/{job.pk}/cancel/")
    assert response.status_code == 409
    assert "Only a queued job" in response.json()["detail"]


def test_a_job_awaiting_approval_is_approved(staff, provider):
    job = make_job(provider, "awaiting_approval")
    response = staff.post(f"{V1}/jobs/{job.pk}/approve/")
    assert response.status_code == 200, response.content
    job.refresh_from_db()
    assert job.status == "queued" and job.deletions_approved


def test_a_job_awaiting_approval_is_rejected_and_other_jobs_answer_409(staff, provider):
    job = make_job(provider, "awaiting_approval")
    answer = staff.post(f"{V1}/jobs/{job.pk}/reject/").json()
    assert answer["status"] == "queued" and answer["decision"] == "reject"
    assert staff.post(f"{V1}/jobs/{job.pk}/reject/").status_code == 409
    assert staff.post(f"{V1}/jobs/{job.pk}/approve/").status_code == 409


def test_a_viewer_reads_jobs_but_cannot_act_on_them(provider):
    job = make_job(provider)
    viewer = token_client(make_user("viewer"))
    assert viewer.get(f"{V1}/jobs/{job.pk}/").status_code == 200
    assert viewer.post(f"{V1}/jobs/{job.pk}/cancel/").status_code == 403


# --- events ----------------------------------------------------------------------------------


def test_events_are_filtered_by_job_type_action_and_status(staff, provider):
    job, other_job = make_job(provider), make_job(provider)
    created = make_event(job, source_name="Ann")
    failed = make_event(job, action="update", status="failed", errcode="60121")
    dept = make_event(other_job, object_type="department", source_name="R&D")
    assert ids(staff.get(f"{V1}/events/")) == [dept.pk, failed.pk, created.pk]
    assert ids(staff.get(f"{V1}/events/?job={job.pk}")) == [failed.pk, created.pk]
    assert ids(staff.get(f"{V1}/events/?object_type=department")) == [dept.pk]
    assert ids(staff.get(f"{V1}/events/?action=update&status=failed")) == [failed.pk]
    assert ids(staff.get(f"{V1}/events/?provider={provider.pk}&job=999999")) == []
    shown = staff.get(f"{V1}/events/{failed.pk}/").json()
    assert (shown["errcode"], shown["provider_name"]) == ("60121", "Sandbox")


def test_events_are_searched_by_prefix_of_name_key_dingtalk_id_or_mobile(staff, provider):
    job = make_job(provider)
    ann = make_event(job, source_name="Annabel", source_key="ann", mobile="13800138000")
    bob = make_event(job, source_name="Bob", source_key="bob", dingtalk_id="manager42")
    assert ids(staff.get(f"{V1}/events/?q=Anna")) == [ann.pk]
    assert ids(staff.get(f"{V1}/events/?q=138001")) == [ann.pk]
    assert ids(staff.get(f"{V1}/events/?q=manager")) == [bob.pk]
    assert ids(staff.get(f"{V1}/events/?q=nabel")) == []  # a prefix, not a substring


def test_events_are_filtered_by_time(staff, provider):
    job = make_job(provider)
    old, new = make_event(job), make_event(job)
    SyncEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert ids(staff.get(f"{V1}/events/", {"since": since})) == [new.pk]
    assert ids(staff.get(f"{V1}/events/", {"until": since})) == [old.pk]
    assert staff.get(f"{V1}/events/?since=yesterday").status_code == 400


def test_events_are_paged_with_cursors_newest_first(staff, provider):
    job = make_job(provider)
    SyncEvent.objects.bulk_create(
        SyncEvent(job=job, provider=provider, object_type="user", action="skip", status="skipped")
        for _ in range(120)
    )
    seen, url = [], f"{V1}/events/?page_size=50"
    while url:
        body = staff.get(url).json()
        assert "count" not in body  # no COUNT(*) of a million-row table
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert len(seen) == 120 and seen == sorted(seen, reverse=True)
    assert staff.get(f"{V1}/events/?cursor=not-a-cursor").status_code == 404


@pytest.mark.parametrize("position", ["abc", "1.5", "", "99999999999999999999"])
def test_a_forged_cursor_answers_404_not_an_error(staff, provider, position):
    cursor = base64.b64encode(f"p={position}".encode()).decode()
    assert staff.get(f"{V1}/events/", {"cursor": cursor}).status_code == 404
    assert staff.get(f"{V1}/jobs/", {"cursor": cursor}).status_code == 404
