"""django-q2 task entry points: thin adapters that take ids and call the services."""

from . import services


def send_job_notification(job_id: int, kind: str) -> int:
    """Tell the provider's recipients about a failed job or one awaiting approval
    (queued by ``triggers.notify_job_finished``); the number of rows recorded."""
    return len(services.notify_job(job_id, kind))


def send_stale_notification(provider_id: int) -> int:
    """Tell the provider's recipients it is past its freshness window (queued by
    ``triggers.check_freshness``); the number of rows recorded."""
    return len(services.notify_stale(provider_id))
