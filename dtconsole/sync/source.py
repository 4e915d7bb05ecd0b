"""Read the directory side of a sync: the provider's scopes, their organisations and members.

A handful of bulk queries whatever the size (no query per object), producing plain values for
the planner and the pure mapping engine.
"""

from dataclasses import dataclass, field

from django.db.models import Q

from dtconsole.directory.models import Account, Membership, Organization
from dtconsole.directory.services import ACCOUNT_FIELDS
from dtconsole.providers.models import IdentityProvider
from mappings.engine import SourceAccount, SourceOrg


@dataclass(frozen=True)
class OrgNode:
    id: int
    parent_id: int | None
    name: str
    code: str | None
    order: int
    path: str
    depth: int


@dataclass
class SourceDirectory:
    """What the directory says DingTalk should hold for one provider.

    A MERGE scope's organisation stands for its target department (``targets``); an UNDER
    scope's organisation becomes a department under its target (``under``).
    """

    targets: dict[int, int]  # MERGE scope root org id -> the target DingTalk dept id it is
    orgs: dict[int, OrgNode]  # every organisation in a scope subtree
    accounts: dict[int, SourceAccount] = field(
        default_factory=dict
    )  # accounts in scope (see read_directory)
    memberships: dict[int, list[int]] = field(
        default_factory=dict
    )  # account id -> the in-scope org ids it goes to, primary first
    under: dict[int, int] = field(default_factory=dict)  # UNDER root org id -> parent dept id

    def is_scope_root(self, org_id: int) -> bool:
        """Whether the organisation stands for a target department (it is not created)."""
        return org_id in self.targets

    @property
    def target_depts(self) -> list[int]:
        """Every DingTalk department a scope targets, each once."""
        return sorted(set(self.targets.values()) | set(self.under.values()))


ACCOUNT_VALUES = ("id", *ACCOUNT_FIELDS)


def read_directory(provider: IdentityProvider, *, account_ids=None) -> SourceDirectory:
    """The provider's scope, narrowed to some accounts (incremental) by ``account_ids``.

    An account is in scope when one of its memberships is. With "one person in multiple
    organisations" off, only its primary membership counts: it goes to its primary
    organisation's department, and an account whose primary organisation lies outside every
    scope is not in scope at all (it is never put into a secondary organisation instead).
    """
    scopes = list(provider.scopes.select_related("organization"))
    merge = [s for s in scopes if s.placement == s.Placement.MERGE]
    under = [s for s in scopes if s.placement != s.Placement.MERGE]
    prefix = Q()
    for s in scopes:
        prefix |= Q(path__startswith=s.organization.path)
    orgs = _org_nodes(Organization.objects.filter(prefix)) if scopes else {}
    source = SourceDirectory(
        targets={s.organization_id: s.target_dept_id for s in merge},
        orgs=orgs,
        under={s.organization_id: s.target_dept_id for s in under},
    )
    _read_accounts(source, account_ids, multi_org=provider.multi_org_enabled)
    return source


def _read_accounts(source: SourceDirectory, account_ids, *, multi_org: bool) -> None:
    in_scope = Membership.objects.filter(organization_id__in=source.orgs.keys())
    if account_ids is not None:
        in_scope = in_scope.filter(account_id__in=account_ids)
    ids = set(in_scope.values_list("account_id", flat=True))
    all_memberships: dict[int, list[tuple[int, bool]]] = {}
    rows = Membership.objects.filter(account_id__in=ids).order_by("-is_primary", "order", "id")
    for account_id, org_id, primary in rows.values_list(
        "account_id", "organization_id", "is_primary"
    ):
        all_memberships.setdefault(account_id, []).append((org_id, primary))
    source_orgs = _source_orgs(source, {o for ms in all_memberships.values() for o, _ in ms})
    for values in Account.objects.filter(id__in=ids).values_list(*ACCOUNT_VALUES):
        data = dict(zip(ACCOUNT_VALUES, values, strict=True))
        ms = all_memberships.get(data["id"], [])
        in_scope = [o for o, _ in ms if o in source.orgs]
        if not multi_org:
            primary_id = next((o for o, p in ms if p), None)
            if primary_id not in source.orgs:
                continue  # its primary organisation is outside every scope
            in_scope = [primary_id]
        source.memberships[data["id"]] = in_scope
        primary = next((source_orgs[o] for o, p in ms if p), None)
        source.accounts[data["id"]] = SourceAccount(
            **data, primary_org=primary, orgs=tuple(source_orgs[o] for o, _ in ms)
        )


def _org_nodes(organizations) -> dict[int, OrgNode]:
    """OrgNode by id for a queryset of organisations (one query, plain values)."""
    columns = ("id", "parent_id", "name", "code", "order", "path", "depth")
    return {row[0]: OrgNode(*row) for row in organizations.values_list(*columns)}


def _path_ids(node: OrgNode) -> list[int]:
    return [int(part) for part in node.path.strip("/").split("/")]


def _source_orgs(source: SourceDirectory, org_ids: set[int]) -> dict[int, SourceOrg]:
    """SourceOrg (with the path of names) for the given organisations, in-scope or not.

    Two rounds at most: the organisations not already read, then the ancestors their paths
    name (an out-of-scope organisation's ancestors are only known once it is read).
    """
    nodes = dict(source.orgs)
    wanted = set(org_ids)
    for _round in range(2):
        wanted |= {a for o in wanted if o in nodes for a in _path_ids(nodes[o])}
        if not wanted - nodes.keys():
            break
        nodes.update(_org_nodes(Organization.objects.filter(id__in=wanted - nodes.keys())))

    def names(node: OrgNode) -> tuple[str, ...]:
        return tuple(nodes[a].name for a in _path_ids(node) if a in nodes)

    return {
        o: SourceOrg(id=o, name=nodes[o].name, code=nodes[o].code, path_names=names(nodes[o]))
        for o in org_ids
        if o in nodes
    }
