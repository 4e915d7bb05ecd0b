"""GET /healthz: the database, the broker and a worker's heartbeat, for a load balancer."""

from datetime import timedelta
from unittest import mock

import pytest
import redis
from django.db import OperationalError
from django.utils import timezone
from django_q.brokers.redis_broker import Redis as RedisBroker

from dtconsole.monitoring import health
from dtconsole.sync import heartbeat
from dtconsole.sync.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_broker(monkeypatch):
    """Each test builds the process's broker anew (a test may replace it)."""
    monkeypatch.setattr(health, "_broker", None)


def test_everything_ok_answers_200_with_each_part_ok(client):
    heartbeat.beat()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok", "worker": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_a_head_request_from_a_load_balancer_gets_the_status_only(client):
    heartbeat.beat()
    assert client.head("/healthz").status_code == 200


def test_no_worker_ever_seen_answers_503_saying_so(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok" and body["broker"] == "ok"
    assert body["worker"] == "no worker has been seen: start one with manage.py qcluster"


def test_a_worker_silent_past_the_limit_answers_503_with_how_long(client, settings):
    settings.WORKER_STALE_SECONDS = 90
    seen = timezone.now() - timedelta(seconds=300)
    WorkerHeartbeat.objects.create(host="w1", pid=1, seen_at=seen)
    response = client.get("/healthz")
    assert response.status_code == 503
    worker = response.json()["worker"]
    assert worker.startswith("no worker seen for 300 seconds") and "allowed 90" in worker
    assert seen.isoformat(timespec="seconds") in worker


def test_an_unreachable_database_answers_503_with_the_reason_and_no_password(client):
    failure = OperationalError(
        'connection to server at "db.internal", port 5432 failed: password=hunter2 refused\n'
        "\tIs the server running?"
    )
    broken = mock.MagicMock()
    broken.cursor.side_effect = failure
    with mock.patch.object(health, "connection", broken):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"].startswith("unavailable: OperationalError: connection to server")
    assert "hunter2" not in response.content.decode()
    assert "Is the server running" not in body["database"]  # the first line only
    assert body["worker"] == "unknown: the database is unavailable"


def test_an_unreachable_redis_broker_answers_503_with_the_reason_and_no_password(client):
    heartbeat.beat()
    broker = RedisBroker(list_key="dtconsole-test")
    broker.connection = redis.Redis.from_url(
        "redis://:hunter2@127.0.0.1:1/0", socket_connect_timeout=1, socket_timeout=1
    )
    health._broker = broker
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["broker"].startswith("unavailable: ConnectionError")
    assert body["database"] == "ok" and body["worker"] == "ok"
    assert "hunter2" not in response.content.decode()


def test_a_broken_orm_broker_table_answers_503(client):
    heartbeat.beat()
    broker = mock.MagicMock()
    broker.queue_size.side_effect = OperationalError("no such table: django_q_ormq")
    health._broker = broker
    response = client.get("/healthz")
    assert response.status_code == 503
    reason = "unavailable: OperationalError: no such table: django_q_ormq"
    assert response.json()["broker"] == reason


def test_the_check_is_not_redirected_to_https_in_production(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    heartbeat.beat()
    assert client.get("/healthz").status_code == 200
    assert client.get("/login/").status_code == 301  # pages still are


def test_reasons_mask_passwords_in_urls_and_dsns():
    err = OperationalError("could not reach redis://:s3cret@cache:6379/0 or user=x password=pw")
    text = health.describe(err)
    assert "s3cret" not in text and "pw" not in text.split("password=")[1]
    assert "redis://:***@cache:6379/0" in text
