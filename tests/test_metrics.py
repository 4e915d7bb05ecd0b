"""GET /metrics: Prometheus text format, values from the database, refused without access."""

import ipaddress
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_q import signing
from django_q.brokers import get_broker
from prometheus_client.parser import text_string_to_metric_families

from dtconsole.access.services import SYSTEM
from dtconsole.directory import services as directory
from dtconsole.monitoring import calls, health
from dtconsole.monitoring.calls import CallTally
from dtconsole.sync import engine, heartbeat
from dtconsole.sync.models import SyncJob
from dtconsole.sync.services import sync_job_enqueue
from tests.factories import make_account, make_org, make_provider, make_user
from tests.test_sync_worker import kill, start_worker, wait_for

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-0123456789abcdef"
FAMILIES = {
    "dtconsole_sync_jobs": "gauge",
    "dtconsole_sync_job_duration_seconds": "histogram",
    "dtconsole_sync_objects": "counter",
    "dtconsole_dingtalk_calls": "counter",
    "dtconsole_dingtalk_call_errors": "counter",
    "dtconsole_dingtalk_call_seconds": "counter",
    "dtconsole_dingtalk_rate_limit_wait_seconds": "counter",
    "dtconsole_pending_changes": "gauge",
    "dtconsole_broker_up": "gauge",
    "dtconsole_queue_length": "gauge",
    "dtconsole_worker_last_seen_timestamp_seconds": "gauge",
}


@pytest.fixture(autouse=True)
def _setup(settings, monkeypatch):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = []
    monkeypatch.setattr(calls, "tally", CallTally())  # nothing counted by earlier tests
    monkeypatch.setattr(health, "_broker", None)


