"""The page banner when no background worker runs: every page reads ``worker``."""

from datetime import datetime
from functools import cached_property

from django.http import HttpRequest

from dtconsole.access import roles

from .heartbeat import is_alive, last_seen


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
        return not is_alive(self.last_seen)


def worker(request: HttpRequest) -> dict[str, WorkerPresence]:
    return {"worker": WorkerPresence(request)}
