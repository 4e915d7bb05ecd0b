"""Command line: `python -m connectors.dingtalk.sandbox --port P [--host H] [--qps N]
[--state FILE] [--demo]` (also `python manage.py dingtalk_sandbox …`)."""

from __future__ import annotations

import argparse
import secrets
import signal
import sys
import threading
from typing import Any

from .state import App, SandboxState, app_from_dict

DEMO_CORP_ID = "dingdemocorp000001"
DEMO_CORP_NAME = "Demo Corp"
DEMO_APP_KEY = "dingdemoappkey0001"
DEMO_AGENT_ID = 3000000001
DEFAULT_PORT = 8765


def build_parser(prog: str = "dingtalk-sandbox") -> argparse.ArgumentParser:
    """The CLI's arguments (shared with the Django command)."""
    parser = argparse.ArgumentParser(prog=prog, description="Local DingTalk-compatible sandbox.")
    add_arguments(parser)
    return parser


def add_arguments(parser: Any) -> None:
    """Add the sandbox options to an argparse parser (also used by manage.py)."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (0 picks a free one)")
    parser.add_argument("--qps", type=int, default=20, help="per app and API QPS (0 = off)")
    parser.add_argument("--state", default=None, help="JSON file to keep state across restarts")
    parser.add_argument("--demo", action="store_true", help="create the demo corp and app")


def ensure_demo(state: SandboxState) -> App:
    """Create the demo corp and app unless they exist. The secret is random once, then kept
    in the state file so it stays the same across restarts."""
    with state.lock:
        app = state.apps.get(DEMO_APP_KEY)
        if app is None:
            state.ensure_corp(DEMO_CORP_ID, DEMO_CORP_NAME)
            data = {
                "corp_id": DEMO_CORP_ID,
                "app_key": DEMO_APP_KEY,
                "app_secret": secrets.token_urlsafe(48),  # 64 characters
                "agent_id": DEMO_AGENT_ID,
                "name": "dtconsole demo",
            }
            app = state.put_app(app_from_dict(data))
    state.flush()
    return app


def credentials_block(app: App, url: str) -> str:
    """What an admin pastes into the console's wizard."""
    rows = [
        ("CorpId", app.corp_id),
        ("AppKey", app.app_key),
        ("AppSecret", app.app_secret),
        ("AgentId", str(app.agent_id)),
        ("Sandbox URL", url),
    ]
    width = max(len(k) for k, _ in rows)
    body = "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows)
    rule = "-" * 72
    return f"{rule}\nDingTalk sandbox demo app credentials\n{body}\n{rule}"


def main(argv: list[str] | None = None) -> int:
    """Run the sandbox until Ctrl-C (or SIGTERM); returns the exit status."""
    from .server import SandboxServer

    args = build_parser().parse_args(argv)
    server = SandboxServer(host=args.host, port=args.port, qps=args.qps, state_file=args.state)
    demo = ensure_demo(server.state) if args.demo else None
    server.start()
    print(f"DingTalk sandbox listening on {server.url}", flush=True)
    print(
        f"  oapi, api v1.0 and login base URL: {server.url}   admin page: {server.url}/", flush=True
    )
    if demo is not None:
        print(credentials_block(demo, server.url), flush=True)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        print("DingTalk sandbox stopped.", flush=True)
    return 0


def _interrupt(signum: int, frame: Any) -> None:
    """SIGTERM behaves like Ctrl-C, so the state file is flushed."""
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
