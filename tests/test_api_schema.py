"""The OpenAPI schema (/api/schema/) and its Swagger UI (/api/docs/): complete, valid, behind
a login, with the UI's assets served by the console (no CDN)."""

import pytest
import yaml
from django.core.management import call_command

from tests.api_helpers import make_user, token_client

pytestmark = pytest.mark.django_db


def test_the_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    for path in (
        "/api/v1/accounts/bulk_upsert/",
        "/api/v1/organizations/{id}/move/",
        "/api/v1/providers/{provider_pk}/mappings/{target}/",
        "/api/v1/providers/{provider_pk}/mappings/preview/",
        "/api/v1/providers/{id}/scopes/",
        "/api/v1/jobs/{id}/approve/",
        "/api/v1/events/",
    ):
        assert path in paths, path


def test_the_schema_documents_the_filters_and_token_authentication(admin_user):
    response = token_client(admin_user).get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    events = {p["name"] for p in schema["paths"]["/api/v1/events/"]["get"]["parameters"]}
    assert {"provider", "job", "object_type", "action", "status", "since", "until", "q"} <= events
    assert "cursor" in events
    assert "tokenAuth" in schema["components"]["securitySchemes"]


def test_the_schema_needs_credentials(client):
    assert client.get("/api/schema/").status_code == 401


def test_any_active_user_reads_the_schema():
    assert token_client(make_user("viewer")).get("/api/schema/").status_code == 200


def test_the_docs_page_redirects_a_visitor_to_the_login_page(client):
    response = client.get("/api/docs/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_docs_page_serves_swagger_ui_from_the_console_not_a_cdn(admin_client):
    response = admin_client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn." not in page and "unpkg" not in page
    assert "/api/schema/" in page


def test_the_app_secret_is_write_only_in_the_schema(admin_user):
    schema = token_client(admin_user).get("/api/schema/?format=json").json()
    components = schema["components"]["schemas"]
    assert "app_secret" not in components["Provider"]["properties"]
    for name in ("ProviderCreateRequest", "ProviderUpdateRequest"):
        assert components[name]["properties"]["app_secret"]["writeOnly"] is True
    assert "app_secret" in components["ProviderCreateRequest"]["required"]
    assert "app_secret" not in components["ProviderUpdateRequest"]["required"]


CONFIGURATION_WRITES = [
    ("put", "/api/v1/providers/{id}/"),
    ("patch", "/api/v1/providers/{id}/"),
    ("put", "/api/v1/providers/{id}/scopes/"),
    ("post", "/api/v1/providers/{provider_pk}/mappings/"),
    ("put", "/api/v1/providers/{provider_pk}/mappings/{target}/"),
    ("patch", "/api/v1/providers/{provider_pk}/mappings/{target}/"),
    ("delete", "/api/v1/providers/{provider_pk}/mappings/{target}/"),
]


def test_configuration_writes_document_if_match_412_and_428_and_reads_the_etag(admin_user):
    paths = token_client(admin_user).get("/api/schema/?format=json").json()["paths"]
    for method, path in CONFIGURATION_WRITES:
        operation = paths[path][method]
        headers = {p["name"]: p for p in operation["parameters"] if p["in"] == "header"}
        assert headers["If-Match"]["required"] is True, (method, path)
        assert {"412", "428"} <= set(operation["responses"]), (method, path)
        assert "ETag" in operation["responses"]["412"]["headers"]
    for path in ("/api/v1/providers/{id}/", "/api/v1/providers/{id}/scopes/"):
        assert "ETag" in paths[path]["get"]["responses"]["200"]["headers"]
    create = paths["/api/v1/providers/"]["post"]
    assert not [p for p in create.get("parameters", []) if p["name"] == "If-Match"]
