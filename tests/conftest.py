"""Shared pytest fixtures: users, logged-in clients, and a real chromium for browser tests."""

import os
import shutil
import tempfile

import pytest

# Playwright's sync API runs an asyncio loop in the test thread; Django then refuses ORM
# calls from that thread unless told the loop is not ours to worry about.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
ADMIN_PASSWORD = "correct-horse-battery-staple"  # tests.factories.PASSWORD too


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser(
        username="admin", email="admin@example.com", password=ADMIN_PASSWORD
    )


@pytest.fixture
def viewer_user(db):
    from tests.factories import make_user

    return make_user("vera", "viewer")


@pytest.fixture
def operator_user(db):
    from tests.factories import make_user

    return make_user("otto", "operator")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def staff(admin_user):
    """An API client authenticated with the admin's token."""
    from tests.api_helpers import token_client

    return token_client(admin_user)


@pytest.fixture(scope="session")
def chromium():
    """A headless Debian chromium driven by Playwright. Fails (never skips) when missing."""
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `make test` (it installs Debian's chromium).")
    profile = tempfile.mkdtemp(prefix="dtconsole-chromium-")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(chromium):
    """A fresh browser page. The test fails if the browser reports any Content-Security-Policy
    violation on the console's pages (chromium logs each one as a console error)."""
    context = chromium.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.csp_violations = violations  # a test may inspect (and clear) what was reported
    yield page
    context.close()
    assert violations == [], "Content-Security-Policy violations:\n" + "\n".join(violations)


@pytest.fixture
def logged_in_page(page, live_server, admin_user):
    """A browser page logged in to the live console as the admin."""
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return page


# --- DingTalk sandbox ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def sandbox_server():
    """One in-process DingTalk sandbox for the session, on a free loopback port."""
    from connectors.dingtalk.sandbox.server import SandboxServer

    server = SandboxServer(host="127.0.0.1", port=0, qps=0)
    server.start()
    yield server
    server.stop()


class Sandbox:
    """Test-side handle on the sandbox: its URL and its control API."""

    def __init__(self, server):
        import requests

        self.server = server
        self.url = server.url
        self.http = requests.Session()

    def control(self, method: str, route: str, **body):
        response = self.http.request(method, f"{self.url}/_sandbox/{route}", json=body or None)
        response.raise_for_status()
        return response.json()

    def app(self, **overrides) -> dict:
        """Create (or change) an app; defaults: all scopes, no IP list, corp dingtestcorp."""
        app = {
            "corp_id": "dingtestcorp0001",
            "app_key": "dingtestappkey01",
            "app_secret": "test-app-secret-0123456789abcdef",
            "agent_id": "4000000001",
        }
        app.update(overrides)
        self.control("POST", "apps", **app)
        return app

    def calls(self) -> dict:
        return self.control("GET", "calls")


@pytest.fixture
def sandbox(sandbox_server):
    """A reset sandbox for one test."""
    handle = Sandbox(sandbox_server)
    handle.control("POST", "reset")
    return handle


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Hash test passwords cheaply: the real hasher costs a third of a second per user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _one_sync_thread(settings):
    """Tests inside a rolled-back transaction cannot share it with other threads' database
    connections: apply on one thread unless a (transactional) test asks for more."""
    settings.SYNC_THREADS = 1


@pytest.fixture(autouse=True)
def _default_language_between_tests():
    """A request activates its reader's language on this thread and leaves it active: each
    test starts (and the next one starts again) in the default language."""
    from django.conf import settings as django_settings
    from django.utils import translation

    with translation.override(django_settings.LANGUAGE_CODE):
        yield
