"""DingTalk calls per API path and errcode, counted by whichever process makes them.

``provider_client`` gives every client ``record_dingtalk_call`` as its ``on_call`` observer.
Calls are counted in this process's memory and added to ``CallTotal`` in batches: at most
every few seconds while calls go on (never inside a transaction, so no caller's transaction
holds the totals' row locks), when a job ends, when a background task ends, and when a web
request that made calls ends. A process killed outright loses at most its last few seconds
of counts.
"""

import logging
import threading
import time
from collections.abc import Callable

from django.db import DatabaseError, connection, transaction

from connectors.dingtalk.types import CallInfo

from . import totals
from .models import CallTotal

log = logging.getLogger(__name__)

FLUSH_SECONDS = 5.0
CALL_AMOUNTS = ("calls", "seconds", "waited_seconds")


class CallTally:
    """The calls one process made since its last flush: (path, errcode) -> calls, seconds,
    seconds waited. Thread-safe: a sync applies users on several threads."""

    def __init__(
        self, interval: float = FLUSH_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str], list[float]] = {}
        self._flushed_at = clock()

    def __call__(self, info: CallInfo) -> None:
        """Count one attempt (the client's ``on_call``); flush when the batch is due."""
        key = (info.path[:128], str(info.errcode)[:32])
        _thread.observed = True
        with self._lock:
            row = self._pending.setdefault(key, [0, 0.0, 0.0])
            row[0] += 1
            row[1] += info.duration
            row[2] += info.waited
            due = self._clock() - self._flushed_at >= self.interval
        if due and not connection.in_atomic_block:
            self.flush()

    def pending(self) -> dict[tuple[str, str], tuple[int, float, float]]:
        """What is counted but not yet flushed (for tests and diagnostics)."""
        with self._lock:
            return {key: (int(c), s, w) for key, (c, s, w) in self._pending.items()}

    def flush(self) -> None:
        """Add what is counted to ``CallTotal``; on a database error keep it for next time."""
        with self._lock:
            batch, self._pending = self._pending, {}
            self._flushed_at = self._clock()
        if not batch:
            return
        rows = [(path, code, int(c), s, w) for (path, code), (c, s, w) in batch.items()]
        try:
            with transaction.atomic():  # a savepoint when a caller's transaction is open
                totals.add(CallTotal, ("path", "errcode"), CALL_AMOUNTS, rows)
        except DatabaseError:
            log.warning("DingTalk call counts not saved yet (database error); kept", exc_info=True)
            self._restore(batch)

    def _restore(self, batch: dict[tuple[str, str], list[float]]) -> None:
        with self._lock:
            for key, amounts in batch.items():
                row = self._pending.setdefault(key, [0, 0.0, 0.0])
                for i, amount in enumerate(amounts):
                    row[i] += amount


# One per process: every client of this process counts into it.
tally = CallTally()
# Whether this thread observed a call since its current web request started.
_thread = threading.local()


def record_dingtalk_call(info: CallInfo) -> None:
    """The ``on_call`` observer ``provider_client`` gives every DingTalk client."""
    tally(info)


def flush_calls() -> None:
    """Add this process's counted calls to the totals now."""
    tally.flush()


def request_started(**kwargs) -> None:
    """Receiver for request_started: this request has observed no call yet."""
    _thread.observed = False


def request_finished(**kwargs) -> None:
    """Receiver for request_finished: save the calls, if this request made any (a request
    that made none costs no query)."""
    if getattr(_thread, "observed", False):
        _thread.observed = False
        tally.flush()


def task_finished(**kwargs) -> None:
    """Receiver for django-q2's post_execute_in_worker: save what the task's calls counted."""
    if tally.pending():
        tally.flush()
