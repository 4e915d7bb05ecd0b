"""Rate limiters: per (app, API) QPS, global per-API QPS, and the per-IP flood ban (§5).

Callers hold the state lock; these classes are not thread-safe on their own.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Hashable
from typing import Any


class SlidingWindow:
    """Counts accepted calls per key over the last `window` seconds.

    DingTalk says only "the QPS window is 1 s". A sliding window (rather than one aligned on
    wall-clock seconds) is our choice (UNCONFIRMED): it is never more lenient than a fixed
    window, and 21 calls within one second are always refused, wherever the second starts.
    Only accepted calls are recorded, so refused calls never eat the next second's budget.
    """

    def __init__(self, window: float = 1.0) -> None:
        self.window = window
        self._hits: dict[Hashable, deque[float]] = {}

    def allows(self, key: Hashable, limit: int, now: float) -> bool:
        """True when one more call fits under `limit` for `key`."""
        hits = self._hits.get(key)
        if hits is None:
            return limit > 0
        cutoff = now - self.window
        while hits and hits[0] <= cutoff:
            hits.popleft()
        return len(hits) < limit

    def record(self, key: Hashable, now: float) -> None:
        """Remember an accepted call."""
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
        hits.append(now)

    def clear(self) -> None:
        """Forget every call."""
        self._hits.clear()


class IpLimiter:
    """DingTalk's per-public-IP flood guard: `calls` per `window` seconds, then a `ban`.

    Defaults are the documented 10000 calls / 20 s / 5 minutes. Fixed windows are enough here.
    """

    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}
        self._banned: dict[str, float] = {}

    def admit(self, ip: str, limits: dict[str, Any], now: float) -> bool:
        """Count a call from `ip`; False while the IP is (or just became) banned."""
        until = self._banned.get(ip)
        if until is not None:
            if now < until:
                return False
            del self._banned[ip]
        start, count = self._windows.get(ip, (now, 0))
        if now - start >= float(limits.get("window", 20)):
            start, count = now, 0
        count += 1
        self._windows[ip] = (start, count)
        if count > int(limits.get("calls", 10000)):
            self._banned[ip] = now + float(limits.get("ban", 300))
            self._windows.pop(ip, None)
            return False
        return True

    def clear(self) -> None:
        """Lift every ban and forget every count."""
        self._windows.clear()
        self._banned.clear()


def ip_ban_body() -> dict[str, Any]:
    """The anti-flood body DingTalk's edge returns instead of an errcode (§5)."""
    return {"status": 1111, "wait": 5, "source": "x5", "punish": "deny", "uuid": str(uuid.uuid4())}
