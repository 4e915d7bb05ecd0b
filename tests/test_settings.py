"""Settings: the environment decides, development just works, production refuses weak setups."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'], "
    "'q': {k: v for k, v in settings.Q_CLUSTER.items() if k in ('orm', 'redis')}, "
    "'debug': settings.DEBUG, 'secret': settings.SECRET_KEY}))"
)


def run_settings(tmp_path, env: dict[str, str], env_file: str = "") -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in _SETTINGS_VARS}
    clean.update({"DJANGO_SETTINGS_MODULE": "dtconsole.settings", "ENV_FILE": env_file})
    if not env_file:
        clean["ENV_FILE"] = str(tmp_path / "absent.env")
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True
    )


_SETTINGS_VARS = {
    "DEBUG",
    "SECRET_KEY",
    "CREDENTIALS_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "ALLOWED_HOSTS",
    "DINGTALK_ALLOWED_HOSTS",
}
FERNET_KEY = "ZmlsZS1rZXktZmlsZS1rZXktZmlsZS1rZXktZmlsZS0="


def run_manage(tmp_path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    # The test process's own switch for Playwright (conftest) is not part of a deployment.
    ignored = _SETTINGS_VARS | {"DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in ignored}
    clean.update({"ENV_FILE": str(tmp_path / "absent.env"), **env})
    command = [sys.executable, "manage.py", *args]
    return subprocess.run(command, cwd=ROOT, env=clean, capture_output=True, text=True)


@pytest.mark.parametrize(
    "key", ["not-a-key", FERNET_KEY + ",short", "ZmlsZS1rZXk="], ids=["garbage", "second", "short"]
)
def test_a_malformed_credentials_key_stops_start_up_naming_the_variable(tmp_path, key):
    out = run_manage(tmp_path, {"CREDENTIALS_KEY": key}, "check")
    assert out.returncode != 0
    assert "CREDENTIALS_KEY" in out.stderr and "is not a Fernet key" in out.stderr


def test_check_deploy_reports_no_issue_with_the_documented_production_values(tmp_path):
    env = {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "CREDENTIALS_KEY": FERNET_KEY,
        "ALLOWED_HOSTS": "dtconsole.example.com",
    }
    out = run_manage(tmp_path, env, "check", "--deploy", "--fail-level", "WARNING")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no issues" in out.stdout


def test_development_defaults_use_sqlite_and_the_orm_broker(tmp_path):
    out = run_settings(tmp_path, {})
    assert out.returncode == 0, out.stderr
    probe = json.loads(out.stdout)
    assert probe["engine"] == "django.db.backends.sqlite3"
    assert probe["q"] == {"orm": "default"}
    assert probe["debug"] is True


def test_database_url_switches_to_postgresql_and_redis_url_to_the_redis_broker(tmp_path):
    env = {"DATABASE_URL": "postgres://u@127.0.0.1:5432/x", "REDIS_URL": "redis://127.0.0.1:6379/3"}
    probe = json.loads(run_settings(tmp_path, env).stdout)
    assert probe["engine"] == "django.db.backends.postgresql"
    assert probe["q"] == {"redis": "redis://127.0.0.1:6379/3"}


@pytest.mark.parametrize("missing", ["SECRET_KEY", "CREDENTIALS_KEY"])
def test_production_refuses_to_start_without_its_secrets(tmp_path, missing):
    env = {"DEBUG": "false", "SECRET_KEY": "s" * 50, "CREDENTIALS_KEY": FERNET_KEY}
    del env[missing]
    out = run_settings(tmp_path, env)
    assert out.returncode != 0
    assert f"{missing} must be set when DEBUG is off" in out.stderr


def test_the_os_environment_wins_over_the_env_file(tmp_path):
    env_file = tmp_path / "test.env"
    key = "ZmlsZS1rZXktZmlsZS1rZXktZmlsZS1rZXktZmlsZS0="  # a valid Fernet key
    env_file.write_text(f"SECRET_KEY=from-file\nDEBUG=false\nCREDENTIALS_KEY={key}\n")
    from_file = json.loads(run_settings(tmp_path, {}, str(env_file)).stdout)
    assert from_file["secret"] == "from-file" and from_file["debug"] is False
    from_env = json.loads(run_settings(tmp_path, {"SECRET_KEY": "from-env"}, str(env_file)).stdout)
    assert from_env["secret"] == "from-env"


def test_env_example_lists_every_variable_the_settings_read():
    source = (ROOT / "dtconsole" / "settings.py").read_text()
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]*)"', source))
    read |= set(re.findall(r'_required_in_production\(\s*"([A-Z][A-Z0-9_]*)"', source))
    example = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", example, re.MULTILINE))
    assert len(read) > 20
    assert read - listed == set()


def test_a_malformed_metrics_address_stops_start_up_naming_the_variable(tmp_path):
    out = run_manage(tmp_path, {"METRICS_ALLOWED_IPS": "10.0.0.0/8,not-an-ip"}, "check")
    assert out.returncode != 0
    assert "METRICS_ALLOWED_IPS: 'not-an-ip' is not an IP address or network" in out.stderr
