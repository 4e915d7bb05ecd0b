"""Small helpers that build directory fixtures through the services (never raw ORM writes)."""

import itertools

from dtconsole.directory import services
from dtconsole.directory.models import Account, Organization

_seq = itertools.count(1)


def make_org(name: str | None = None, parent: Organization | None = None, **kw) -> Organization:
    return services.organization_create(name=name or f"Org{next(_seq)}", parent=parent, **kw)


def make_account(username: str | None = None, orgs=(), **fields) -> Account:
    n = next(_seq)
    fields.setdefault("display_name", f"Person {n}")
    fields.setdefault("mobile", f"138{n:08d}")
    fields.setdefault("email", f"person{n}@example.com")
    return services.account_create(username=username or f"user{n}", organizations=orgs, **fields)
