"""Client-side pacing and retry backoff for DingTalk calls.

DingTalk limits each app to ``qps`` calls per API path in a 1-second window (20, or 60 with the
paid pack; dingtalk-api.md §5) and answers 90018 beyond it. :class:`Pacer` keeps every
(app key, path) under that limit with a sliding window of the last ``qps`` call times, so no
1-second window ever holds more than ``qps`` calls, whether DingTalk counts in fixed or in
sliding windows, while still spending the whole budget (about ``qps`` calls per second).

DingTalk counts a call when it arrives, and a call can leave later than its booked start (a
thread waits for the interpreter, the request is built). So a call made through
:meth:`Pacer.pace` moves its slot to the moment its answer came back, a time DingTalk's
arrival cannot be later than, and the call ``qps`` places behind it starts a window after that.
:class:`Backoff` computes retry delays: exponential with full jitter.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

__all__ = ["Backoff", "Pacer"]

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class Pacer:
    """Thread-safe sliding-window limiter: at most ``qps`` calls per ``window`` seconds per key.

    ``qps`` of None or 0 disables pacing. ``slack`` widens the window slightly because the
    server measures arrival times, and two requests sent exactly one window apart can arrive
    closer together than that. ``clock`` and ``sleep`` are injectable for tests.
    """

    def __init__(
        self,
        qps: float | None = 20,
        *,
        window: float = 1.0,
        slack: float = 0.02,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.qps = int(qps) if qps else 0
        self.window = window + slack
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._slots: dict[Hashable, deque[list[float]]] = {}  # [time] of the last qps calls

    @property
    def enabled(self) -> bool:
        """Whether this pacer limits anything."""
        return self.qps > 0

    def reserve(self, key: Hashable) -> tuple[float, list[float] | None]:
        """Book the next free slot for ``key``: how long the caller must wait, and the slot.

        The slot is booked under the lock, the waiting happens outside it, so threads sharing
        a key queue up in order without holding the lock while sleeping.
        """
        if not self.enabled:
            return 0.0, None
        with self._lock:
            now = self._clock()
            slots = self._slots.setdefault(key, deque())
            # Once full, the call ``qps`` places back bounds us: we start a window after it.
            start = now if len(slots) < self.qps else max(now, slots.popleft()[0] + self.window)
            slot = [start]
            slots.append(slot)
            return start - now, slot

    @contextmanager
    def pace(self, key: Hashable) -> Iterator[float]:
        """Wait for a slot, run the call in the ``with`` block, then date the slot to its end.

        Yields the seconds waited. A call still under way when a later one books uses its
        booked start (only a call slower than the whole window can be).
        """
        wait, slot = self.reserve(key)
        if wait > 0:
            self._sleep(wait)
        try:
            yield wait
        finally:
            if slot is not None:
                with self._lock:
                    slot[0] = max(slot[0], self._clock())


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: attempt ``n`` waits ``U(0, min(cap, base*2**n))``.

    ``max_attempts`` counts the first try. Rate-limit answers wait at least ``rate_limit_wait``
    (DingTalk's QPS window is 1 s, so retrying sooner mostly burns attempts).
    """

    base: float = 0.5
    cap: float = 8.0
    max_attempts: int = 5
    rate_limit_wait: float = 1.0
    rand: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def delay(self, attempt: int, *, rate_limited: bool = False) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (0-based)."""
        ceiling = min(self.cap, self.base * (2**attempt))
        jittered = self.rand() * ceiling
        if rate_limited:
            return self.rate_limit_wait + jittered
        return jittered
