"""DingTalk calls counted by the client observer and added to CallTotal in batches."""

import threading

import pytest
from django.db import DatabaseError, connection, connections
from django.urls import reverse

from connectors.dingtalk.types import CallInfo
from dtconsole.monitoring import calls, totals
from dtconsole.monitoring.calls import CallTally
from dtconsole.monitoring.models import CallTotal
from dtconsole.providers.services import provider_client
from tests.factories import make_org, make_provider

pytestmark = pytest.mark.django_db

USER_GET = "/topapi/v2/user/get"
DEPT_GET = "/topapi/v2/department/get"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def fresh_tally(monkeypatch):
    """This process's tally, emptied of what earlier tests counted."""
    tally = CallTally()
    monkeypatch.setattr(calls, "tally", tally)
    return tally


def totals_by_key() -> dict[tuple[str, str], tuple[int, float, float]]:
    return {
        (row.path, row.errcode): (row.calls, round(row.seconds, 6), round(row.waited_seconds, 6))
        for row in CallTotal.objects.all()
    }


def test_calls_are_summed_per_path_and_errcode_and_written_only_on_flush():
    tally = CallTally(clock=Clock())
    tally(CallInfo(USER_GET, 0, 0.25, 0.0))
    tally(CallInfo(USER_GET, 0, 0.5, 0.125))
    tally(CallInfo(USER_GET, 60121, 0.25, 0.0))
    tally(CallInfo(DEPT_GET, "network", 3.0, 0.0))
    assert CallTotal.objects.count() == 0
    assert tally.pending()[(USER_GET, "0")] == (2, 0.75, 0.125)
    tally.flush()
    assert totals_by_key() == {
        (USER_GET, "0"): (2, 0.75, 0.125),
        (USER_GET, "60121"): (1, 0.25, 0.0),
        (DEPT_GET, "network"): (1, 3.0, 0.0),
    }
    assert tally.pending() == {}


def test_flushes_add_to_what_earlier_flushes_and_other_processes_wrote():
    one, other = CallTally(clock=Clock()), CallTally(clock=Clock())  # two worker processes
    one(CallInfo(USER_GET, 0, 1.0, 0.5))
    one.flush()
    other(CallInfo(USER_GET, 0, 2.0, 0.25))
    other(CallInfo(USER_GET, 0, 2.0, 0.25))
    other.flush()
    one(CallInfo(USER_GET, 0, 1.0, 0.0))
    one.flush()
    assert totals_by_key() == {(USER_GET, "0"): (4, 6.0, 1.0)}


def test_a_batch_is_never_written_inside_the_callers_transaction_even_when_due():
    clock = Clock()
    tally = CallTally(interval=5, clock=clock)
    clock.now += 60
    assert connection.in_atomic_block  # every non-transactional test runs inside one
    tally(CallInfo(USER_GET, 0, 0.1, 0.0))
    assert CallTotal.objects.count() == 0 and tally.pending()


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_batch_is_written_once_the_interval_has_passed():
    clock = Clock()
    tally = CallTally(interval=5, clock=clock)
    tally(CallInfo(USER_GET, 0, 0.1, 0.0))
    clock.now += 4
    tally(CallInfo(USER_GET, 0, 0.1, 0.0))
    assert CallTotal.objects.count() == 0
    clock.now += 1
    tally(CallInfo(USER_GET, 0, 0.1, 0.0))
    assert totals_by_key() == {(USER_GET, "0"): (3, 0.3, 0.0)}
    assert tally.pending() == {}


def test_a_database_error_keeps_the_counts_for_the_next_flush(monkeypatch):
    tally = CallTally(clock=Clock())
    tally(CallInfo(USER_GET, 0, 1.0, 0.0))
    real_add = totals.add

    def broken(*args, **kwargs):
        raise DatabaseError("database is locked")

    monkeypatch.setattr(totals, "add", broken)
    tally.flush()
    tally(CallInfo(USER_GET, 0, 1.0, 0.0))
    assert tally.pending() == {(USER_GET, "0"): (2, 2.0, 0.0)}
    monkeypatch.setattr(totals, "add", real_add)
    tally.flush()
    assert totals_by_key() == {(USER_GET, "0"): (2, 2.0, 0.0)}


@pytest.mark.django_db(transaction=True)
def test_concurrent_flushes_to_the_same_row_lose_no_count():
    def flusher() -> None:
        try:
            for _ in range(25):
                tally = CallTally(clock=Clock())
                tally(CallInfo(USER_GET, 0, 0.5, 0.25))
                tally(CallInfo(USER_GET, 0, 0.5, 0.25))
                tally.flush()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=flusher) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert totals_by_key() == {(USER_GET, "0"): (200, 100.0, 50.0)}


def test_every_client_provider_client_builds_counts_its_calls(sandbox, fresh_tally):
    provider = make_provider(sandbox, sandbox.app(), [(make_org("Company"), 1)])
    sandbox.control("POST", "calls/reset")
    with provider_client(provider) as client:
        client.department_get(1)
        client.department_get(1)
    counted = {path: n for (path, code), (n, _s, _w) in fresh_tally.pending().items()}
    assert counted[DEPT_GET] == 2
    seen = sandbox.calls()
    assert {path: n for app in seen.values() for path, n in app.items()} == counted


def test_a_web_request_that_called_dingtalk_saves_its_counts_when_it_ends(
    admin_client, sandbox, fresh_tally
):
    provider = make_provider(sandbox, sandbox.app(), [(make_org("Company"), 1)])
    url = reverse("providers:department_name", args=[provider.pk])
    response = admin_client.get(url, {"dept_id": 1})
    assert response.status_code == 200
    assert fresh_tally.pending() == {}
    assert totals_by_key()[(DEPT_GET, "0")][0] == 1


def test_a_web_request_that_made_no_call_writes_nothing(admin_client, fresh_tally):
    fresh_tally(CallInfo(USER_GET, 0, 0.1, 0.0))  # left over from before the request
    assert admin_client.get(reverse("providers:list")).status_code == 200
    assert CallTotal.objects.count() == 0 and fresh_tally.pending()
