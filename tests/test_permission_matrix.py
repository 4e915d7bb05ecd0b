"""Who may reach what: every URL pattern and every API operation, for every kind of user.

The tables below are written by hand, from the roles as the product defines them (Viewer
reads, Operator also runs and decides syncs, Administrator changes everything), not from the
code that enforces them. A URL pattern or API operation that has no row fails the
completeness tests, so a new view cannot slip past.
"""

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from dtconsole.access.services import SYSTEM
from dtconsole.directory import imports
from dtconsole.notifications.models import Notification
from dtconsole.sync.models import SyncEvent, SyncJob
from tests.api_helpers import token_client
from tests.factories import PASSWORD, make_account, make_org, make_provider, make_user

pytestmark = pytest.mark.django_db

# Who is asking, lowest first. A row names the lowest kind of user that may use it.
ANONYMOUS, NO_ROLE, VIEWER, OPERATOR, ADMIN = "anonymous", "no role", "viewer", "operator", "admin"
WHO = (ANONYMOUS, NO_ROLE, VIEWER, OPERATOR, ADMIN)
RANK = {who: rank for rank, who in enumerate(WHO)}

ALLOWED, REFUSED, LOGIN = "allowed", "refused", "login"


@dataclass(frozen=True)
class Row:
    """One URL pattern: how to call it, and the lowest kind of user it is for."""

    lowest: str
    method: str = "get"
    args: tuple[str, ...] = ()  # names of world objects whose pk fills the URL's arguments
    data: dict[str, Any] = field(default_factory=dict)
    query: str = ""
    # An exact status for everyone (a page that refuses by design, e.g. a login callback
    # called without DingTalk's parameters).
    status: int | None = None


PAGES: dict[str, Row] = {
    "home": Row(VIEWER),
    "home_providers": Row(VIEWER),
    "login": Row(ANONYMOUS),
    "logout": Row(ANONYMOUS, "post", status=302),
    "no_access": Row(NO_ROLE),
    "set_language": Row(ANONYMOUS, "post", data={"language": "zh-hans"}),
    "accounts:dingtalk_start": Row(ANONYMOUS, args=("provider",)),
    "accounts:dingtalk_callback": Row(ANONYMOUS, status=403),
    # directory
    "directory:org_tree": Row(VIEWER),
    "directory:org_lookup": Row(VIEWER, query="q=Team"),
    "directory:org_detail": Row(VIEWER, args=("team",)),
    "directory:org_children": Row(VIEWER, args=("company",)),
    "directory:org_create": Row(ADMIN),
    "directory:org_edit": Row(ADMIN, args=("team",)),
    "directory:org_move": Row(ADMIN, args=("team",)),
    "directory:org_delete": Row(ADMIN, args=("team",)),
    "directory:account_list": Row(VIEWER),
    "directory:account_detail": Row(VIEWER, args=("ann",)),
    "directory:account_create": Row(ADMIN),
    "directory:account_edit": Row(ADMIN, args=("ann",)),
    "directory:account_disable": Row(ADMIN, "post", ("ann",)),
    "directory:account_enable": Row(ADMIN, "post", ("ann",)),
    "directory:account_delete": Row(ADMIN, args=("ann",)),
    "directory:membership_add": Row(ADMIN, "post", ("ann",), {"organization": "company"}),
    "directory:membership_set_primary": Row(ADMIN, "post", ("secondary",)),
    "directory:membership_remove": Row(ADMIN, "post", ("secondary",)),
    "directory:import": Row(ADMIN),
    "directory:import_preview": Row(VIEWER, args=("batch",)),
    "directory:import_commit": Row(ADMIN, "post", ("batch",)),
    "directory:import_status": Row(VIEWER, args=("batch",)),
    "directory:import_sample": Row(VIEWER, args=("kind",)),
    # providers
    "providers:list": Row(VIEWER),
    "providers:detail": Row(VIEWER, args=("provider",)),
    "providers:jobs": Row(VIEWER, args=("provider",)),
    "providers:bind": Row(ADMIN),
    "providers:wizard": Row(ADMIN, args=("provider", "step")),
    "providers:verify": Row(ADMIN, "post", ("provider",)),
    "providers:sync": Row(OPERATOR, "post", ("provider",)),
    "providers:delete": Row(ADMIN, args=("provider",)),
    "providers:settings": Row(ADMIN, args=("provider",)),
    "providers:department_name": Row(ADMIN, args=("provider",), query="dept_id=1"),
    "providers:scope_preview": Row(
        ADMIN,
        args=("provider",),
        query="scope-TOTAL_FORMS=1&scope-INITIAL_FORMS=0&scope-0-organization=c1",
    ),
    "providers:org_search": Row(VIEWER, query="q=Team"),
    "providers:mapping_preview": Row(VIEWER, "post", ("provider",), {"preview_username": "ann"}),
    # sync
    "sync:job_list": Row(VIEWER),
    "sync:job_rows": Row(VIEWER),
    "sync:job_start": Row(OPERATOR, "post", data={"provider": "provider"}),
    "sync:job_detail": Row(VIEWER, args=("waiting",)),
    "sync:job_status": Row(VIEWER, args=("waiting",)),
    "sync:job_approve": Row(OPERATOR, "post", ("waiting",)),
    "sync:job_reject": Row(OPERATOR, "post", ("waiting",)),
    "sync:job_cancel": Row(OPERATOR, "post", ("queued",)),
    "sync:event_list": Row(VIEWER),
    "sync:object_timeline": Row(VIEWER, args=("user", "ann")),
    "sync:object_repush": Row(OPERATOR, "post", ("user", "ann"), {"provider": "provider"}),
    "sync:link_user": Row(ADMIN, "post", ("ann",), {"provider": "provider", "userid": "stranger"}),
    "sync:dingtalk_view": Row(VIEWER, args=("provider",)),
    # notifications
    "notifications:settings": Row(ADMIN, args=("provider",)),
    "notifications:recipient_search": Row(ADMIN, args=("provider",), query="q=ann"),
    "notifications:check_delivery": Row(ADMIN, "post", ("notification",)),
    "sync:pending_list": Row(VIEWER, args=("provider",)),
    # audit, users
    "audit:list": Row(VIEWER),
    "access:user_list": Row(ADMIN),
    "access:user_set_role": Row(ADMIN, "post", ("target",), {"role": "viewer"}),
    "access:user_set_active": Row(ADMIN, "post", ("target",), {"active": "0"}),
    # the API's pages (its operations are in API below)
    "api:schema": Row(VIEWER),
    "api:docs": Row(VIEWER),
    # operations: the health check answers everyone alike (503 here: no worker runs in this
    # world); the metrics need a token or an allowed address, or a console role
    "healthz": Row(ANONYMOUS, status=503),
    "metrics": Row(VIEWER),
    "favicon": Row(ANONYMOUS, status=302),
}

