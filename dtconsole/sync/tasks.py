"""django-q2 task entry points: thin adapters that take ids and call the engine."""

from dtconsole.directory.imports import recover_stale_imports
from dtconsole.notifications.triggers import check_freshness

from . import engine, heartbeat, watchdog


def run_sync_job(job_id: int) -> None:
    """Run one sync job (queued by ``dtconsole.sync.services``)."""
    heartbeat.beat()
    engine.run_job(job_id)


def sync_watchdog() -> None:
    """Every minute: say the worker is alive, resume jobs whose worker died, start scheduled
    full syncs, queue notifications of providers past their freshness window, undo CSV
    imports whose worker died."""
    heartbeat.beat()
    watchdog.resume_stale_jobs()
    watchdog.start_scheduled_syncs()
    check_freshness()
    recover_stale_imports()
