"""Sandbox command line: `python -m connectors.dingtalk.sandbox` and the Django command."""

import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_demo(state_file: Path) -> tuple[subprocess.Popen, dict[str, str]]:
    """Start the CLI with --demo and read its credentials block."""
    port = free_port()
    args = [sys.executable, "-m", "connectors.dingtalk.sandbox", "--port", str(port), "--demo"]
    proc = subprocess.Popen(
        [*args, "--state", str(state_file)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    creds: dict[str, str] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        match = re.match(r"\s+(CorpId|AppKey|AppSecret|AgentId|Sandbox URL)\s+(\S+)", line)
        if match:
            creds[match.group(1)] = match.group(2)
        if "Sandbox URL" in creds:
            break
    return proc, creds


def stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=10)
    return out


def test_demo_prints_working_credentials_and_keeps_the_secret_across_restarts(tmp_path):
    state_file = tmp_path / "sandbox.json"
    proc, creds = run_demo(state_file)
    try:
        assert creds["CorpId"] == "dingdemocorp000001"
        assert creds["AppKey"] == "dingdemoappkey0001"
        assert creds["AgentId"] == "3000000001"
        assert len(creds["AppSecret"]) == 64
        params = {"appkey": creds["AppKey"], "appsecret": creds["AppSecret"]}
        body = requests.get(creds["Sandbox URL"] + "/gettoken", params=params, timeout=10).json()
        assert body["errcode"] == 0
        page = requests.get(creds["Sandbox URL"] + "/", timeout=10).text
        assert "Demo Corp" in page and creds["AppSecret"] in page
    finally:
        assert "stopped" in stop(proc)
    proc, again = run_demo(state_file)
    try:
        assert again["AppSecret"] == creds["AppSecret"]
    finally:
        stop(proc)


def test_the_django_command_wraps_the_cli():
    result = subprocess.run(
        [sys.executable, "manage.py", "dingtalk_sandbox", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    for option in ("--port", "--host", "--qps", "--state", "--demo"):
        assert option in result.stdout
