"""App access tokens shared beyond one client: the :class:`TokenStore` protocol.

DingTalk hands out one token per app and returns the *same* token, renewed, to every fetch
inside its 7200-second lifetime (dingtalk-api.md §1.1). Each sync job builds its own
:class:`~connectors.dingtalk.client.DingTalkClient`, so without a shared store every job (and
every worker process) fetched a token of its own. A store lets them share one.

A store holds at most one token, for one app. Expiry is wall-clock epoch seconds
(``time.time()``): processes on different machines share no monotonic clock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = ["MemoryTokenStore", "StoredToken", "TokenStore", "refresh_margin"]

#: DingTalk's documented token lifetime, assumed when a stored token does not say when it
#: was obtained.
DEFAULT_LIFETIME = 7200.0


def refresh_margin(lifetime: float) -> float:
    """Seconds before expiry at which a token is replaced: 5 minutes, or a tenth of the
    lifetime for short-lived tokens (the sandbox can issue those)."""
    return min(300.0, lifetime * 0.1)


@dataclass(frozen=True)
class StoredToken:
    """An app access token as a store keeps it; the value never appears in reprs.

    ``expires_at`` and ``obtained_at`` are wall-clock epoch seconds. ``obtained_at`` is
    optional: without it the refresh margin of a 7200-second token applies.
    """

    value: str = field(repr=False)
    expires_at: float
    obtained_at: float | None = None

    @property
    def refresh_at(self) -> float:
        """The wall-clock time from which the token counts as absent."""
        lifetime = DEFAULT_LIFETIME
        if self.obtained_at is not None and self.expires_at > self.obtained_at:
            lifetime = self.expires_at - self.obtained_at
        return self.expires_at - refresh_margin(lifetime)

    def usable(self, now: float) -> bool:
        """Whether the token may still be used at wall-clock ``now`` (outside its margin)."""
        return now < self.refresh_at


@runtime_checkable
class TokenStore(Protocol):
    """Where clients of one app share its access token (a database row, a cache entry).

    Implementations must be safe to call from several threads and processes at once.
    """

    def load(self) -> StoredToken | None:
        """The stored token, or None when there is none."""

    def save(self, token: StoredToken) -> None:
        """Store ``token``, replacing whatever was stored."""

    def discard(self, value: str) -> None:
        """Forget the stored token only if its value is still ``value`` (compare and delete):
        another worker may have stored a fresh token since this one was read."""


class MemoryTokenStore:
    """A :class:`TokenStore` in process memory, for tests and single-process tools."""

    def __init__(self, token: StoredToken | None = None) -> None:
        self._lock = threading.Lock()
        self._token = token

    def __repr__(self) -> str:
        return f"MemoryTokenStore(holding={self._token is not None})"

    def load(self) -> StoredToken | None:
        """The stored token, or None."""
        with self._lock:
            return self._token

    def save(self, token: StoredToken) -> None:
        """Replace the stored token."""
        with self._lock:
            self._token = token

    def discard(self, value: str) -> None:
        """Forget the stored token if it is still ``value``."""
        with self._lock:
            if self._token is not None and self._token.value == value:
                self._token = None