# Django's admin site is for superusers (staff) only; none of the roles is staff.
ADMIN_SITE = "admin"

# (method, path template) -> the lowest kind of user. Anonymous callers get 401.
API: dict[tuple[str, str], str] = {
    ("get", "/api/v1/organizations/"): VIEWER,
    ("post", "/api/v1/organizations/"): ADMIN,
    ("get", "/api/v1/organizations/{id}/"): VIEWER,
    ("put", "/api/v1/organizations/{id}/"): ADMIN,
    ("patch", "/api/v1/organizations/{id}/"): ADMIN,
    ("delete", "/api/v1/organizations/{id}/"): ADMIN,
    ("post", "/api/v1/organizations/{id}/move/"): ADMIN,
    ("post", "/api/v1/organizations/bulk_upsert/"): ADMIN,
    ("get", "/api/v1/accounts/"): VIEWER,
    ("post", "/api/v1/accounts/"): ADMIN,
    ("get", "/api/v1/accounts/{id}/"): VIEWER,
    ("put", "/api/v1/accounts/{id}/"): ADMIN,
    ("patch", "/api/v1/accounts/{id}/"): ADMIN,
    ("delete", "/api/v1/accounts/{id}/"): ADMIN,
    ("post", "/api/v1/accounts/{id}/disable/"): ADMIN,
    ("post", "/api/v1/accounts/{id}/enable/"): ADMIN,
    ("post", "/api/v1/accounts/bulk_upsert/"): ADMIN,
    ("get", "/api/v1/memberships/"): VIEWER,
    ("post", "/api/v1/memberships/"): ADMIN,
    ("get", "/api/v1/memberships/{id}/"): VIEWER,
    ("delete", "/api/v1/memberships/{id}/"): ADMIN,
    ("post", "/api/v1/memberships/{id}/make_primary/"): ADMIN,
    ("get", "/api/v1/providers/"): VIEWER,
    ("post", "/api/v1/providers/"): ADMIN,
    ("get", "/api/v1/providers/{id}/"): VIEWER,
    ("put", "/api/v1/providers/{id}/"): ADMIN,
    ("patch", "/api/v1/providers/{id}/"): ADMIN,
    ("get", "/api/v1/providers/{id}/scopes/"): VIEWER,
    ("put", "/api/v1/providers/{id}/scopes/"): ADMIN,
    ("post", "/api/v1/providers/{id}/verify/"): ADMIN,
    ("post", "/api/v1/providers/{id}/sync/"): OPERATOR,
    ("get", "/api/v1/providers/{provider_pk}/mappings/"): VIEWER,
    ("post", "/api/v1/providers/{provider_pk}/mappings/"): ADMIN,
    ("get", "/api/v1/providers/{provider_pk}/mappings/{target}/"): VIEWER,
    ("put", "/api/v1/providers/{provider_pk}/mappings/{target}/"): ADMIN,
    ("patch", "/api/v1/providers/{provider_pk}/mappings/{target}/"): ADMIN,
    ("delete", "/api/v1/providers/{provider_pk}/mappings/{target}/"): ADMIN,
    ("post", "/api/v1/providers/{provider_pk}/mappings/preview/"): VIEWER,
    ("get", "/api/v1/imports/"): VIEWER,
    ("post", "/api/v1/imports/"): ADMIN,
    ("get", "/api/v1/imports/{id}/"): VIEWER,
    ("get", "/api/v1/imports/{id}/rows/"): VIEWER,
    ("post", "/api/v1/imports/{id}/commit/"): ADMIN,
    ("get", "/api/v1/jobs/"): VIEWER,
    ("get", "/api/v1/jobs/{id}/"): VIEWER,
    ("post", "/api/v1/jobs/{id}/approve/"): OPERATOR,
    ("post", "/api/v1/jobs/{id}/reject/"): OPERATOR,
    ("post", "/api/v1/jobs/{id}/cancel/"): OPERATOR,
    ("get", "/api/v1/events/"): VIEWER,
    ("get", "/api/v1/events/{id}/"): VIEWER,
}