def scrape(client: Client | None = None, **headers) -> str:
    client = client or Client()
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}", **headers})
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain; version=")
    return response.content.decode()


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """(sample name, labels) -> value, for every sample in the exposition."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def labels(**names: str) -> frozenset:
    return frozenset(names.items())


def value(text: str, name: str, **names: str) -> float:
    return samples(text).get((name, labels(**names)), 0.0)


# --- format ----------------------------------------------------------------------------------


def test_every_family_is_exposed_with_its_type_and_help():
    families = {f.name: f for f in text_string_to_metric_families(scrape())}
    assert {name: families[name].type for name in FAMILIES} == FAMILIES
    assert all(families[name].documentation for name in FAMILIES)


def test_job_durations_form_a_cumulative_histogram_by_kind(sandbox):
    provider = make_provider(sandbox, sandbox.app(), [])
    now = timezone.now()
    for seconds, kind in ((0.2, "incremental"), (3, "incremental"), (90, "full"), (9000, "full")):
        SyncJob.objects.create(
            provider=provider,
            kind=kind,
            trigger="manual",
            status="succeeded",
            started_at=now - timedelta(seconds=seconds),
            finished_at=now,
        )
    SyncJob.objects.create(provider=provider, kind="full", trigger="manual")  # queued
    text = scrape()
    name = "dtconsole_sync_job_duration_seconds"
    assert value(text, f"{name}_count", kind="incremental") == 2
    assert value(text, f"{name}_bucket", kind="incremental", le="0.5") == 1
    assert value(text, f"{name}_bucket", kind="incremental", le="5.0") == 2
    assert value(text, f"{name}_bucket", kind="full", le="60.0") == 0
    assert value(text, f"{name}_bucket", kind="full", le="120.0") == 1
    assert value(text, f"{name}_bucket", kind="full", le="7200.0") == 1
    assert value(text, f"{name}_bucket", kind="full", le="+Inf") == 2
    assert value(text, f"{name}_sum", kind="full") == pytest.approx(9090, abs=0.01)
    assert value(text, "dtconsole_sync_jobs", kind="full", status="queued") == 1
    assert value(text, "dtconsole_sync_jobs", kind="incremental", status="succeeded") == 2


# --- values after a sync against the sandbox ------------------------------------------------


def test_after_a_sync_the_metrics_show_the_job_its_objects_and_every_dingtalk_call(sandbox):
    company = make_org("Company", code="co")
    team = make_org("Team", parent=company, code="tm")
    people = [make_account(f"m{i}", orgs=[team]) for i in range(5)]
    app = sandbox.app()
    provider = make_provider(sandbox, app, [(company, 1)], incremental_enabled=True)
    heartbeat.beat()
    sandbox.control("POST", "calls/reset")
    job = sync_job_enqueue(SYSTEM, provider, kind="full", trigger="manual")
    engine.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    directory.account_update(SYSTEM, people[0], title="Lead")  # a pending change, a queued job

    text = scrape()
    found = samples(text)
    assert value(text, "dtconsole_sync_jobs", kind="full", status="succeeded") == 1
    assert value(text, "dtconsole_sync_job_duration_seconds_count", kind="full") == 1
    objects = "dtconsole_sync_objects_total"
    assert value(text, objects, object_type="user", action="create", status="success") == 5
    assert value(text, objects, object_type="department", action="create", status="success") == 1
    # Every HTTP attempt the sandbox received is counted, on its path, as a success.
    seen = {path: n for per_app in sandbox.calls().values() for path, n in per_app.items()}
    assert seen["/topapi/v2/user/create"] == 5
    for path, n in seen.items():
        assert value(text, "dtconsole_dingtalk_calls_total", path=path, errcode="0") == n
        assert value(text, "dtconsole_dingtalk_call_seconds_total", path=path) > 0
        assert ("dtconsole_dingtalk_rate_limit_wait_seconds_total", labels(path=path)) in found
    assert not [k for k in found if k[0] == "dtconsole_dingtalk_call_errors_total"]
    assert value(text, "dtconsole_pending_changes") == 1
    assert value(text, "dtconsole_worker_last_seen_timestamp_seconds") == pytest.approx(
        heartbeat.last_seen().timestamp()
    )


@pytest.mark.django_db(transaction=True)
def test_what_a_worker_process_did_is_in_any_web_process_metrics(sandbox, tmp_path):
    company = make_org("Company", code="co")
    for i in range(4):
        make_account(f"w{i}", orgs=[company])
    provider = make_provider(sandbox, sandbox.app(), [(company, 1)])
    sandbox.control("POST", "calls/reset")
    worker = start_worker(tmp_path, 1)
    try:
        job = sync_job_enqueue(SYSTEM, provider, kind="full", trigger="manual")
        done = ("succeeded", "partial", "failed")
        wait_for(lambda: SyncJob.objects.get(pk=job.pk).status in done, 60, "the worker's sync")
    finally:
        kill(worker)
    assert SyncJob.objects.get(pk=job.pk).status == "succeeded"
    text = scrape()  # this process made no DingTalk call: the worker's counts are in the tables
    seen = {path: n for per_app in sandbox.calls().values() for path, n in per_app.items()}
    assert seen["/topapi/v2/user/create"] == 4
    for path, n in seen.items():
        assert value(text, "dtconsole_dingtalk_calls_total", path=path, errcode="0") == n
    objects = "dtconsole_sync_objects_total"
    assert value(text, objects, object_type="user", action="create", status="success") == 4
    assert value(text, "dtconsole_worker_last_seen_timestamp_seconds") > 0


def test_dingtalk_refusals_are_counted_as_errors_by_path_and_errcode(sandbox):
    company = make_org("Company", code="co")
    make_account("ann", orgs=[company])
    app = sandbox.app()
    provider = make_provider(sandbox, app, [(company, 1)])
    path = "/topapi/v2/user/create"
    sandbox.control("POST", "faults", path=path, count=2, kind="errcode_90002")
    job = sync_job_enqueue(SYSTEM, provider, kind="full", trigger="manual")
    engine.run_job(job.pk)
    text = scrape()
    assert value(text, "dtconsole_dingtalk_call_errors_total", path=path, errcode="90002") == 2
    assert value(text, "dtconsole_dingtalk_calls_total", path=path, errcode="90002") == 2
    assert value(text, "dtconsole_dingtalk_calls_total", path=path, errcode="0") == 1


def test_the_queue_length_is_what_waits_in_the_broker_in_use(monkeypatch):
    broker = get_broker(list_key=f"dtconsole-test-metrics-{uuid.uuid4().hex}")
    monkeypatch.setattr(health, "_broker", broker)
    try:
        for _ in range(3):
            broker.enqueue(signing.SignedPackage.dumps({"id": uuid.uuid4().hex}))
        text = scrape()
    finally:
        broker.delete_queue()  # Redis keeps what a test enqueued; the ORM's rows roll back
    assert value(text, "dtconsole_broker_up") == 1
    assert value(text, "dtconsole_queue_length") == 3


def test_an_unreachable_broker_is_reported_without_a_queue_length(monkeypatch):
    class Down:
        def queue_size(self):
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379")

    monkeypatch.setattr(health, "_broker", Down())
    text = scrape()
    assert value(text, "dtconsole_broker_up") == 0
    assert not [k for k in samples(text) if k[0] == "dtconsole_queue_length"]


# --- who may read them -----------------------------------------------------------------------


def test_an_anonymous_request_gets_401_and_no_data():
    response = Client().get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"dtconsole_" not in response.content


def test_a_wrong_token_gets_403_and_no_data():
    response = Client().get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 403 and b"dtconsole_" not in response.content


def test_no_token_configured_means_no_token_is_accepted(settings):
    settings.METRICS_TOKEN = ""
    response = Client().get("/metrics", headers={"Authorization": "Bearer "})
    assert response.status_code == 403 and b"dtconsole_" not in response.content


def test_the_configured_token_is_accepted():
    assert "dtconsole_sync_jobs" in scrape()


def test_an_allowed_address_needs_no_token(settings):
    settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("10.0.0.0/8")]
    allowed = Client(REMOTE_ADDR="10.1.2.3").get("/metrics")
    assert allowed.status_code == 200 and b"dtconsole_sync_jobs" in allowed.content
    refused = Client(REMOTE_ADDR="192.168.1.5").get("/metrics")
    assert refused.status_code == 401 and b"dtconsole_" not in refused.content


def test_an_allowed_ipv6_address_and_a_mapped_ipv4_one(settings):
    settings.METRICS_ALLOWED_NETWORKS = [
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("fd00::/8"),
    ]
    assert Client(REMOTE_ADDR="fd00::5").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="::ffff:127.0.0.1").get("/metrics").status_code == 200


def test_a_logged_in_viewer_may_read_them():
    client = Client()
    client.force_login(make_user("vera", "viewer"))
    assert client.get("/metrics").status_code == 200


def test_a_scrape_over_plain_http_is_not_redirected_in_production(settings):
    settings.SECURE_SSL_REDIRECT = True
    assert "dtconsole_sync_jobs" in scrape()
