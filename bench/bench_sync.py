"""Benchmark: full synchronisation speed against the sandbox, and the cost of a no-op re-sync.

Run: .venv/bin/python bench/bench_sync.py [--small]

a. Initial full sync of 2,000 accounts / 200 organisations with the sandbox limited to 20
   calls per second per app and API path (DingTalk's standard limit). The floor is what the
   limit allows: for each API path, its calls / 20, added up along the chain (departments,
   then users). Ratio = wall time / floor.
b. Unthrottled initial sync of 10,000 accounts / 1,000 organisations: objects (departments
   and users) created per second, and the console's CPU seconds per 1,000 objects (the
   sandbox runs in another process).
c. No-op re-sync of b's directory: write calls, and read calls / the minimum reads needed
   (one department/get of the target, one listsub per department, one user/list page per
   started 100 direct members, at least one per department).
"""

from __future__ import annotations

import math
import sys

from harness import Sandbox, bind_provider, figure, report, run_full, seed, setup_django

WRITES = ("create", "update", "delete")
QPS = 20


def throttled(orgs: int, accounts: int) -> bool:
    sandbox = Sandbox(qps=QPS)
    try:
        seed(orgs, accounts)
        provider = bind_provider(sandbox, qps=QPS)
        job, wall, _ = run_full(provider)
        calls = sandbox.calls()
    finally:
        sandbox.stop()
    floor = sum(n / QPS for n in calls.values())
    print(
        f"a. initial full sync, {accounts} accounts / {orgs} organisations, {QPS} calls/s per path"
    )
    print(
        f"  status {job.status}; wall {wall:.1f} s; floor {floor:.1f} s; "
        f"calls {dict(sorted(calls.items()))}"
    )
    return report("wall time / floor", wall / floor, "ratio", 1.15, at_most=True)


def minimum_reads() -> int:
    """Reads a full sync cannot do without, given what DingTalk holds (all of it ours here)."""
    from django.db.models import Count

    from dtconsole.directory.models import Membership
    from dtconsole.sync.models import DepartmentLink

    departments = DepartmentLink.objects.count() + 1  # and the target department itself
    members = Membership.objects.values("organization").annotate(n=Count("id"))
    pages = sum(max(1, math.ceil(row["n"] / 100)) for row in members)
    empty = departments - members.count()
    return 1 + departments + pages + max(0, empty)


def unthrottled(orgs: int, accounts: int) -> bool:
    sandbox = Sandbox(qps=0)
    ok = True
    try:
        seed(orgs, accounts)
        provider = bind_provider(sandbox, qps=0)
        job, wall, cpu = run_full(provider)
        # Counted: the departments and users the sync created. Not counted: the root
        # organisation (it maps onto an existing department) and the disabled accounts
        # (about 3%; a disabled account is not created).
        objects = sum(n for key, n in job.counters.items() if key.endswith("_create"))
        print(f"b. unthrottled initial sync, {accounts} accounts / {orgs} organisations")
        print(
            f"  status {job.status}; {objects} objects created; wall {wall:.1f} s; "
            f"console CPU {cpu:.1f} s; counters {job.counters}"
        )
        ok &= report("objects per second", objects / wall, "objects/s", 300, at_most=False)
        figure("console CPU seconds per 1,000 objects", cpu / objects * 1000, "s")
        sandbox.control("POST", "calls/reset")
        job, wall, _ = run_full(provider)
        calls = sandbox.calls()
    finally:
        sandbox.stop()
    writes = sum(n for path, n in calls.items() if path.rsplit("/", 1)[-1] in WRITES)
    reads = (
        sum(n for path, n in calls.items() if "/oauth2/" not in path and path != "/gettoken")
        - writes
    )
    print(
        f"c. no-op re-sync of b's directory: status {job.status}; wall {wall:.1f} s; "
        f"calls {dict(sorted(calls.items()))}"
    )
    ok &= report("write calls", writes, "calls", 0, at_most=True)
    ok &= report("read calls / minimum reads", reads / minimum_reads(), "ratio", 1.1, at_most=True)
    return ok


def main() -> int:
    small = "--small" in sys.argv
    setup_django("sync")
    from django.core.management import call_command

    ok = throttled(20 if small else 200, 200 if small else 2000)
    call_command("flush", "--noinput", verbosity=0)
    ok &= unthrottled(100 if small else 1000, 1000 if small else 10000)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
