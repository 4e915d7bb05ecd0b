"""Benchmark: a /metrics scrape with 1,000,000 sync events.

Run: .venv/bin/python bench/bench_metrics.py [--events N]

Fills a fresh database as bench_events.py does (N events over 1,000 finished jobs of 3
providers), gives the jobs durations, and counts each job's events into the totals table
the way the engine's hook does when a job ends (its cost per job is printed). Then times
the whole /metrics answer (the Django test client with the token, DEBUG off, 30 runs after
a warm-up), and, for comparison, grouping the events table itself, which the scrape never
does.
"""

from __future__ import annotations

import datetime as dt
import sys
import time

from bench_events import fill
from harness import figure, report, setup_django

TOKEN = "bench-metrics-token-0123456789"


def give_durations() -> None:
    from django.db.models import F

    from dtconsole.sync.models import SyncJob

    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for n, job_id in enumerate(SyncJob.objects.order_by("id").values_list("id", flat=True)):
        SyncJob.objects.filter(pk=job_id).update(
            started_at=start, finished_at=start + dt.timedelta(seconds=1 + (n * 37) % 900)
        )
    assert SyncJob.objects.filter(finished_at__gt=F("started_at")).count() == 1000


def count_every_job() -> float:
    """Seconds the job-end hook takes per job (1,000 events each here)."""
    from dtconsole.monitoring.tallies import count_job_events
    from dtconsole.sync.models import SyncJob

    ids = list(SyncJob.objects.values_list("id", flat=True))
    started = time.perf_counter()
    counted = sum(count_job_events(job_id) for job_id in ids)
    elapsed = time.perf_counter() - started
    from dtconsole.sync.models import SyncEvent

    assert counted == SyncEvent.objects.count(), counted
    return elapsed / len(ids)


def p95_ms(client, url: str, headers: dict) -> float:
    assert client.get(url, headers=headers).status_code == 200
    times = []
    for _ in range(30):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return sorted(times)[int(0.95 * (len(times) - 1))]


def group_events_ms() -> float:
    from django.db.models import Count

    from dtconsole.sync.models import SyncEvent

    started = time.perf_counter()
    rows = list(
        SyncEvent.objects.values_list("object_type", "action", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    assert rows
    return (time.perf_counter() - started) * 1000


def main() -> int:
    n = int(sys.argv[sys.argv.index("--events") + 1]) if "--events" in sys.argv else 1_000_000
    setup_django("metrics")
    from django.conf import settings
    from django.test import Client

    started = time.perf_counter()
    fill(n)
    give_durations()
    print(f"/metrics with {n:,} events (filled in {time.perf_counter() - started:.0f} s)")
    figure("job-end hook: count one job's events (1,000 each)", count_every_job() * 1000, "ms")
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.METRICS_TOKEN = TOKEN
    headers = {"Authorization": f"Bearer {TOKEN}"}
    scrape = p95_ms(Client(), "/metrics", headers)
    ok = report("p95 /metrics answer", scrape, "ms", 100, at_most=True)
    grouped = group_events_ms()
    figure("for comparison: grouping the events table once", grouped, "ms")
    figure("ratio grouping / scrape", grouped / scrape, "x")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
