"""The browser half of .ci/smoke: a real chromium against `make serve` with DEBUG off.

Logs in, binds the DingTalk sandbox's demo app through the four wizard steps, clicks "Save
and Sync", waits on the job page for the sync to succeed, then checks that the sandbox holds
every account of the directory and that /metrics (read with its token) shows what the
worker did. Exits non-zero, saying why, on the first thing that is not so.

Run by .ci/smoke, which starts the sandbox and the console and sets the environment.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
DONE = ("Succeeded", "Partially succeeded", "Failed", "Awaiting approval", "Rejected")


def step(message: str) -> None:
    print(f"smoke: {message}", flush=True)


def demo_app(sandbox_log: Path) -> dict[str, str]:
    """The demo app's credentials, as the sandbox printed them."""
    text = sandbox_log.read_text()
    found = dict(re.findall(r"^\s+(CorpId|AppKey|AppSecret|AgentId)\s+(\S+)\s*$", text, re.M))
    if len(found) != 4:
        sys.exit(f"smoke: the sandbox did not print the demo app's credentials:\n{text}")
    return found


def bind_and_sync(page, console: str, sandbox: str, app: dict[str, str], org: str) -> str:
    """The four wizard steps, then Save and Sync; returns the job page's final status."""
    page.goto(f"{console}/providers/bind/")
    page.fill("#id_name", "Smoke DingTalk")
    page.fill("#id_corp_id", app["CorpId"])
    page.fill("#id_app_key", app["AppKey"])
    page.fill("#id_app_secret", app["AppSecret"])
    page.fill("#id_agent_id", app["AgentId"])
    page.click("summary")  # API endpoints: the sandbox instead of DingTalk
    for field in ("oapi_base", "api_base", "login_base"):
        page.fill(f"#id_{field}", sandbox)
    page.click("text=Next")
    page.wait_for_selector("text=2. Assign permissions")
    page.click("text=Next: verify with DingTalk")
    page.wait_for_selector("text=3. Select scenario")
    page.fill("#id_scope-0-organization", org)
    page.fill("#id_scope-0-target_dept_id", "1")
    page.press("#id_scope-0-target_dept_id", "Tab")
    page.wait_for_selector("#dept-name-scope-0 .badge.ok")
    page.click("button:has-text('Next')")
    page.wait_for_selector("text=4. Field mapping")
    step("bound the sandbox app through steps 1-4; Save and Sync")
    page.click("text=Save and Sync")
    page.wait_for_url(re.compile(r".*/providers/\d+/$"))  # the provider, with its new job
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    jobs = [href for href in hrefs if re.fullmatch(r"/sync/jobs/\d+/", href)]
    if not jobs:
        sys.exit("smoke: the provider's page links to no sync job after Save and Sync")
    page.goto(console + jobs[0])
    deadline = time.monotonic() + 180
    status = ""
    while time.monotonic() < deadline:
        status = page.inner_text("#job-status .badge").strip()
        if status in DONE:
            return status
        page.wait_for_timeout(500)  # the page itself polls its status every 2 s
    sys.exit(f"smoke: the job is still '{status}' after 180 s")


def browse(args: argparse.Namespace, app: dict[str, str]) -> str:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_context(locale="en-US").new_page()
        page.set_default_timeout(20_000)
        violations: list[str] = []
        page.on(
            "console",
            lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.goto(f"{args.console}/login/")
        page.fill("#id_username", args.username)
        page.fill("#id_password", args.password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login/" not in url)  # the dashboard
        step("logged in")
        status = bind_and_sync(page, args.console, args.sandbox, app, args.org)
        browser.close()
    if violations:
        sys.exit("smoke: Content-Security-Policy violations:\n" + "\n".join(violations))
    return status


def expected_usernames() -> set[str]:
    """Every account with a membership in the directory (the scope is its root)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dtconsole.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from dtconsole.directory.models import Account

    accounts = Account.objects.filter(status="active", memberships__isnull=False).distinct()
    return set(accounts.values_list("username", flat=True))


def sandbox_users(sandbox: str, corp_id: str) -> set[str]:
    state = requests.get(f"{sandbox}/_sandbox/state", timeout=10).json()
    corp = next(c for c in state["corps"] if c["corp_id"] == corp_id)
    return {u["userid"] for u in corp["users"]}


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def check_metrics(console: str, users: int) -> None:
    """/metrics refuses without its token; with it, shows what the worker process did."""
    refused = requests.get(f"{console}/metrics", timeout=10)
    if refused.status_code != 401 or b"dtconsole_" in refused.content:
        sys.exit(f"smoke: /metrics without its token answered {refused.status_code}")
    token = os.environ["METRICS_TOKEN"]
    headers = {"Authorization": f"Bearer {token}"}
    response = requests.get(f"{console}/metrics", headers=headers, timeout=10)
    response.raise_for_status()
    found = samples(response.text)
    checks = [
        ("dtconsole_sync_jobs", {"kind": "full", "status": "succeeded"}, 1),
        (
            "dtconsole_sync_objects_total",
            {"object_type": "user", "action": "create", "status": "success"},
            users,
        ),
        (
            "dtconsole_dingtalk_calls_total",
            {"path": "/topapi/v2/user/create", "errcode": "0"},
            users,
        ),
    ]
    for name, labels, want in checks:
        got = found.get((name, frozenset(labels.items())))
        if got != want:
            sys.exit(f"smoke: /metrics has {name}{labels} = {got}, expected {want}")
    step(f"/metrics shows the job, {users} users created and {users} user/create calls")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--console", required=True)
    parser.add_argument("--sandbox", required=True)
    parser.add_argument("--sandbox-log", required=True, type=Path)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--org", required=True, help="code of the organisation to sync")
    args = parser.parse_args()

    app = demo_app(args.sandbox_log)
    status = browse(args, app)
    if status != "Succeeded":
        sys.exit(f"smoke: the sync ended '{status}' (see the job page and the worker log)")
    step("the job page says Succeeded")
    want, held = expected_usernames(), sandbox_users(args.sandbox, app["CorpId"])
    if not want or held != want:
        sys.exit(
            f"smoke: the sandbox holds {len(held)} users, the directory has {len(want)}; "
            f"missing {sorted(want - held)[:5]}, extra {sorted(held - want)[:5]}"
        )
    step(f"the sandbox holds all {len(want)} accounts of the directory")
    check_metrics(args.console, len(want))
    return 0


if __name__ == "__main__":
    sys.exit(main())
