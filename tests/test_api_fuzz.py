"""Fuzzing: schemathesis generates requests (valid and invalid) for every operation of the
OpenAPI schema and sends them through the WSGI app with a staff token; no answer may be a 5xx.

The budget is FUZZ_EXAMPLES examples per operation: small in ``make test``, larger in
``make fuzz``. Path ids are mostly pointed at real objects, so the happy paths run too.
"""

import copy
import os
import zlib

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from dtconsole.sync.models import SyncEvent, SyncJob
from dtconsole.wsgi import application
from tests.api_helpers import token_client
from tests.factories import make_account, make_org, make_provider

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
# `make test` replays the same examples every run; a budget set by hand (`make fuzz`) explores.
DERANDOMIZE = "FUZZ_EXAMPLES" not in os.environ

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(admin_user, sandbox) -> dict:
    """Objects for the generated requests to hit, and the staff token that sends them."""
    company = make_org("Company", code="co")
    team = make_org("Team", parent=company, code="team")
    ann = make_account("ann", orgs=[company, team])
    provider = make_provider(sandbox, sandbox.app(), [(company, 1)])
    jobs = [
        SyncJob.objects.create(provider=provider, kind="full", trigger="manual", status=status)
        for status in ("queued", "awaiting_approval", "succeeded")
    ]
    event = SyncEvent.objects.create(
        job=jobs[0], provider=provider, object_type="user", action="create", status="success"
    )
    key = token_client(admin_user)._credentials["HTTP_AUTHORIZATION"]
    return {
        "headers": {"Authorization": key},
        "ids": {
            "organizations": [company.pk, team.pk],
            "accounts": [ann.pk],
            "memberships": list(ann.memberships.values_list("pk", flat=True)),
            "providers": [provider.pk],
            "jobs": [job.pk for job in jobs],
            "events": [event.pk],
        },
        "provider": provider.pk,
        "targets": ["name", "title", "userid"],
    }


def _schema() -> dict:
    """The OpenAPI document /api/schema/ serves (drf-spectacular's generator, no request)."""
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


SCHEMA = _schema()
OPERATIONS = [
    (method.upper(), path)
    for path, item in SCHEMA["paths"].items()
    for method in item
    if method in ("get", "post", "put", "patch", "delete")
]


@pytest.fixture
def wsgi_requests():
    """Django's test client keeps the test's transaction open across requests by not closing
    connections when a request starts or ends; calling the WSGI app directly needs the same."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def _pick(generated: object, candidates: list) -> object:
    """A real object's key most of the time, the generated value sometimes (stable per value)."""
    options = [*candidates, *candidates, generated]
    return options[zlib.crc32(str(generated).encode()) % len(options)]


def aim_at_real_objects(case, world: dict) -> None:
    """Point the case's path parameters at the objects of ``world``."""
    params = case.path_parameters or {}
    resource = case.operation.path.split("/")[3]
    if "provider_pk" in params:
        params["provider_pk"] = _pick(params["provider_pk"], [world["provider"]])
    if "target" in params:
        params["target"] = _pick(params["target"], world["targets"])
    if "id" in params:
        params["id"] = _pick(params["id"], world["ids"].get(resource, []))


def cases(method: str, path: str) -> st.SearchStrategy:
    """Valid and invalid requests for one operation."""
    operation = schemathesis.openapi.from_dict(copy.deepcopy(SCHEMA))[path][method]
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    return st.one_of(*(operation.as_strategy(generation_mode=mode) for mode in modes))


@pytest.mark.parametrize("method, path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_generated_request_gets_a_server_error(method, path, world, wsgi_requests):
    @given(case=cases(method, path))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=DERANDOMIZE,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case) -> None:
        aim_at_real_objects(case, world)
        response = case.call(headers=world["headers"], app=application)
        case.validate_response(response, checks=[not_a_server_error], headers=world["headers"])

    fuzz()
