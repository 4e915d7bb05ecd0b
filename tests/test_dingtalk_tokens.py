"""Sharing one app token between clients through a TokenStore, against the sandbox over HTTP."""

from __future__ import annotations

import logging
import time

import pytest

from connectors.dingtalk.tokens import MemoryTokenStore, StoredToken, TokenStore
from tests.sandbox_helpers import start_sandbox
from tests.test_dingtalk_client import (
    SandboxApp,
    calls_by_anyone,
    control,
    make_app,
    make_client,
    token_calls,
)

DEPT_GET = "/topapi/v2/department/get"


@pytest.fixture(scope="module")
def sandbox_url():
    """One sandbox server for this module (reset for every test)."""
    server = start_sandbox(qps=20)
    yield server.url
    server.stop()


@pytest.fixture
def app(sandbox_url: str) -> SandboxApp:
    """A fresh sandbox with one app."""
    control(sandbox_url, "POST", "reset")
    return make_app(sandbox_url)


def expire_tokens(app: SandboxApp) -> None:
    """Make DingTalk (the sandbox) reject every token of ``app`` from now on."""
    control(app.url, "POST", "tokens/expire", {"app_key": app.app_key})


class BrokenStore:
    """A store whose backend is down: every operation raises."""

    def load(self) -> StoredToken | None:
        raise ConnectionError("token=should-not-be-logged")

    def save(self, token: StoredToken) -> None:
        raise ConnectionError("token=should-not-be-logged")

    def discard(self, value: str) -> None:
        raise ConnectionError("token=should-not-be-logged")


def test_the_memory_store_is_a_token_store():
    assert isinstance(MemoryTokenStore(), TokenStore)


def test_two_clients_sharing_a_store_fetch_one_token_between_them(app):
    store = MemoryTokenStore()
    first, second = make_client(app, token_store=store), make_client(app, token_store=store)
    with first, second:
        first.department_get(1)
        second.department_get(1)
        assert first.access_token() == second.access_token()
    assert token_calls(app) == 1


def test_without_a_store_each_client_fetches_its_own_token(app):
    with make_client(app) as first, make_client(app) as second:
        first.department_get(1)
        second.department_get(1)
    assert token_calls(app) == 2


def test_a_fetched_token_is_saved_with_its_wall_clock_expiry(app):
    store = MemoryTokenStore()
    before = time.time()
    with make_client(app, token_store=store) as dt:
        value = dt.access_token()
    stored = store.load()
    assert stored is not None and stored.value == value
    assert before + 7200 <= stored.expires_at <= time.time() + 7200
    assert before <= stored.obtained_at <= time.time()


def test_a_stored_token_inside_its_refresh_margin_counts_as_absent(app):
    store = MemoryTokenStore(StoredToken("old-token", time.time() + 60, time.time() - 7140))
    with make_client(app, token_store=store) as dt:
        dt.department_get(1)
    assert token_calls(app) == 1
    assert store.load().value not in ("old-token", None)


def test_a_stored_token_without_an_obtained_time_gets_the_five_minute_margin():
    assert not StoredToken("t", expires_at=1000.0).usable(701.0)
    assert StoredToken("t", expires_at=1000.0).usable(699.0)


def test_a_token_expired_in_dingtalk_is_refreshed_once_and_the_store_holds_the_new_one(app):
    store = MemoryTokenStore()
    with make_client(app, token_store=store) as dt:
        dt.department_get(1)
        old = store.load().value
        expire_tokens(app)
        assert dt.department_get(1).dept_id == 1
    assert token_calls(app) == 2
    assert calls_by_anyone(app, DEPT_GET) == 3  # ok, rejected, ok after the refresh
    assert store.load().value not in (old, None)


def test_a_client_whose_token_was_refreshed_by_another_keeps_the_fresh_token(app):
    store = MemoryTokenStore()
    slow, fast = make_client(app, token_store=store), make_client(app, token_store=store)
    with slow, fast:
        slow.department_get(1)
        fast.department_get(1)
        expire_tokens(app)
        fast.department_get(1)  # rejected: discards the old token, fetches and stores a new one
        fresh = store.load().value
        assert slow.department_get(1).dept_id == 1  # rejected too, then takes the stored one
        assert store.load().value == fresh
        assert slow.access_token() == fresh
    assert token_calls(app) == 2


def test_discard_forgets_only_the_value_it_was_given():
    store = MemoryTokenStore(StoredToken("fresh", time.time() + 7200))
    store.discard("stale")
    assert store.load().value == "fresh"
    store.discard("fresh")
    assert store.load() is None


def test_a_failing_store_degrades_to_fetching_and_never_logs_its_error_text(app, caplog):
    caplog.set_level(logging.WARNING, logger="connectors.dingtalk.client")
    with make_client(app, token_store=BrokenStore()) as dt:
        dt.department_get(1)
        expire_tokens(app)
        assert dt.department_get(1).dept_id == 1
    assert token_calls(app) == 2
    assert "token store load failed: ConnectionError" in caplog.text
    assert "should-not-be-logged" not in caplog.text


def test_the_stored_token_value_is_not_in_its_repr():
    assert "secret-value" not in repr(StoredToken("secret-value", 1.0, 0.0))
