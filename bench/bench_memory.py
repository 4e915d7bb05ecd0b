"""Benchmark: peak memory of the console process during an unthrottled full sync.

Run: .venv/bin/python bench/bench_memory.py [--accounts N] [--orgs M]

The directory (default 100,000 accounts, 5,000 organisations) is seeded by this process;
the sync runs in a fresh child process (the sandbox in a third), whose peak resident set
size (ru_maxrss) is the figure.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time

from harness import ROOT, Sandbox, bind_provider, report, run_full, seed, setup_django


def arg(name: str, default: int) -> int:
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def child() -> int:
    """Run the sync in this (fresh) process and print its peak RSS in MB.

    Like a worker, it neither migrates nor collects static files (the parent did both):
    collectstatic alone would add about 30 MB that no sync worker ever holds.
    """
    setup_django("memory", prepare=False)
    sandbox = Sandbox(qps=0)
    try:
        provider = bind_provider(sandbox, qps=0)
        job, wall, cpu = run_full(provider)
    finally:
        sandbox.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  status {job.status}; wall {wall:.0f} s; CPU {cpu:.0f} s; counters {job.counters}")
    print(f"PEAK_MB {peak:.1f}")
    return 0


def main() -> int:
    if "--child" in sys.argv:
        return child()
    accounts, orgs = arg("--accounts", 100_000), arg("--orgs", 5_000)
    setup_django("memory")
    started = time.perf_counter()
    seed(orgs, accounts)
    print(
        f"f. peak memory of an unthrottled full sync, "
        f"{accounts:,} accounts / {orgs:,} organisations"
    )
    print(f"  seeded in {time.perf_counter() - started:.0f} s")
    result = subprocess.run(
        [sys.executable, __file__, "--child"],
        cwd=ROOT / "bench",
        env=dict(os.environ),
        capture_output=True,
        text=True,
    )
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    for line in lines:
        if not line.startswith("PEAK_MB"):
            print(line)
    peak = next((float(line.split()[1]) for line in lines if line.startswith("PEAK_MB")), None)
    if peak is None:
        print(result.stderr[-3000:])
        return 1
    return (
        0
        if report("peak resident memory of the console process", peak, "MB", 400, at_most=True)
        else 1
    )


if __name__ == "__main__":
    sys.exit(main())
