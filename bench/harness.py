"""Shared set-up for the benchmarks: a fresh database, a sandbox process, a bound provider.

Benchmarks run the console side in this process (so its CPU time can be read) and the
DingTalk sandbox in a separate process (so its work is not counted as the console's).
"""

from __future__ import annotations

import base64
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

APP = {
    "corp_id": "dingbenchcorp01",
    "app_key": "dingbenchappkey1",
    "app_secret": "bench-app-secret-0123456789abcdef",
    "agent_id": "5000000001",
}


def setup_django(name: str, *, prepare: bool = True) -> Path:
    """Point Django at a new SQLite file (unless DATABASE_URL is set), migrate, return it.

    ``prepare=False`` skips the migration and collectstatic, for a process that only runs
    a sync against a database already prepared (as a worker does).
    """
    db = Path(tempfile.gettempdir()) / f"dtconsole-bench-{name}.sqlite3"
    if "DATABASE_URL" not in os.environ:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dtconsole.settings")
    # Measure as production runs: DEBUG off (no debug cursor, no query log), so it needs
    # its secrets; throwaway ones are made here.
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("CREDENTIALS_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
    os.environ.setdefault("Q_CLUSTER_NAME", f"dtconsole-bench-{name}")
    # The test client speaks plain HTTP: no redirect to HTTPS (production's default).
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
    import django

    django.setup()
    if not prepare:
        return db
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)  # DEBUG off serves the manifest
    if "sqlite" not in os.environ["DATABASE_URL"]:
        call_command("flush", "--noinput", verbosity=0)
    return db


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sandbox:
    """The DingTalk sandbox in its own process."""

    def __init__(self, qps: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "connectors.dingtalk.sandbox",
                "--port",
                str(self.port),
                "--qps",
                str(qps),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.http = requests.Session()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                self.http.get(f"{self.url}/_sandbox/apps", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        self.control("POST", "apps", **APP, qps=qps)

    def control(self, method: str, route: str, **body):
        response = self.http.request(
            method, f"{self.url}/_sandbox/{route}", json=body or None, timeout=60
        )
        response.raise_for_status()
        return response.json()

    def calls(self) -> dict[str, int]:
        return self.control("GET", "calls").get(APP["app_key"], {})

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def bind_provider(sandbox: Sandbox, qps: int):
    """A bound provider for the sandbox app, scoped to the first root organisation → dept 1,
    with no deletion threshold (built by the test suite's own factory)."""
    from dtconsole.directory.models import Organization
    from tests.factories import make_provider

    root = Organization.objects.filter(parent=None).order_by("id").first()
    return make_provider(
        sandbox,
        APP,
        [(root, 1)],
        qps=qps,
        deletion_threshold_count=10**6,
        deletion_threshold_percent=100,
    )


def seed(orgs: int, accounts: int, seed_value: int = 1) -> None:
    from dtconsole.directory.seeding import seed_directory

    seed_directory(orgs=orgs, accounts=accounts, seed=seed_value)


def run_full(provider):
    """Run one full sync in this process; returns (job, wall seconds, CPU seconds)."""
    from dtconsole.access.services import SYSTEM
    from dtconsole.sync import engine
    from dtconsole.sync.services import sync_job_enqueue

    job = sync_job_enqueue(SYSTEM, provider, kind="full", trigger="manual")
    wall, cpu = time.perf_counter(), time.process_time()
    engine.run_job(job.pk)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    job.refresh_from_db()
    return job, wall, cpu


def verdict(value: float, target: float, *, at_most: bool) -> str:
    ok = value <= target if at_most else value >= target
    return "met" if ok else "MISS"


def report(label: str, value: float, unit: str, target: float, *, at_most: bool) -> bool:
    sign = "<=" if at_most else ">="
    status = verdict(value, target, at_most=at_most)
    print(f"  {label:<58} {value:10.3f} {unit:<14} target {sign} {target:<8} {status}")
    return status == "met"


def figure(label: str, value: float, unit: str) -> None:
    """A figure printed for understanding, judged by no target."""
    print(f"  {label:<58} {value:10.3f} {unit:<14} (no target)")
