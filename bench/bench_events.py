"""Benchmark: the sync events page and the dashboard with 1,000,000 events.

Run: .venv/bin/python bench/bench_events.py [--events N]

Fills a fresh SQLite database with N events over 1,000 jobs of 3 providers (raw batched
inserts; each job's times span its events), then times the server time (the Django test
client, DEBUG off, 30 runs after a warm-up) of the event list (first page, a filtered
page, a search, a deep page, the objects failing now) and of the dashboard, whose "objects
failing now" reads the events since each provider's last completed full sync. Without one,
it reads every failure (up to its cap): that figure is printed too, judged by no target.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
import time

from harness import figure, report, setup_django

COLUMNS = (
    "job_id, provider_id, object_type, source_id, source_name, source_key, mobile, dingtalk_id, "
    "action, status, changes, errcode, sub_code, message, message_args, detail, hint, hint_args, "
    "duration_ms, created_at"
)
SURNAMES = ["Zhang", "Wang", "Li", "Zhao", "Chen", "Liu", "Yang", "Huang", "Wu", "Zhou"]


def fill(n: int) -> None:
    from django.db import connection, transaction

    from dtconsole.providers.models import IdentityProvider
    from dtconsole.sync.models import SyncJob

    providers = [
        IdentityProvider.objects.create(
            name=f"Bench {i}", app_key=f"bench{i}", corp_id="dingx", agent_id="1"
        )
        for i in range(3)
    ]
    SyncJob.objects.bulk_create(
        SyncJob(provider=providers[i % 3], kind="full", trigger="manual", status="succeeded")
        for i in range(1000)
    )
    jobs = list(SyncJob.objects.order_by("id").values_list("id", "provider_id"))
    rng, start, batch = random.Random(7), dt.datetime(2026, 1, 1, tzinfo=dt.UTC), []
    # Constant text: the column list above and 20 placeholders, no value is interpolated.
    sql = f"INSERT INTO sync_syncevent ({COLUMNS}) VALUES ({','.join(['%s'] * 20)})"  # noqa: S608
    with transaction.atomic(), connection.cursor() as cursor:
        for i in range(n):
            batch.append(_row(i, n, jobs, rng, start))
            if len(batch) == 10_000:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
    _time_jobs(jobs, n, start)


def _time_jobs(jobs, n: int, start: dt.datetime) -> None:
    """Give each job the times of its events (created and started at its first, finished at
    its last), as a real run has them."""
    from dtconsole.sync.models import SyncJob

    per_job = n / len(jobs)
    rows = []
    for index, (job_id, _provider) in enumerate(jobs):
        first = start + dt.timedelta(seconds=int(index * per_job) * 30)
        last = start + dt.timedelta(seconds=int((index + 1) * per_job - 1) * 30)
        rows.append(SyncJob(pk=job_id, created_at=first, started_at=first, finished_at=last))
    SyncJob.objects.bulk_update(rows, ["created_at", "started_at", "finished_at"], batch_size=500)


def dashboard_state(providers: list[int]) -> None:
    """What the dashboard also reads: conflicts, pending changes, a job awaiting approval."""
    from django.utils import timezone

    from dtconsole.sync.models import PendingChange, SyncJob, UserConflict, WorkerHeartbeat

    for provider in providers:
        UserConflict.objects.bulk_create(
            UserConflict(provider_id=provider, account_ref=n, field="mobile", value=str(n))
            for n in range(40)
        )
        PendingChange.objects.bulk_create(
            PendingChange(provider_id=provider, object_type="account", object_id=n)
            for n in range(500)
        )
    SyncJob.objects.create(
        provider_id=providers[0], kind="full", trigger="manual", status="awaiting_approval"
    )
    WorkerHeartbeat.objects.create(host="bench", pid=1, seen_at=timezone.now())


def _row(i: int, n: int, jobs, rng: random.Random, start: dt.datetime) -> tuple:
    job_id, provider_id = jobs[i * len(jobs) // n]
    who = rng.randrange(100_000)
    user = who % 20 != 0
    r = rng.random()
    status = (
        "success" if r < 0.9 else "failed" if r < 0.95 else "skipped" if r < 0.98 else "planned"
    )
    failed = status == "failed"
    return (
        job_id,
        provider_id,
        "user" if user else "department",
        who,
        f"{SURNAMES[who % 10]} {who}" if user else f"Dept {who}",
        f"user{who}" if user else f"org{who}",
        f"138{who:08d}" if user else "",
        f"user{who}" if user else str(10_000 + who),
        rng.choice(["create", "update", "update", "match", "skip"]),
        status,
        json.dumps({"title": ["Engineer", "Lead"]}),
        "60104" if failed else "",
        "",
        "mobile already used" if failed else "",
        "{}",
        "mobile already used (60104)" if failed else "",
        "Free the mobile in DingTalk." if failed else "",
        "{}",
        12,
        start + dt.timedelta(seconds=i * 30),
    )


def p95_ms(client, url: str, params: dict) -> float:
    client.get(url, params, secure=True)  # DEBUG off redirects plain HTTP to HTTPS
    times = []
    for _ in range(30):
        started = time.perf_counter()
        response = client.get(url, params, secure=True)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return sorted(times)[int(0.95 * (len(times) - 1))]


def main() -> int:
    n = int(sys.argv[sys.argv.index("--events") + 1]) if "--events" in sys.argv else 1_000_000
    setup_django("events")
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from dtconsole.sync.models import SyncEvent

    started = time.perf_counter()
    fill(n)
    print(f"e. sync events page, {n:,} events (filled in {time.perf_counter() - started:.0f} s)")
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    admin = get_user_model().objects.create_superuser("bench", "", "bench-password-0123")
    client = Client()
    client.force_login(admin)
    oldest = SyncEvent.objects.order_by("id").values_list("id", flat=True).first()
    provider = SyncEvent.objects.values_list("provider_id", flat=True).first()
    cases = {
        "first page": {},
        "filtered (provider + status=failed)": {"provider": provider, "status": "failed"},
        "search by username": {"q": "user4242"},
        "deep page (before the 100th oldest)": {"before": oldest + 100},
    }
    cases["objects failing now (provider)"] = {"provider": provider, "failing": "on"}
    ok = True
    for name, params in cases.items():
        ok &= report(
            f"p95 server time, {name}",
            p95_ms(client, "/sync/events/", params),
            "ms",
            100,
            at_most=True,
        )
    return 0 if dashboard(client) and ok else 1


def dashboard(client) -> bool:
    """The dashboard's server time, then the same without a completed full sync."""
    from dtconsole.sync.models import SyncEvent, SyncJob

    providers = sorted(set(SyncEvent.objects.values_list("provider_id", flat=True)[:10_000]))
    dashboard_state(providers)
    ok = report(
        "p95 server time, dashboard (3 providers)", p95_ms(client, "/", {}), "ms", 100, at_most=True
    )
    SyncJob.objects.filter(status="succeeded").update(status="failed")
    figure("p95 server time, dashboard, no completed full sync", p95_ms(client, "/", {}), "ms")
    return ok


if __name__ == "__main__":
    sys.exit(main())
