"""Benchmark: directory pages at 100,000 accounts and 5,000 organisations.

Run: .venv/bin/python bench/bench_directory.py [--accounts N] [--orgs M]

Seeds the demo directory, then times each page's server time through the Django test
client (DEBUG off, 20 runs after a warm-up): the organisation tree, a large node's children,
the account list (first page, a search, an organisation filter with sub-organisations, a
deep page). Prints p50 and p95; the target is p95 at most 200 ms.
"""

from __future__ import annotations

import statistics
import sys
import time

from harness import report, seed, setup_django


def timings(client, url: str, params: dict) -> list[float]:
    client.get(url, params)
    out = []
    for _ in range(20):
        started = time.perf_counter()
        response = client.get(url, params)
        out.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return sorted(out)


def arg(name: str, default: int) -> int:
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def main() -> int:
    accounts = arg("--accounts", 100_000)
    orgs = arg("--orgs", 5_000)
    setup_django("directory")
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db.models import Count
    from django.test import Client

    from dtconsole.directory.models import Organization

    started = time.perf_counter()
    seed(orgs, accounts)
    seconds = time.perf_counter() - started
    print(f"directory pages, {accounts:,} accounts / {orgs:,} organisations")
    print(f"  seeded in {seconds:.0f} s")
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(
        get_user_model().objects.create_superuser("bench", "", "bench-password-0123")
    )
    root = (
        Organization.objects.filter(parent=None)
        .annotate(n=Count("children"))
        .order_by("-n")
        .first()
    )
    cases = {
        "organisation tree": ("/directory/", {}),
        "children of the largest root": (f"/directory/orgs/{root.pk}/children/", {}),
        "account list, first page": ("/directory/accounts/", {}),
        "account search": ("/directory/accounts/", {"q": "Wang"}),
        "accounts of a root, with sub-organisations": (
            "/directory/accounts/",
            {"org": root.pk, "include_sub": "on"},
        ),
        "account list, page 1,000": ("/directory/accounts/", {"page": 1000}),
    }
    ok = True
    for name, (url, params) in cases.items():
        times = timings(client, url, params)
        print(f"  {name}: p50 {statistics.median(times):.0f} ms")
        ok &= report(
            f"p95 server time, {name}", times[int(0.95 * (len(times) - 1))], "ms", 200, at_most=True
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
