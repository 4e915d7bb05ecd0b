"""Whether a background worker runs: heartbeats written by workers, read by the pages."""

import os
import platform
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from .models import WorkerHeartbeat


def beat() -> None:
    """Record that a worker on this machine is alive (called from worker processes only)."""
    WorkerHeartbeat.objects.update_or_create(
        host=platform.node()[:128] or "worker",
        defaults={"pid": os.getpid(), "seen_at": timezone.now()},
    )


def last_seen() -> datetime | None:
    """When any worker was last seen, or None if never."""
    row = WorkerHeartbeat.objects.order_by("-seen_at").first()
    return row.seen_at if row else None


def is_alive(seen: datetime | None, now: datetime | None = None) -> bool:
    """Whether a worker seen at ``seen`` counts as running: seen within WORKER_STALE_SECONDS
    (the watchdog beats every minute)."""
    limit = timedelta(seconds=settings.WORKER_STALE_SECONDS)
    return seen is not None and seen >= (now or timezone.now()) - limit


def worker_alive(now: datetime | None = None) -> bool:
    """Whether any worker counts as running."""
    return is_alive(last_seen(), now)
