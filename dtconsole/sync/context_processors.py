"""The page banner when no background worker runs: every page reads ``worker``."""

from datetime import datetime, timedelta
from functools import cached_property

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from dtconsole.access import roles

from .heartbeat import last_seen


class WorkerPresence:
    """Whether a worker was seen lately, read (one query) only if a template asks."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request

    @cached_property
    def last_seen(self) -> datetime | None:
        return last_seen()

    @cached_property
    def missing(self) -> bool:
        """True for a console user when no worker was seen within WORKER_STALE_SECONDS."""
        user = getattr(self.request, "user", None)
        if user is None or not user.is_authenticated or not user.has_perm(roles.VIEW):
            return False
        limit = timezone.now() - timedelta(seconds=settings.WORKER_STALE_SECONDS)
        return self.last_seen is None or self.last_seen < limit


def worker(request: HttpRequest) -> dict[str, WorkerPresence]:
    return {"worker": WorkerPresence(request)}
