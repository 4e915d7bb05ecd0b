"""Small helpers that build directory fixtures through the services (never raw ORM writes)."""

import itertools

from dtconsole.access.services import SYSTEM
from dtconsole.directory import services
from dtconsole.directory.models import Account, Organization

_seq = itertools.count(1)


def make_org(name: str | None = None, parent: Organization | None = None, **kw) -> Organization:
    return services.organization_create(
        SYSTEM, name=name or f"Org{next(_seq)}", parent=parent, **kw
    )


def make_account(username: str | None = None, orgs=(), **fields) -> Account:
    n = next(_seq)
    fields.setdefault("display_name", f"Person {n}")
    fields.setdefault("mobile", f"138{n:08d}")
    fields.setdefault("email", f"person{n}@example.com")
    return services.account_create(
        SYSTEM, username=username or f"user{n}", organizations=orgs, **fields
    )


def make_provider(sandbox, app: dict, scopes, **options):
    """A bound provider pointing at the sandbox app, with the default field mappings.

    ``scopes`` is a list of (organisation, target dept id) pairs; ``placement`` applies to
    all of them (MERGE unless told: the organisation stands for the target department).
    """
    from dtconsole.providers.models import IdentityProvider, NodeScope
    from dtconsole.providers.services import _create_default_mappings
    from mappings.defaults import DEFAULT_MATCH_KEYS

    provider = IdentityProvider(
        name="Sandbox",
        corp_id=app["corp_id"],
        app_key=app["app_key"],
        agent_id=app["agent_id"],
        oapi_base=sandbox.url,
        api_base=sandbox.url,
        login_base=sandbox.url,
        step=IdentityProvider.Step.DONE,
        match_keys=list(options.pop("match_keys", DEFAULT_MATCH_KEYS)),
        qps=options.pop("qps", 60),
    )
    placement = options.pop("placement", NodeScope.Placement.MERGE)
    for name, value in options.items():
        setattr(provider, name, value)
    provider.set_app_secret(app["app_secret"])
    provider.save()
    _create_default_mappings(provider)
    for org, dept_id in scopes:
        NodeScope.objects.create(
            provider=provider, organization=org, target_dept_id=dept_id, placement=placement
        )
    return provider


PASSWORD = "correct-horse-battery-staple"


def make_user(username: str, role: str | None = None, **fields):
    """A console user with ``role`` ("viewer", "operator", "administrator") or no role."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create_user(username=username, password=PASSWORD, **fields)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user
