"""Unit tests of connectors.dingtalk.pacing with a fake clock: no sleeping, no HTTP."""

from __future__ import annotations

import threading
import time

from connectors.dingtalk.pacing import Backoff, Pacer


class FakeClock:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def call_times(pacer: Pacer, clock: FakeClock, n: int, key: object = "k") -> list[float]:
    """Start ``n`` calls back to back and return when each one was allowed out."""
    times = []
    for _ in range(n):
        with pacer.pace(key):
            times.append(clock.now)
    return times


def max_in_any_window(times: list[float], window: float = 1.0) -> int:
    """The largest number of calls inside any half-open window of ``window`` seconds."""
    return max(sum(1 for t in times if start <= t < start + window) for start in times)


def test_the_first_qps_calls_go_out_without_waiting():
    clock = FakeClock()
    pacer = Pacer(5, clock=clock, sleep=clock.sleep)
    assert call_times(pacer, clock, 5) == [100.0] * 5
    assert clock.slept == []


def test_no_one_second_window_ever_holds_more_than_qps_calls():
    clock = FakeClock()
    pacer = Pacer(5, clock=clock, sleep=clock.sleep)
    times = call_times(pacer, clock, 23)
    assert max_in_any_window(times) == 5


def test_the_budget_is_used_fully_at_about_qps_calls_per_second():
    clock = FakeClock()
    pacer = Pacer(20, clock=clock, sleep=clock.sleep)
    times = call_times(pacer, clock, 100)
    elapsed = times[-1] - times[0]
    # 100 calls at 20/s need 4 full windows after the first burst, plus the small slack.
    assert 4.0 <= elapsed <= 4.0 * 1.05


def test_keys_are_paced_independently():
    clock = FakeClock()
    pacer = Pacer(2, clock=clock, sleep=clock.sleep)
    call_times(pacer, clock, 2, key=("app", "/a"))
    call_times(pacer, clock, 2, key=("app", "/b"))
    assert clock.slept == []


def test_idle_time_frees_the_window():
    clock = FakeClock()
    pacer = Pacer(3, clock=clock, sleep=clock.sleep)
    call_times(pacer, clock, 3)
    clock.now += 5
    call_times(pacer, clock, 3)
    assert clock.slept == []


def test_a_qps_of_none_disables_pacing():
    clock = FakeClock()
    pacer = Pacer(None, clock=clock, sleep=clock.sleep)
    call_times(pacer, clock, 1000)
    assert clock.slept == [] and not pacer.enabled


def test_threads_sharing_a_key_book_a_schedule_that_never_exceeds_qps():
    # The clock stands still, so every booked start is exactly ``now + wait``: the schedule the
    # threads booked concurrently must still hold at most qps calls in any window.
    pacer = Pacer(10, slack=0.0, clock=lambda: 100.0)
    starts: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(50):
            start = 100.0 + pacer.reserve("k")[0]
            with lock:
                starts.append(start)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    starts.sort()
    assert len(starts) == 400
    assert all(
        later - earlier >= 1.0 for earlier, later in zip(starts[:-10], starts[10:], strict=True)
    )
    assert starts[-1] == 100.0 + 39  # 40 windows of 10 calls: the budget is used fully


def test_a_call_that_leaves_late_pushes_back_the_call_a_window_after_it():
    # DingTalk counts arrivals: a call that only got out (and answered) 0.3 s after its slot
    # moves the slot, so the call qps places behind it keeps a full window from its arrival.
    clock = FakeClock()
    pacer = Pacer(2, slack=0.0, clock=clock, sleep=clock.sleep)
    with pacer.pace("k"):
        clock.now += 0.3  # the first call is late: it arrives and is answered at 100.3
    with pacer.pace("k"):
        pass
    with pacer.pace("k") as waited:
        pass
    assert clock.now == 101.3 and waited == 1.0


def test_a_call_on_time_keeps_its_booked_slot():
    clock = FakeClock()
    pacer = Pacer(2, slack=0.0, clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(6):
        with pacer.pace("k"):
            starts.append(clock.now)
    assert starts == [100.0, 100.0, 101.0, 101.0, 102.0, 102.0]


def test_real_sleeping_paces_real_time():
    pacer = Pacer(5, slack=0.0)
    start = time.monotonic()
    for _ in range(10):
        with pacer.pace("k"):
            pass
    assert 0.95 <= time.monotonic() - start < 1.5


def test_backoff_grows_exponentially_up_to_the_cap():
    backoff = Backoff(base=0.5, cap=3.0, rand=lambda: 1.0)
    assert [backoff.delay(n) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_backoff_uses_full_jitter_between_zero_and_the_ceiling():
    backoff = Backoff(base=1.0, cap=10.0, rand=lambda: 0.25)
    assert backoff.delay(2) == 1.0  # 0.25 * min(10, 1 * 2**2)


def test_rate_limited_retries_wait_at_least_the_rate_limit_window():
    backoff = Backoff(base=0.1, rate_limit_wait=1.0, rand=lambda: 0.0)
    assert backoff.delay(0, rate_limited=True) == 1.0
