"""Small helpers for the API tests: users with tokens and DRF clients that use them."""

from types import SimpleNamespace

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests import factories
from tests.factories import make_provider

V1 = "/api/v1"
# make_provider only reads the sandbox's URL: tests that never call DingTalk use this one.
NO_SANDBOX = SimpleNamespace(url="http://127.0.0.1:9")
FAKE_APP = {
    "corp_id": "dingtestcorp0001",
    "app_key": "dingtestappkey01",
    "app_secret": "test-app-secret-0123456789abcdef",
    "agent_id": "4000000001",
}


def make_user(username: str = "viewer", role: str | None = "viewer", *, active: bool = True):
    """A console user (a Viewer unless told otherwise) for token clients."""
    return factories.make_user(username, role, is_active=active)


def token_client(user) -> APIClient:
    """A client that authenticates with the user's API token (no session, no CSRF)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def offline_provider(scopes=(), **options):
    """A bound provider whose DingTalk is unreachable (for tests that never call it)."""
    return make_provider(NO_SANDBOX, FAKE_APP, list(scopes), **options)


def if_match(client, provider) -> dict[str, str]:
    """The If-Match header of a write made from what the provider holds now: the ETag of a
    GET, as a script reads it."""
    pk = getattr(provider, "pk", provider)
    return {"HTTP_IF_MATCH": client.get(f"{V1}/providers/{pk}/")["ETag"]}


def results(response) -> list[dict]:
    """The items of a paginated list answer."""
    assert response.status_code == 200, response.content
    return response.json()["results"]
