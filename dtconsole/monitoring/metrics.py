"""The /metrics exposition: every value read from the database (or the broker) per scrape.

Nothing is kept in a web process's memory, so every gunicorn process answers the same and
workers on other machines are counted: job rows are grouped as they are, the counters that
would need the events table or a worker's memory are read from small cumulative tables
(``ObjectTotal``, ``CallTotal``) the workers add to.
"""

import logging
from collections.abc import Iterator
from itertools import accumulate

from django.db.models import Case, Count, F, FloatField, Func, Sum, Value, When
from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from dtconsole.sync import heartbeat
from dtconsole.sync.models import PendingChange, SyncJob

from .health import queue_broker
from .models import CallTotal, ObjectTotal

log = logging.getLogger(__name__)

# Upper bounds (seconds) of the job duration buckets: incremental jobs take well under a
# second, an initial sync of thousands of accounts at 20 calls/s takes minutes.
DURATION_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200)


class ConsoleCollector:
    """Yields every dtconsole metric, computed when Prometheus scrapes."""

    def collect(self) -> Iterator[Metric]:
        yield jobs()
        yield job_durations()
        yield objects()
        yield from dingtalk_calls()
        yield pending_changes()
        yield from queue()
        yield worker()


def jobs() -> Metric:
    family = GaugeMetricFamily(
        "dtconsole_sync_jobs", "Sync jobs by kind and status.", labels=["kind", "status"]
    )
    rows = SyncJob.objects.values_list("kind", "status").annotate(n=Count("id")).order_by()
    for kind, status, n in rows:
        family.add_metric([kind, status], n)
    return family


class SecondsBetween(Func):
    """``end - start`` in seconds, computed by the database's own functions (Django's
    DurationField arithmetic calls a Python function per row on SQLite)."""

    output_field = FloatField()
    template = "EXTRACT(EPOCH FROM (%(expressions)s))"
    arg_joiner = " - "

    def __init__(self, end: str, start: str) -> None:
        super().__init__(F(end), F(start))

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s)) * 86400.0)",
            arg_joiner=") - julianday(",
            **extra,
        )


def job_durations() -> Metric:
    """Finished jobs' wall time, from first start to end (waiting for approval included).

    Each job is put in its bucket by the database (one CASE per row) and the buckets are
    counted per kind; the histogram's cumulative counts are summed here.
    """
    family = HistogramMetricFamily(
        "dtconsole_sync_job_duration_seconds",
        "Wall time of finished sync jobs, by kind.",
        labels=["kind"],
    )
    bucket = Case(
        *[When(took__lte=bound, then=Value(i)) for i, bound in enumerate(DURATION_BUCKETS)],
        default=Value(len(DURATION_BUCKETS)),
    )
    rows = (
        SyncJob.objects.filter(started_at__isnull=False, finished_at__isnull=False)
        .annotate(took=SecondsBetween("finished_at", "started_at"))
        .annotate(bucket=bucket)
        .values_list("kind", "bucket")
        .annotate(n=Count("id"), total=Sum("took"))
        .order_by()
    )
    kinds: dict[str, tuple[list[int], list[float]]] = {}
    for kind, index, n, total in rows:
        counts, seconds = kinds.setdefault(kind, ([0] * (len(DURATION_BUCKETS) + 1), [0.0]))
        counts[index] += n
        seconds[0] += total or 0.0
    for kind, (counts, seconds) in sorted(kinds.items()):
        cumulative = list(accumulate(counts))
        buckets = [(repr(float(b)), cumulative[i]) for i, b in enumerate(DURATION_BUCKETS)]
        family.add_metric(
            [kind], [*buckets, ("+Inf", cumulative[-1])], sum_value=max(seconds[0], 0.0)
        )
    return family


def objects() -> Metric:
    family = CounterMetricFamily(
        "dtconsole_sync_objects",
        "Objects (departments, users) handled by sync jobs, by action and outcome; counted "
        "when each job ends or stops for approval.",
        labels=["object_type", "action", "status"],
    )
    for row in ObjectTotal.objects.order_by("object_type", "action", "status"):
        family.add_metric([row.object_type, row.action, row.status], row.total)
    return family


def dingtalk_calls() -> Iterator[Metric]:
    calls = CounterMetricFamily(
        "dtconsole_dingtalk_calls",
        "DingTalk HTTP attempts by API path and errcode (0: success).",
        labels=["path", "errcode"],
    )
    errors = CounterMetricFamily(
        "dtconsole_dingtalk_call_errors",
        "DingTalk HTTP attempts that failed, by API path and errcode (or HTTP status, network).",
        labels=["path", "errcode"],
    )
    seconds = CounterMetricFamily(
        "dtconsole_dingtalk_call_seconds",
        "Time spent in DingTalk HTTP exchanges, by API path.",
        labels=["path"],
    )
    waited = CounterMetricFamily(
        "dtconsole_dingtalk_rate_limit_wait_seconds",
        "Time calls waited in the client's pacer for the per-path rate limit, by API path.",
        labels=["path"],
    )
    by_path: dict[str, list[float]] = {}
    for row in CallTotal.objects.order_by("path", "errcode"):
        calls.add_metric([row.path, row.errcode], row.calls)
        if row.errcode != "0":
            errors.add_metric([row.path, row.errcode], row.calls)
        spent = by_path.setdefault(row.path, [0.0, 0.0])
        spent[0] += row.seconds
        spent[1] += row.waited_seconds
    for path, (exchange, pacer) in by_path.items():
        seconds.add_metric([path], exchange)
        waited.add_metric([path], pacer)
    yield from (calls, errors, seconds, waited)


def pending_changes() -> Metric:
    family = GaugeMetricFamily(
        "dtconsole_pending_changes",
        "Directory changes waiting for an incremental sync.",
    )
    family.add_metric([], PendingChange.objects.count())
    return family


def queue() -> Iterator[Metric]:
    """Tasks waiting in the broker; the broker's own state when it cannot be read."""
    up = GaugeMetricFamily("dtconsole_broker_up", "1 if the django-q2 broker answered.")
    length = GaugeMetricFamily(
        "dtconsole_queue_length", "Background tasks queued in the broker, not yet taken."
    )
    try:
        size = queue_broker().queue_size()
    except Exception:
        log.warning("metrics: the broker did not answer", exc_info=True)
        up.add_metric([], 0)
        yield up
        return
    up.add_metric([], 1)
    length.add_metric([], size)
    yield from (up, length)


def worker() -> Metric:
    family = GaugeMetricFamily(
        "dtconsole_worker_last_seen_timestamp_seconds",
        "When a background worker last reported it was alive (Unix time).",
    )
    seen = heartbeat.last_seen()
    if seen is not None:
        family.add_metric([], seen.timestamp())
    return family


registry = CollectorRegistry()
registry.register(ConsoleCollector())
