"""Benchmark: what DingTalkClient costs per call on top of raw HTTP, against the local sandbox.

Run: .venv/bin/python bench/bench_connector.py [N]

Starts an in-process sandbox with QPS limits off, then times N ``POST /topapi/v2/department/get``
calls (a) with a bare ``requests.Session`` and (b) through ``DingTalkClient.department_get`` with
pacing off. Both share one process and one loopback, so the difference is the client's own work:
token cache, pacing bookkeeping, URL building, error mapping and result parsing.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.dingtalk.client import DingTalkClient  # noqa: E402
from connectors.dingtalk.sandbox.server import SandboxServer  # noqa: E402

ROUNDS = 3
APP = {"corp_id": "corp-bench", "app_key": "dingbench", "app_secret": "bench-secret"}


def control(url: str, path: str, body: dict) -> None:
    """POST to the sandbox control API."""
    requests.post(f"{url}/_sandbox/{path}", json=body, timeout=5).raise_for_status()


def raw_run(url: str, token: str, n: int) -> float:
    """Seconds for ``n`` department/get calls with a bare session."""
    session = requests.Session()
    target = f"{url}/topapi/v2/department/get"
    params = {"access_token": token}
    start = time.perf_counter()
    for _ in range(n):
        response = session.post(target, params=params, json={"dept_id": 1}, timeout=10)
        assert response.json()["errcode"] == 0
    return time.perf_counter() - start


def client_run(client: DingTalkClient, n: int) -> float:
    """Seconds for ``n`` department_get calls through the client."""
    start = time.perf_counter()
    for _ in range(n):
        client.department_get(1)
    return time.perf_counter() - start


def main(n: int = 3000) -> None:
    """Run both measurements (warm-up, then ROUNDS alternating runs; best of each) and print."""
    # qps 0 switches the sandbox's per-app limiter off; the global limiter is off by default.
    with SandboxServer(host="127.0.0.1", port=0, qps=0, state_file=None) as server:
        url = server.url
        control(url, "config", {"qps_default": 0, "global_qps": None})
        control(url, "apps", {**APP, "agent_id": "1", "qps": None})
        client = DingTalkClient(
            APP["app_key"], APP["app_secret"], oapi_base=url, api_base=url, qps=None
        )
        token = client.access_token()
        raw_run(url, token, 200)  # warm-up: connections, caches
        client_run(client, 200)
        raws, wrappeds = [], []
        for _ in range(ROUNDS):  # alternate, so drift in machine load hits both sides alike
            raws.append(raw_run(url, token, n))
            wrappeds.append(client_run(client, n))
    raw, wrapped = min(raws), min(wrappeds)
    print(f"DingTalk connector benchmark: N={n} x POST /topapi/v2/department/get, loopback")
    print(f"  (a) raw requests.Session      : {n / raw:9.0f} req/s  ({raw / n * 1e6:7.1f} us/call)")
    print(
        f"  (b) DingTalkClient (pacing off): {n / wrapped:9.0f} req/s  "
        f"({wrapped / n * 1e6:7.1f} us/call)"
    )
    print(f"  client overhead per call       : {(wrapped - raw) / n * 1e6:7.1f} us")
    print(f"  ratio client/raw time          : {wrapped / raw:7.3f}")
    print(
        f"  (best of {ROUNDS} alternating rounds; median ratio "
        f"{statistics.median(wrappeds) / statistics.median(raws):.3f}: loopback timings are noisy "
        "on a busy machine)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3000)
