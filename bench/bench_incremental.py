"""Benchmark: incremental sync latency, from the commit of an edit to the change in DingTalk.

Run: .venv/bin/python bench/bench_incremental.py [--edits N]

For each broker (django-q2's ORM broker, then Redis at REDIS_URL or redis://127.0.0.1:6379/0)
a real worker (manage.py qcluster) runs; N single-account edits are made one after another
through the directory service, and for each the time from its commit to the new value being
readable in the sandbox (user/get, polled every 10 ms) is measured. Prints p50 and p95.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from harness import APP, ROOT, Sandbox, bind_provider, report, run_full, seed, setup_django

TARGETS = {"orm": 2.0, "redis": 1.0}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def measure(broker: str, edits: int) -> bool:
    setup_django(f"incremental-{broker}")
    from connectors.dingtalk.client import DingTalkClient
    from dtconsole.access.services import SYSTEM
    from dtconsole.directory import services
    from dtconsole.directory.models import Account
    from dtconsole.sync.models import UserLink

    sandbox = Sandbox(qps=20)
    worker = None
    try:
        seed(40, 400)
        provider = bind_provider(sandbox, qps=20)
        provider.incremental_enabled = True
        provider.save()
        job, _, _ = run_full(provider)
        assert job.status == "succeeded", job.error
        sandbox.control(
            "POST", "apps", **{**APP, "app_key": "dingbenchreader", "agent_id": "9", "qps": 0}
        )
        reader = DingTalkClient(
            "dingbenchreader",
            APP["app_secret"],
            oapi_base=sandbox.url,
            api_base=sandbox.url,
            qps=None,
        )
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=dict(os.environ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(3)  # let the cluster start its workers
        links = dict(UserLink.objects.values_list("account_ref", "userid")[:edits])
        latencies = []
        for n, (account_id, userid) in enumerate(links.items()):
            title = f"Bench {n}"
            services.account_update(SYSTEM, Account.objects.get(pk=account_id), title=title)
            committed = time.perf_counter()
            while reader.user_get(userid).title != title:
                if time.perf_counter() - committed > 30:
                    raise RuntimeError(f"edit {n} did not reach the sandbox in 30 s")
                time.sleep(0.01)
            latencies.append(time.perf_counter() - committed)
    finally:
        if worker is not None:
            os.killpg(worker.pid, 9)  # a benchmark's worker need not stop gracefully
            worker.wait(timeout=20)
        sandbox.stop()
    print(f"d. incremental latency, {len(latencies)} edits, {broker} broker")
    print(f"  p50 {statistics.median(latencies):.3f} s, max {max(latencies):.3f} s")
    return report(
        f"p95 commit -> visible in DingTalk ({broker})",
        percentile(latencies, 95),
        "s",
        TARGETS[broker],
        at_most=True,
    )


def main() -> int:
    edits = int(sys.argv[sys.argv.index("--edits") + 1]) if "--edits" in sys.argv else 200
    if "--broker" in sys.argv:
        broker = sys.argv[sys.argv.index("--broker") + 1]
        return 0 if measure(broker, edits) else 1
    ok = True
    for broker in ("orm", "redis"):
        env = dict(os.environ)
        env.pop("REDIS_URL", None)
        if broker == "redis":
            env["REDIS_URL"] = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        args = [sys.executable, __file__, "--broker", broker, "--edits", str(edits)]
        ok &= subprocess.run(args, env=env, cwd=ROOT / "bench").returncode == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
