"""Adapters from directory models to the pure engine's plain source values."""

from dtconsole.directory.models import Account, Organization

from .engine import SourceAccount, SourceOrg


def source_orgs(orgs: list[Organization]) -> dict[int, SourceOrg]:
    """SourceOrg for each organisation, with its path of names (one query for all ancestors)."""
    ancestor_ids = {a for org in orgs for a in org.ancestor_ids()}
    names = dict(Organization.objects.filter(pk__in=ancestor_ids).values_list("pk", "name"))
    return {
        org.pk: SourceOrg(
            id=org.pk,
            name=org.name,
            code=org.code,
            path_names=tuple(names.get(a, "") for a in org.ancestor_ids()) + (org.name,),
        )
        for org in orgs
    }


def source_account(account: Account) -> SourceAccount:
    """The engine's view of one account and its organisations."""
    memberships = list(account.memberships.select_related("organization"))
    orgs = source_orgs([m.organization for m in memberships])
    primary = next((orgs[m.organization_id] for m in memberships if m.is_primary), None)
    return SourceAccount(
        id=account.pk,
        username=account.username,
        display_name=account.display_name,
        mobile=account.mobile,
        email=account.email,
        job_number=account.job_number,
        title=account.title,
        work_place=account.work_place,
        hired_date=account.hired_date,
        status=account.status,
        extra=account.extra or {},
        primary_org=primary,
        orgs=tuple(orgs[m.organization_id] for m in memberships),
    )
