"""Rate limiters: per (app, API) QPS, global per-API QPS, the per-IP flood ban and the
monthly per-organisation quota (§5).

Callers hold the state lock; these classes are not thread-safe on their own.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter, deque
from collections.abc import Hashable
from typing import Any

# DingTalk's calendar is China's: months and days roll over at midnight Beijing time (UTC+8,
# no daylight saving). That the quota month and the once-a-day message rule follow it is
# UNCONFIRMED, but it is the only clock DingTalk documents its limits in.
BEIJING_OFFSET = 8 * 3600


def beijing_day(now: float | None = None) -> str:
    """The calendar day in Beijing, "2026-09-03", at epoch ``now`` (default: now)."""
    seconds = time.time() if now is None else now
    return time.strftime("%Y-%m-%d", time.gmtime(seconds + BEIJING_OFFSET))


def beijing_month(now: float | None = None) -> str:
    """The calendar month in Beijing, "2026-09"."""
    return beijing_day(now)[:7]


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


class MonthlyQuota:
    """Calls per organisation per calendar month (§5: 5,000 on the standard edition).

    Only APIs outside the exemption list count: address-book and token calls never do
    ([D-exempt]). A corp may carry its own limit; otherwise the server default applies.
    """

    def __init__(self) -> None:
        self.used: Counter[tuple[str, str]] = Counter()
        self.limits: dict[str, int] = {}

    def limit_of(self, corp_id: str, default: int) -> int:
        """The corp's monthly limit."""
        return self.limits.get(corp_id, default)

    def spend(self, corp_id: str, default: int, month: str) -> bool:
        """Count one call; False (and nothing counted) when the month's quota is used up."""
        if self.used[(corp_id, month)] >= self.limit_of(corp_id, default):
            return False
        self.used[(corp_id, month)] += 1
        return True

    def view(self, corp_id: str, default: int, month: str) -> dict[str, Any]:
        """What the control API shows for one corp."""
        used, limit = self.used[(corp_id, month)], self.limit_of(corp_id, default)
        return {
            "corp_id": corp_id,
            "month": month,
            "used": used,
            "limit": limit,
            "remaining": max(0, limit - used),
        }

    def clear(self) -> None:
        """Forget usage and per-corp limits."""
        self.used.clear()
        self.limits.clear()


def ip_ban_body() -> dict[str, Any]:
    """The anti-flood body DingTalk's edge returns instead of an errcode (§5)."""
    return {"status": 1111, "wait": 5, "source": "x5", "punish": "deny", "uuid": str(uuid.uuid4())}
