"""The AppSecret follows its hosts: it is sent only to API base URLs the admin confirmed by
entering the secret with them, and, in production, only to allowed DingTalk hosts. A secret
that no configured key decrypts gives a clear error everywhere, never a 500."""

import http.server
import threading

import pytest
from cryptography.fernet import Fernet
from django.urls import reverse

from dtconsole.access.services import SYSTEM
from dtconsole.providers import services
from dtconsole.providers.models import IdentityProvider
from tests.api_helpers import V1, token_client
from tests.factories import make_org, make_provider
from tests.test_providers_wizard import application_data, bind_step1

pytestmark = pytest.mark.django_db


class Listener:
    """A host that records every request it receives (a would-be thief of the secret)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, bytes]] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                owner.requests.append((self.path, self.rfile.read(length)))
                self.send_response(500)
                self.end_headers()

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener():
    host = Listener()
    yield host
    host.close()


def test_changing_the_endpoints_without_the_secret_is_refused_and_nothing_is_sent(
    admin_client, sandbox, listener
):
    app = sandbox.app()
    provider = bind_step1(admin_client, sandbox, app)
    data = application_data(
        sandbox, app, provider, app_secret="", oapi_base=listener.url, api_base=listener.url
    )
    response = admin_client.post(reverse("providers:wizard", args=[provider.pk, 1]), data)
    assert response.status_code == 200
    assert "enter the AppSecret again" in response.content.decode()
    provider.refresh_from_db()
    assert provider.oapi_base == sandbox.url
    admin_client.post(reverse("providers:verify", args=[provider.pk]))
    assert listener.requests == []


def test_the_same_change_with_the_secret_entered_is_saved(admin_client, sandbox):
    app = sandbox.app()
    provider = bind_step1(admin_client, sandbox, app)
    other = sandbox.url.replace("127.0.0.1", "localhost")
    data = application_data(
        sandbox, app, provider, oapi_base=other, api_base=other, login_base=other
    )
    response = admin_client.post(reverse("providers:wizard", args=[provider.pk, 1]), data)
    assert response.status_code == 302
    provider.refresh_from_db()
    assert provider.oapi_base == other and not provider.verification_ok


def test_a_host_outside_dingtalk_allowed_hosts_is_refused_on_its_field(
    admin_client, sandbox, settings
):
    settings.DINGTALK_ALLOWED_HOSTS = settings.DINGTALK_HOSTS
    response = admin_client.post(
        reverse("providers:bind"), application_data(sandbox, sandbox.app())
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "is not an allowed DingTalk host" in form.errors["oapi_base"][0]
    assert not IdentityProvider.objects.exists()


def test_an_allowed_host_may_name_a_port(sandbox, settings):
    port_host = sandbox.url.split("//", 1)[1]
    settings.DINGTALK_ALLOWED_HOSTS = [port_host]
    assert services.host_allowed(sandbox.url)
    assert not services.host_allowed(sandbox.url.replace("127.0.0.1", "localhost"))
    settings.DINGTALK_ALLOWED_HOSTS = settings.DINGTALK_HOSTS
    assert services.host_allowed("https://oapi.dingtalk.com")
    assert not services.host_allowed("https://oapi.dingtalk.com.evil.example")


def test_a_stored_provider_on_a_host_no_longer_allowed_is_never_called(
    admin_client, sandbox, settings
):
    provider = make_provider(sandbox, sandbox.app(), [(make_org("Company"), 1)])
    sandbox.control("POST", "calls/reset")
    settings.DINGTALK_ALLOWED_HOSTS = settings.DINGTALK_HOSTS
    page = admin_client.post(reverse("providers:verify", args=[provider.pk]), follow=True)
    assert "is not an allowed DingTalk host" in page.content.decode()
    assert sandbox.calls() == {}


# --- a secret no key decrypts ----------------------------------------------------------------


@pytest.fixture
def undecryptable(sandbox, settings):
    provider = make_provider(sandbox, sandbox.app(), [(make_org("Company"), 1)])
    settings.CREDENTIALS_KEY = Fernet.generate_key().decode()
    return provider


def test_verify_with_an_undecryptable_secret_says_what_to_do(admin_client, undecryptable):
    page = admin_client.post(reverse("providers:verify", args=[undecryptable.pk]), follow=True)
    assert page.status_code == 200
    assert "cannot be decrypted with CREDENTIALS_KEY" in page.content.decode()
    step2 = admin_client.post(reverse("providers:wizard", args=[undecryptable.pk, 2]), follow=True)
    assert "enter the AppSecret again" in step2.content.decode()


def test_the_api_answers_409_with_the_reason_for_an_undecryptable_secret(admin_user, undecryptable):
    response = token_client(admin_user).post(f"{V1}/providers/{undecryptable.pk}/verify/")
    assert response.status_code == 409
    assert "cannot be decrypted" in response.json()["detail"]


def test_the_department_name_lookup_and_dingtalk_view_explain_an_undecryptable_secret(
    admin_client, undecryptable
):
    url = reverse("providers:department_name", args=[undecryptable.pk]) + "?dept_id=1"
    assert "cannot be decrypted" in admin_client.get(url).content.decode()
    view = admin_client.get(reverse("sync:dingtalk_view", args=[undecryptable.pk]))
    assert view.status_code == 200 and "cannot be decrypted" in view.content.decode()


def test_a_sync_job_with_an_undecryptable_secret_fails_with_the_reason(undecryptable):
    from dtconsole.sync import engine
    from dtconsole.sync.services import sync_job_enqueue

    job = sync_job_enqueue(SYSTEM, undecryptable, kind="full", trigger="manual")
    engine.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and "cannot be decrypted" in job.error_text
