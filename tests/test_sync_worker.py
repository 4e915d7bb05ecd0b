"""A worker killed in the middle of a full sync: the job is resumed and converges."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from dtconsole.access.services import SYSTEM
from dtconsole.sync import watchdog
from dtconsole.sync.models import SyncEvent, SyncJob, UserLink
from dtconsole.sync.services import sync_job_enqueue
from tests.factories import make_account, make_org, make_provider
from tests.test_sync_engine import dingtalk

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db(transaction=True)


def database_url() -> str:
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def start_worker(tmp_path: Path, n: int) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=database_url(), SYNC_STALE_SECONDS="2", Q_WORKERS="1")
    log = open(tmp_path / f"worker{n}.log", "w")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )


def kill(worker: subprocess.Popen) -> None:
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_worker_killed_mid_run_is_resumed_without_duplicates_or_lost_events(
    sandbox, settings, tmp_path
):
    settings.SYNC_STALE_SECONDS = 2
    app = sandbox.app(qps=20)
    company = make_org("Company", code="co")
    teams = [make_org(f"Team{i}", parent=company, code=f"t{i}") for i in range(4)]
    accounts = [make_account(f"p{i:03d}", orgs=[teams[i % 4]]) for i in range(80)]
    provider = make_provider(sandbox, app, [(company, 1)], qps=20)

    worker = start_worker(tmp_path, 1)
    try:
        job = sync_job_enqueue(SYSTEM, provider, kind="full", trigger="manual")
        wait_for(lambda: UserLink.objects.count() >= 15, 60, "the first users to be created")
        kill(worker)
        job.refresh_from_db()
        assert job.status == "running" and UserLink.objects.count() < len(accounts)
        time.sleep(2.5)  # the heartbeat goes stale
        worker = start_worker(tmp_path, 2)
        assert watchdog.resume_stale_jobs() == [job.pk]
        wait_for(
            lambda: SyncJob.objects.get(pk=job.pk).status not in ("queued", "running"),
            90,
            "the resumed job",
        )
    finally:
        kill(worker)

    job.refresh_from_db()
    assert job.status == "succeeded", (job.error, (tmp_path / "worker2.log").read_text()[-2000:])
    _, users = dingtalk(sandbox, provider.corp_id)
    assert sorted(users) == sorted(a.username for a in accounts)
    assert UserLink.objects.count() == len(accounts)
    created = SyncEvent.objects.filter(job=job, object_type="user", status="success")
    assert sorted(created.values_list("source_key", flat=True)) == sorted(
        a.username for a in accounts
    )