# --- enumerating what exists -----------------------------------------------------------------


def url_names(resolver: URLResolver | None = None, namespace: str = "") -> set[str]:
    """Every named URL pattern, as "namespace:name", walking included resolvers."""
    resolver = resolver or get_resolver()
    names: set[str] = set()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(filter(None, [namespace, entry.namespace or ""]))
            names |= url_names(entry, inner)
        elif isinstance(entry, URLPattern):
            if entry.name is None:
                names.add(f"{namespace}:<unnamed {entry.pattern}>")
            else:
                names.add(f"{namespace}:{entry.name}" if namespace else entry.name)
    return names


def api_operations() -> set[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {(method, path) for path, ops in schema["paths"].items() for method in ops}


def test_every_url_pattern_has_a_row_in_the_matrix():
    names = {n for n in url_names() if not n.startswith(f"{ADMIN_SITE}:")}
    api_routes = {n for n in names if n.startswith("api:") and n not in PAGES}
    missing = names - api_routes - set(PAGES)
    assert missing == set(), f"URL patterns without a row in PAGES: {sorted(missing)}"
    assert set(PAGES) - names == set(), "rows for URL patterns that no longer exist"


def test_every_api_operation_has_a_row_in_the_matrix():
    operations = api_operations()
    assert operations - set(API) == set(), "API operations without a row in API"
    assert set(API) - operations == set(), "rows for API operations that no longer exist"


# --- the world every request is made in ------------------------------------------------------


@pytest.fixture
def world(sandbox):
    company = make_org("Company", code="c1")
    team = make_org("Team", parent=company, code="t1")
    other = make_org("Other", parent=company, code="o1")
    ann = make_account("ann", orgs=[team, other])
    app = sandbox.app()
    provider = make_provider(sandbox, app, [(company, 1)], qr_logon_enabled=True)
    queued = SyncJob.objects.create(provider=provider, kind="full", trigger="manual")
    waiting = SyncJob.objects.create(
        provider=provider, kind="full", trigger="manual", status="awaiting_approval"
    )
    SyncEvent.objects.create(
        job=waiting,
        provider=provider,
        object_type="user",
        source_id=ann.pk,
        action="create",
        status="planned",
    )
    csv = b"code,name,parent_code,order\nnew1,New,c1,0\n"
    batch = imports.import_upload(SYSTEM, kind="organizations", filename="o.csv", data=csv)
    return {
        "company": company,
        "team": other,  # the organisation without members or children (delete works)
        "ann": ann,
        "secondary": ann.memberships.get(organization=other),
        "provider": provider,
        "queued": queued,
        "waiting": waiting,
        "batch": batch,
        "notification": Notification.objects.create(
            provider=provider, kind="job_failed", channel="dingtalk", outcome="sent", task_id=1
        ),
        "target": make_user("target", "viewer"),
        "kind": "organizations",
        "user": "user",
        "step": 1,
    }


def as_user(who: str):
    """(Django test client or None, DRF client or None) logged in as ``who``."""
    from django.test import Client

    if who == ANONYMOUS:
        return Client(), APIClient()
    role = {NO_ROLE: None, VIEWER: "viewer", OPERATOR: "operator", ADMIN: "administrator"}[who]
    user = make_user(f"as-{who.replace(' ', '-')}", role)
    client = Client()
    client.force_login(user)
    return client, token_client(user)


def value(world: dict, name: str) -> Any:
    item = world[name]
    return getattr(item, "pk", item)


def outcome(response, api: bool = False) -> str:
    assert response.status_code < 500, response.content[:500]
    location = response.get("Location", "")
    if response.status_code in (401,) or (
        response.status_code == 302 and location.startswith(reverse("login"))
    ):
        return LOGIN
    if response.status_code == 403:
        return REFUSED
    return ALLOWED


def expected(lowest: str, who: str) -> str:
    if RANK[who] >= RANK[lowest]:
        return ALLOWED
    return LOGIN if who == ANONYMOUS else REFUSED


def page_request(client, world: dict, name: str, row: Row):
    url = reverse(name, args=[value(world, a) for a in row.args])
    if row.query:
        url += "?" + row.query
    data = {k: value(world, v) if v in world else v for k, v in row.data.items()}
    return getattr(client, row.method)(url, data) if row.method == "post" else client.get(url)


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("name", sorted(PAGES))
def test_each_page_answers_each_kind_of_user_as_the_matrix_says(world, name, who):
    row = PAGES[name]
    client, _api = as_user(who)
    response = page_request(client, world, name, row)
    if row.status is not None:
        assert response.status_code == row.status
        return
    assert outcome(response) == expected(row.lowest, who), response.content[:300]
    if outcome(response) == REFUSED:
        text = response.content.decode()
        assert "no access to this console" in text or "role" in text


@pytest.mark.parametrize("who", WHO)
def test_the_admin_site_is_only_for_superusers(world, who):
    client, _api = as_user(who)
    response = client.get(reverse("admin:index"))
    if who == NO_ROLE:
        assert response.status_code == 403  # the no-access page, like every other page
    else:
        assert response.status_code == 302 and "/django-admin/login/" in response["Location"]


def api_path(world: dict, template: str) -> str:
    path = template.replace("{provider_pk}", str(world["provider"].pk))
    path = path.replace("{target}", "title")
    if "{id}" in path:
        resource = path.split("/")[3]
        ids = {
            "organizations": world["team"].pk,
            "accounts": world["ann"].pk,
            "memberships": world["secondary"].pk,
            "providers": world["provider"].pk,
            "jobs": (world["queued"] if path.endswith("cancel/") else world["waiting"]).pk,
            "events": SyncEvent.objects.first().pk,
            "imports": world["batch"].pk,
        }
        path = path.replace("{id}", str(ids[resource]))
    return path


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("operation", sorted(API), ids=lambda op: f"{op[0]} {op[1]}")
def test_each_api_operation_answers_each_kind_of_user_as_the_matrix_says(world, operation, who):
    method, template = operation
    _client, api = as_user(who)
    response = getattr(api, method)(api_path(world, template), {}, format="json")
    assert outcome(response, api=True) == expected(API[operation], who), response.content[:300]
    if outcome(response) == REFUSED:
        assert response.json()["required_role"]


def test_a_viewer_logging_in_with_a_password_reaches_the_console(client, world):
    make_user("vera", "viewer")
    response = client.post(reverse("login"), {"username": "vera", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("directory:org_tree")).status_code == 200
