"""`make serve`, the production profile: its refusal, its gunicorn settings, its units."""

import configparser
import os
import re
import runpy
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from dtconsole.sync import heartbeat
from tests.test_sync_worker import database_url

ROOT = Path(__file__).resolve().parent.parent
FERNET_KEY = "ZmlsZS1rZXktZmlsZS1rZXktZmlsZS1rZXktZmlsZS0="
SETTINGS_VARS = ("DEBUG", "SECRET_KEY", "CREDENTIALS_KEY", "ENV_FILE", "DJANGO_SETTINGS_MODULE")


def clean_env(**env: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARS}
    return {**base, "DEBUG": "false", "ENV_FILE": os.devnull, **env}


def preflight(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "deploy/preflight.py"],
        cwd=ROOT,
        env=clean_env(**env),
        capture_output=True,
        text=True,
    )


def test_make_serve_refuses_without_its_secrets_naming_both_in_one_sentence():
    out = preflight()
    assert out.returncode == 1
    assert out.stderr.startswith("make serve: SECRET_KEY and CREDENTIALS_KEY must be set")
    assert "Traceback" not in out.stderr


def test_make_serve_names_the_one_secret_missing():
    out = preflight(SECRET_KEY=secrets.token_urlsafe(50))
    assert out.returncode == 1
    assert out.stderr.startswith("make serve: CREDENTIALS_KEY must be set")


def test_make_serve_reports_a_malformed_key_as_the_settings_do():
    out = preflight(SECRET_KEY=secrets.token_urlsafe(50), CREDENTIALS_KEY="not-a-key")
    assert out.returncode == 1
    assert "make serve: CREDENTIALS_KEY: key 1 of 1 is not a Fernet key" in out.stderr
    assert "Traceback" not in out.stderr


def test_make_serve_starts_with_both_secrets():
    out = preflight(SECRET_KEY=secrets.token_urlsafe(50), CREDENTIALS_KEY=FERNET_KEY)
    assert out.returncode == 0, out.stderr


def test_make_serve_checks_migrates_collects_then_runs_gunicorn_and_a_worker():
    out = subprocess.run(
        ["make", "-n", "serve", "HOST=0.0.0.0", "PORT=8123"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    steps = [
        "deploy/preflight.py",
        "manage.py check --deploy",
        "manage.py migrate --noinput",
        "manage.py collectstatic --noinput",
        "manage.py qcluster &",
        "gunicorn --config deploy/gunicorn.conf.py --bind 0.0.0.0:8123",
    ]
    positions = [out.stdout.find(step) for step in steps]
    assert -1 not in positions and positions == sorted(positions), out.stdout
    assert "trap 'kill -TERM $worker 2>/dev/null; wait $worker' EXIT" in out.stdout


def gunicorn_settings(**env: str) -> dict:
    saved = os.environ.get("WEB_CONCURRENCY")
    os.environ.pop("WEB_CONCURRENCY", None)
    os.environ.update(env)
    try:
        return runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    finally:
        os.environ.pop("WEB_CONCURRENCY", None)
        if saved is not None:
            os.environ["WEB_CONCURRENCY"] = saved


def test_gunicorn_runs_two_workers_per_core_plus_one_unless_told():
    cores = len(os.sched_getaffinity(0))
    assert gunicorn_settings()["workers"] == 2 * cores + 1
    assert gunicorn_settings(WEB_CONCURRENCY="3")["workers"] == 3
    assert gunicorn_settings()["wsgi_app"] == "dtconsole.wsgi:application"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_gunicorn_with_these_settings_serves_the_health_check_with_debug_off(tmp_path):
    heartbeat.beat()
    port = free_port()
    env = clean_env(
        SECRET_KEY=secrets.token_urlsafe(50),
        CREDENTIALS_KEY=FERNET_KEY,
        DATABASE_URL=database_url(),
        WEB_CONCURRENCY="2",
    )
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115 (closed with the process)
    command = [sys.executable, "-m", "gunicorn", "--config", "deploy/gunicorn.conf.py"]
    server = subprocess.Popen(
        [*command, "--bind", f"127.0.0.1:{port}"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    try:
        response = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and response is None:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            except requests.ConnectionError:
                time.sleep(0.2)
        assert response is not None, (tmp_path / "gunicorn.log").read_text()
        assert response.status_code == 200, response.text
        assert response.json() == {"database": "ok", "broker": "ok", "worker": "ok"}
        assert response.headers["Server"] == "gunicorn"
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    booted = re.findall(r"Booting worker with pid", (tmp_path / "gunicorn.log").read_text())
    assert len(booted) == 2


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read(ROOT / "deploy" / "systemd" / name)
    return parser


@pytest.mark.parametrize("name", ["dtconsole-web.service", "dtconsole-worker.service"])
def test_the_systemd_units_run_in_production_from_the_checkout(name):
    service = unit(name)["Service"]
    assert service["EnvironmentFile"] == "/etc/dtconsole/dtconsole.env"
    assert "DEBUG=false" in service["Environment"].split()
    assert service["User"] == "dtconsole" and service["WorkingDirectory"] == "/opt/dtconsole"
    for path in re.findall(r"(deploy/\S+|manage\.py)", service["ExecStart"]):
        assert (ROOT / path).is_file(), path


def test_the_web_unit_runs_gunicorn_and_the_worker_unit_a_cluster():
    assert (
        "gunicorn --config deploy/gunicorn.conf.py"
        in unit("dtconsole-web.service")["Service"]["ExecStart"]
    )
    assert unit("dtconsole-worker.service")["Service"]["ExecStart"].endswith("manage.py qcluster")
